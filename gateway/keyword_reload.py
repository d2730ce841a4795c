"""The keyword table a running gateway reads, kept up to date without a restart.

`LiveKeywords.current` is what the Processor calls for every message: a plain attribute read of an
immutable table. Every `interval` seconds on the reactor clock, `refresh` asks the database thread
for the changes' version (one row) and the keywords file's modification time; only when either
moved does the same thread read the file and the overrides and build the new table, which the
reactor thread then swaps in whole. So a poll costs one indexed read, nothing blocks the reactor,
and a message is always read by one table, old or new, never half of each.

A table that cannot be built (a file edited into a conflict) is logged once and the previous table
kept: a running gateway never falls back to answering nothing.
"""

from __future__ import annotations

import os

import structlog
from twisted.internet import defer, task

from gateway.commands.table import KeywordTable
from gateway.store import keywords

log = structlog.get_logger(__name__)


class LiveKeywords:
    def __init__(self, db, clock, path: str, interval: float):
        self._db = db
        self._path = path
        self._interval = interval
        self._file = KeywordTable.load(path)  # at construction: a broken file stops start-up
        self._file_mtime = _mtime(path)
        self.table = self._file
        self.version: tuple[int, int] | None = None  # (changes' version, file mtime) loaded
        self._loop = task.LoopingCall(self.refresh)
        self._loop.clock = clock

    def current(self) -> KeywordTable:
        return self.table

    def start(self) -> None:
        if not self._loop.running:
            self._loop.start(self._interval, now=False)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def refresh(self) -> defer.Deferred:
        """Reload if anything changed; never fails (the LoopingCall would stop if it did)."""
        loading = self._db.run(self._load_if_changed, self.version)
        loading.addCallbacks(self._loaded, self._failed)
        return loading

    def _load_if_changed(self, conn, seen):
        """On the database thread: (version, file table, table or error), or None if unchanged."""
        mtime = _mtime(self._path)
        version = (keywords.current_version(conn), mtime)
        if version == seen:
            return None
        try:
            base = self._file if mtime == self._file_mtime else KeywordTable.load(self._path)
            return version, base, keywords.effective_table(conn, base)
        except (OSError, ValueError) as error:
            return version, None, str(error).splitlines()[0]

    def _loaded(self, result) -> None:
        if result is None:
            return
        version, base, table = result
        self.version = version
        if isinstance(table, str):
            log.error("keywords.reload_refused", version=version[0], reason=table)
            return
        if base is not self._file:
            self._file, self._file_mtime = base, version[1]
        self.table = table
        log.info("keywords.reloaded", version=version[0], commands=len(table.commands))

    def _failed(self, failure) -> None:
        log.warning("keywords.reload_failed", error=failure.getErrorMessage())


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
