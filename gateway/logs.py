"""structlog set up once, by the composition root: one event per line.

Every event carries the ids it is about (message_id, outbox_id, bind), never
message text, PINs or confirmation codes.

Loggers are cached on first use: a module's ``log`` then goes straight to its
bound logger instead of building one for every event (a few microseconds each,
several events per MO).  The price is that `configure` is for once per process,
before anything logs, as the composition root does: a logger already used keeps
the level and stream it had.  ``structlog.testing.capture_logs`` still works,
as it changes the processors list in place, which cached loggers share.
"""

from __future__ import annotations

import logging
import sys

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def configure(fmt: str = "console", level: str = "info", stream=None) -> None:
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
