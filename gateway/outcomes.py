"""What became of each MT, written to the outbox in batches.

The sender learns outcomes one segment answer at a time, hundreds a second
at load; one transaction each would make the database the bottleneck.  So
`OutcomeRecorder` gathers what settles within a few milliseconds into one
transaction (gateway/store/outbox.py `record`), one batch at a time.

A batch that fails is kept, and its rows stay claimed meanwhile, so nobody
sends them again.  It is then written one outcome per transaction, so that
one outcome the database can never take (its row deleted under us, say) is
dropped with an error line instead of holding up every later one; a
database that is down is simply tried again every `RETRY_AFTER` seconds.
"""

from __future__ import annotations

from typing import Callable

import structlog
from sqlalchemy.exc import DataError, IntegrityError
from twisted.internet import defer

from gateway.store import outbox as outbox_store

__all__ = ["OutcomeRecorder"]

log = structlog.get_logger(__name__)

RETRY_AFTER = 1.0


class OutcomeRecorder:
    """Writes outcome dicts (see `outbox.record`) in batches, in the order given."""

    def __init__(self, db, clock, window: float, recorded: Callable[[list], None]):
        self._db = db
        self._clock = clock
        self._window = window
        self._recorded = recorded           # called with each batch once committed
        self._pending: list[dict] = []
        self._suspects = 0                  # head of _pending from a failed batch: one by one
        self._call = None
        self._writing = False
        self._drained: list[defer.Deferred] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, outcome: dict) -> None:
        self._pending.append(outcome)
        self._schedule(self._window)

    def drain(self) -> defer.Deferred:
        """Fires once everything added so far is committed (or dropped)."""
        if not self._pending and not self._writing:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._drained.append(waiter)
        return waiter

    def close(self) -> None:
        """Give up on what is pending (shutdown with the database gone)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call, self._pending, self._suspects = None, [], 0

    def _schedule(self, delay: float) -> None:
        if self._call is None and not self._writing:
            self._call = self._clock.callLater(delay, self._write)

    def _write(self) -> None:
        self._call, self._writing = None, True
        size = 1 if self._suspects else len(self._pending)
        batch, self._pending = self._pending[:size], self._pending[size:]
        written = self._db.run(outbox_store.record, batch)
        written.addCallbacks(self._committed, self._failed, callbackArgs=(batch,),
                             errbackArgs=(batch,))
        written.addCallback(self._next_batch)

    def _committed(self, _, batch) -> float:
        self._suspects = max(0, self._suspects - len(batch))
        self._recorded(batch)
        return 0.0

    def _failed(self, failure, batch) -> float:
        error = failure.getErrorMessage().splitlines()[0]
        if len(batch) > 1:
            log.warning("mt.record_batch_failed", count=len(batch), error=error)
            self._pending[:0] = batch
            self._suspects = len(batch)
            return 0.0
        if failure.check(IntegrityError, DataError):
            log.error("mt.outcome_dropped", outbox_id=batch[0]["row_id"], error=error)
            self._suspects = max(0, self._suspects - 1)
            return 0.0
        log.error("mt.record_failed", outbox_id=batch[0]["row_id"], error=error)
        self._pending[:0] = batch
        return RETRY_AFTER

    def _next_batch(self, delay: float) -> None:
        self._writing = False
        if self._pending:
            self._schedule(delay)
        else:
            drained, self._drained = self._drained, []
            for waiter in drained:
                waiter.callback(None)
