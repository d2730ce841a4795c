"""The aggregator's USSD callback as a twisted.web resource: checks at the door, then `handle`.

Start at `UssdCallbackResource`. It owns what HTTP adds to http.py's form rules: only POST; the
caller must present the shared secret (header ``X-Jifen-Secret``, or ``?secret=`` for aggregators
that only let you configure a URL) or come from an allowed address; the body is refused with 413
from its Content-Length before it is read, and never read past the limit. Then the form is parsed
and `handle(callback)` answers with (text, end), possibly later (a Deferred), which becomes the
"CON ..." / "END ..." body.

The dialogue itself (sessions, menus, the reply budget) is the caller's `handle`; this class knows
nothing of it, so it is tested with a stub through treq's StubTreq. What it logs is the status and
the session id, never the form's text, which holds the caller's answers and may hold a PIN.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection
from typing import Any

import structlog
from twisted.internet import defer
from twisted.web import resource, server

from gateway.ussd.http import (ANSWER_CONTENT_TYPE, MAX_BODY, Callback, CallbackError, parse_form,
                               render_answer)

__all__ = ["SECRET_HEADER", "UssdCallbackResource"]

log = structlog.get_logger(__name__)

SECRET_HEADER = b"x-jifen-secret"
Handle = Callable[[Callback], "defer.Deferred[tuple[str, bool]] | tuple[str, bool]"]


class UssdCallbackResource(resource.Resource):
    isLeaf = True

    def __init__(self, handle: Handle, *, secret: str | None = None, allow: Collection[str] = (),
                 max_body: int = MAX_BODY):
        """`secret` and/or `allow` (peer IP addresses); with neither, anyone could post answers."""
        super().__init__()
        if not secret and not allow:
            raise ValueError("the USSD callback needs a shared secret or an allow-list of addresses")
        self._handle = handle
        self._secret = secret.encode() if secret else None
        self._allow = frozenset(allow)
        self._max_body = max_body

    def render(self, request: server.Request) -> bytes | int:
        if request.method != b"POST":
            request.setHeader(b"allow", b"POST")
            return _refuse(request, 405, "only POST")
        return self.render_POST(request)

    def render_POST(self, request: server.Request) -> bytes | int:
        refusal = self._door(request)
        if refusal is not None:
            return _refuse(request, *refusal)
        body = request.content.read(self._max_body + 1) if request.content is not None else b""
        content_type = request.getHeader(b"content-type")
        try:
            callback = parse_form(body, content_type.decode("latin-1") if content_type else None,
                                  self._max_body)
        except CallbackError as error:
            return _refuse(request, error.status, error.reason)
        gone: list[bool] = []  # the aggregator hung up before the answer was ready
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        answered = defer.maybeDeferred(self._handle, callback)
        answered.addCallbacks(lambda result: gone or _answer(request, *result),
                              lambda failure: gone or _failed(request, callback, failure))
        return server.NOT_DONE_YET

    def _door(self, request: server.Request) -> tuple[int, str] | None:
        """(status, reason) to refuse the request before reading it, or None to let it in."""
        length = request.getHeader(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return 413, f"body over the limit of {self._max_body} bytes"
        if self._allow and _peer(request) in self._allow:
            return None
        if self._secret is not None and hmac.compare_digest(_presented(request), self._secret):
            return None
        return 403, "not allowed"


def _presented(request: server.Request) -> bytes:
    header = request.getHeader(SECRET_HEADER)
    if header is not None:
        return header
    values = (request.args or {}).get(b"secret") or [b""]
    return values[0] if len(values) == 1 else b""


def _peer(request: server.Request) -> str | None:
    return getattr(request.getClientAddress(), "host", None)


def _refuse(request: server.Request, status: int, reason: str) -> bytes:
    log.info("ussd.http_refused", status=status, reason=reason, peer=_peer(request))
    request.setResponseCode(status)
    request.setHeader(b"content-type", ANSWER_CONTENT_TYPE)
    return reason.encode() + b"\n"


def _answer(request: server.Request, text: str, end: bool) -> None:
    request.setHeader(b"content-type", ANSWER_CONTENT_TYPE)
    request.write(render_answer(text, end))
    request.finish()


def _failed(request: server.Request, callback: Callback, failure: Any) -> None:
    log.error("ussd.http_handler_failed", session=callback.session_id,
              error=failure.getErrorMessage(), kind=failure.type.__name__)
    request.setResponseCode(500)
    request.setHeader(b"content-type", ANSWER_CONTENT_TYPE)
    request.write(b"temporary failure\n")
    request.finish()
