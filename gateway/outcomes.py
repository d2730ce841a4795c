"""What became of each MT: a `Job` per claimed row, its `Verdict`, the outbox values
that makes (`outcome`), written in batches (`OutcomeRecorder`).

A verdict is the sender's judgement of a try: fail for good (a permanent
SMSC status, text that cannot be encoded), try again with backoff (counted
against `RETRY_LIMIT`), or again at once (not the message's fault: a lost
link, a shutdown).  Whatever the verdict, a row whose every segment has an
SMSC message id is ``submitted``.

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

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import structlog
from sqlalchemy.exc import DataError, IntegrityError
from twisted.internet import defer

from gateway.smpp import text as sms_text
from gateway.store import outbox as outbox_store

__all__ = ["Job", "Verdict", "new_job", "outcome", "OutcomeRecorder", "RETRY_LIMIT",
           "UNKNOWN_ID"]

log = structlog.get_logger(__name__)

#: Tries (submits that got a temporary error or no answer) before a row fails.
RETRY_LIMIT = 8
#: The message id kept for a segment the SMSC took without saying its id.
UNKNOWN_ID = "?"
#: Seconds between tries to write a batch while the database is down.
RETRY_AFTER = 1.0


@dataclass(frozen=True)
class Verdict:
    reason: str
    retry: bool                 # False: fail for good
    counted: bool = True        # a try against RETRY_LIMIT, with backoff; else again at once


@dataclass(eq=False)
class Job:
    """One claimed outbox row on its way out: its segments and what became of each."""

    row: Any
    token: str                                      # the claim it is held by
    lease_end: datetime
    data_coding: int = 0
    parts: list = field(default_factory=list)
    in_payload: bool = False                        # one part in message_payload, not short_message
    ids: list = field(default_factory=list)         # SMSC message id per segment, or None
    unsent: deque = field(default_factory=deque)    # segment indexes still to submit
    in_flight: int = 0
    queued: bool = False
    verdict: Verdict | None = None
    done: bool = False                              # its outcome is handed to the recorder

    def judge(self, verdict: Verdict) -> None:
        """Failing for good outweighs trying again; the first reason of a kind is kept."""
        if self.verdict is None or (self.verdict.retry and not verdict.retry):
            self.verdict = verdict


def new_job(row, token: str, lease_end: datetime, *, payload: bool = False) -> Job:
    """A job for a claimed row: its segments, less those an earlier try got taken.

    With ``payload`` (a bind whose `long_messages` is "message_payload") a text longer than one
    SMS is one part carried whole in message_payload; the length limit is the same either way,
    so a bind's setting never decides whether a reply can be sent at all.
    """
    job = Job(row, token, lease_end)
    try:
        job.data_coding, job.parts = sms_text.split(row.text, reference=row.id & 0xFF)
    except sms_text.TextError as error:
        job.verdict = Verdict(f"cannot encode: {error}", retry=False)
        return job
    if payload and len(job.parts) > 1:
        job.parts, job.in_payload = [sms_text.encode(row.text).payload], True
    job.ids = _taken_ids(row.smsc_message_ids, len(job.parts))
    job.unsent = deque(i for i, taken in enumerate(job.ids) if taken is None)
    return job


def _taken_ids(recorded: str | None, count: int) -> list:
    """The ids of segments an earlier try got taken, from "12 - 14"; None for the rest."""
    ids = (recorded or "").split()
    if len(ids) != count:
        return [None] * count
    return [None if i == outbox_store.NOT_TAKEN else i for i in ids]


def outcome(job: Job, now: datetime, retry_delay: float) -> dict:
    """The outbox values a finished job leaves (`outbox.record`'s dict), logged by ids."""
    row, verdict = job.row, job.verdict
    ids = " ".join(i or outbox_store.NOT_TAKEN for i in job.ids)[:255] or None
    values = dict(row_id=row.id, token=job.token, state="queued", attempts=row.attempts,
                  next_attempt_at=now, error=row.error, smsc_message_ids=ids,
                  submitted_at=None)
    if job.ids and None not in job.ids:         # every segment taken, whatever else happened
        log.info("mt.submitted", outbox_id=row.id, smsc_message_ids=ids)
        return dict(values, state="submitted", attempts=row.attempts + 1,
                    submitted_at=now, error=None)
    if not verdict.retry:
        log.warning("mt.failed", outbox_id=row.id, reason=verdict.reason)
        return dict(values, state="failed", error=verdict.reason[:255])
    if not verdict.counted:
        log.info("mt.requeued", outbox_id=row.id, reason=verdict.reason)
        return dict(values, error=verdict.reason[:255])
    attempts = row.attempts + 1
    if attempts >= RETRY_LIMIT:
        log.warning("mt.gave_up", outbox_id=row.id, reason=verdict.reason, attempts=attempts)
        return dict(values, state="failed", attempts=attempts,
                    error=f"gave up after {attempts} tries: {verdict.reason}"[:255])
    delay = retry_delay * 2 ** (attempts - 1)
    log.info("mt.retry", outbox_id=row.id, reason=verdict.reason, attempts=attempts, delay=delay)
    return dict(values, attempts=attempts, next_attempt_at=now + timedelta(seconds=delay),
                error=verdict.reason[:255])


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
        self._open = True
        self._drained: list[defer.Deferred] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, outcome: dict) -> None:
        if not self._open:
            log.warning("mt.outcome_after_close", outbox_id=outcome["row_id"])
            return
        self._pending.append(outcome)
        self._schedule(self._window)

    def drain(self) -> defer.Deferred:
        """Fires once everything added so far is committed (or dropped)."""
        if not self._pending and not self._writing:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._drained.append(waiter)
        return waiter

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        """Take nothing more and give up on what is pending: the database is stopping.
        The rows concerned stay claimed until their leases run out, then go again."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call, self._pending, self._suspects, self._open = None, [], 0, False

    def _schedule(self, delay: float) -> None:
        if self._call is None and not self._writing:
            self._call = self._clock.callLater(delay, self._write)

    def _write(self) -> None:
        self._call, self._writing = None, True
        size = 1 if self._suspects else len(self._pending)
        batch, self._pending = self._pending[:size], self._pending[size:]
        written = defer.maybeDeferred(self._db.run, outbox_store.record, batch)
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
