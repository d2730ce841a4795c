"""The outbox, drained into submit_sm through the binds.

An MT exists as a committed outbox row before any byte of it is sent.  The
sender claims due rows for each bound bind, up to that bind's free window,
submits them, and records the SMSC's answer: its message ids on success; a
later retry, with backoff, on a temporary error or no answer; the reason on a
permanent error.

A row whose submit_sm_resp was lost to a crash is sent again after restart:
SMPP has no idempotent submit, so at-least-once is the best the wire allows.
The rows an instance has in flight are remembered so it never sends one
twice while it waits for the answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import structlog
from sqlalchemy import and_, select, update
from twisted.internet import defer

from gateway.smpp import text as sms_text
from gateway.smpp.codec import Status
from gateway.smpp.protocol import ConnectionGone, SubmitTimeout
from gateway.store.models import outbox

log = structlog.get_logger(__name__)

_UDHI = 0x40
_RETRY_LIMIT = 8
#: SMSC answers that mean "not now" rather than "never" (0x45: submit_sm failed).
TEMPORARY = frozenset({Status.QUEUE_FULL, Status.THROTTLED, Status.SYSTEM_ERROR,
                       Status.TEMPORARY_APP_ERROR, 0x45})


class Sender:
    def __init__(self, db, binds, clock, now: Callable[[], datetime], *,
                 poll_interval: float = 1.0, retry_delay: float = 2.0):
        self._db = db
        self._binds = binds
        self._clock = clock
        self._now = now
        self._poll_interval = poll_interval
        self._retry_delay = retry_delay
        self._in_flight: set[int] = set()
        self._pumping = False
        self._again = False
        self._poll = None
        self._running = False

    def start(self):
        self._running = True
        self._poll_soon(0)

    def stop(self):
        self._running = False
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        self._poll = None

    def wake(self, *_):
        """New rows or a freshly bound bind: look at the outbox now."""
        if self._pumping:
            self._again = True
        else:
            self._poll_soon(0)

    def _poll_soon(self, delay):
        if not self._running:
            return
        if self._poll is not None and self._poll.active():
            if self._poll.getTime() <= self._clock.seconds() + delay:
                return
            self._poll.cancel()
        self._poll = self._clock.callLater(delay, self._pump)

    @defer.inlineCallbacks
    def _pump(self):
        self._poll, self._pumping, self._again = None, True, False
        try:
            for bind in self._binds:
                protocol = bind.protocol
                if protocol is None or not protocol.can_submit:
                    continue
                free = protocol.session.window - protocol.session.in_flight
                rows = yield self._db.run(_due, sorted(bind.short_codes), self._now(),
                                          sorted(self._in_flight), free)
                for row in rows:
                    self._in_flight.add(row.id)
                    self._send(protocol, row)
        except Exception:
            log.exception("mt.pump_failed")
        finally:
            self._pumping = False
        self._poll_soon(0 if self._again else self._poll_interval)

    def _send(self, protocol, row):
        try:
            data_coding, parts = sms_text.split(row.text, reference=row.id & 0xFF)
        except sms_text.TextError as error:
            return self._finish(row, self._db.run(_fail, row.id, str(error)))
        # TON/NPI 0 for our short code lets the SMSC apply its own rule;
        # members' numbers are international E.164 digits.
        answers = [protocol.submit(dict(
            source_addr_ton=0, source_addr_npi=0,
            source_addr=row.source_addr, dest_addr_ton=1, dest_addr_npi=1,
            destination_addr=row.destination_addr,
            esm_class=_UDHI if len(parts) > 1 else 0, data_coding=data_coding,
            short_message=part)) for part in parts if protocol.can_submit]
        if len(answers) < len(parts):
            return self._finish(row, self._retry(row, "window closed mid-message"))
        gathered = defer.gatherResults(answers, consumeErrors=True)
        gathered.addCallbacks(lambda results: self._answered(row, results),
                              lambda failure: self._unanswered(row, failure))
        self._finish(row, gathered)

    def _answered(self, row, results):
        failed = [r for r in results if r.status != Status.OK]
        if not failed:
            ids = " ".join(r.message_id or "" for r in results)
            log.info("mt.submitted", outbox_id=row.id, smsc_message_ids=ids)
            return self._db.run(_submitted, row.id, ids, self._now())
        status = failed[0].status
        if status in TEMPORARY:
            return self._retry(row, f"SMSC status 0x{status:02x}")
        log.warning("mt.failed", outbox_id=row.id, status=status)
        return self._db.run(_fail, row.id, f"SMSC status 0x{status:02x}")

    def _unanswered(self, row, failure):
        error = failure.value
        if isinstance(error, defer.FirstError):
            error = error.subFailure.value
        if not isinstance(error, (SubmitTimeout, ConnectionGone)):
            log.error("mt.send_crashed", outbox_id=row.id, error=repr(error))
        return self._retry(row, type(error).__name__)

    def _retry(self, row, reason):
        attempts = row.attempts + 1
        if attempts >= _RETRY_LIMIT:
            log.warning("mt.gave_up", outbox_id=row.id, reason=reason, attempts=attempts)
            return self._db.run(_fail, row.id, f"gave up after {attempts} tries: {reason}")
        delay = self._retry_delay * 2 ** (attempts - 1)
        log.info("mt.retry", outbox_id=row.id, reason=reason, attempts=attempts, delay=delay)
        return self._db.run(_reschedule, row.id, attempts,
                            self._now() + timedelta(seconds=delay), reason)

    def _finish(self, row, deferred):
        def release(result):
            self._in_flight.discard(row.id)
            self.wake()
        deferred.addErrback(lambda f: log.error("mt.record_failed", outbox_id=row.id,
                                                 error=f.getErrorMessage()))
        deferred.addBoth(release)


def _due(conn, short_codes, now, in_flight, limit):
    query = select(outbox).where(and_(
        outbox.c.state == "queued", outbox.c.next_attempt_at <= now,
        outbox.c.source_addr.in_(short_codes)))
    if in_flight:
        query = query.where(outbox.c.id.not_in(in_flight))
    return list(conn.execute(query.order_by(outbox.c.id).limit(limit)))


def _submitted(conn, outbox_id, message_ids, now):
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
        state="submitted", smsc_message_ids=message_ids[:255], submitted_at=now,
        attempts=outbox.c.attempts + 1, error=None))


def _reschedule(conn, outbox_id, attempts, when, reason):
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
        attempts=attempts, next_attempt_at=when, error=reason[:255]))


def _fail(conn, outbox_id, reason):
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
        state="failed", error=reason[:255]))
