"""The outbox, drained into submit_sm through the binds.

An MT exists as a committed outbox row before any byte of it is sent.  Each
transmitting bind has a *lane*: a short queue of rows this process has
claimed (outbox.py: a lease in the row itself, so processes sharing a
database never hold one row at once).  The lane submits the segments of its
rows as fast as the bind's session allows (window, TPS, throttling pauses)
and the outcome of every row is written in small batches.

What becomes of a segment's answer:

* ok: its SMSC message id is kept; when every segment has one, the row is
  ``submitted``.  Ids are kept per segment ("-" for one not yet taken), so a
  retry sends only the segments the SMSC has not taken;
* ESME_RTHROTTLED / ESME_RMSGQFUL: the session pauses the bind and the
  segment goes back to the head of the lane, not counted as a try;
* another temporary status, or no answer even within the late-answer grace:
  the row goes back to the outbox with exponential backoff, at most
  `outcomes.RETRY_LIMIT` tries, then ``failed``;
* a permanent status: ``failed``, with the status name and number;
* the connection lost: back to the outbox at once, not counted as a try; it
  leaves on the next bind that serves its short code.

Exactly once is what the wire allows, and SMPP has no idempotent submit.  A
segment is sent again only when its answer never came: not within the
response timeout nor the grace after it (session.py), or because the
connection or the process died first.  An SMSC that took the segment and
lost or never sent its answer thus gets it twice.  That window is the
residual at-least-once of every SMPP client; everything answered is
recorded and never sent again.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Callable

import structlog
from twisted.internet import defer, task

from gateway.outcomes import UNKNOWN_ID, Job, OutcomeRecorder, Verdict, new_job, outcome
from gateway.smpp.codec import PDUError, Status
from gateway.smpp.protocol import ConnectionGone, SubmitTimeout
from gateway.smpp.session import LATE_ANSWER_GRACE, SessionError
from gateway.smpp.statuses import PAUSING, TEMPORARY, describe
from gateway.store import outbox as outbox_store
from ledger_client import as_utc

log = structlog.get_logger(__name__)

_UDHI = 0x40
#: A retry wake-up comes this much after the row is due, so the claim finds it due.
_RETRY_SLACK = 0.05
#: The soonest a paused or rate-capped lane looks again.
_MIN_RESUME = 0.001
#: The shortest lease on a claimed row; a dead process's rows wait this long.
LEASE_MIN = 60.0
#: How long shutdown waits for the record of what was sent.
RECORD_DRAIN = 5.0


class _Lane:
    """One transmitting bind and the rows claimed for it."""

    def __init__(self, bind):
        self.bind = bind
        self.short_codes = sorted(bind.short_codes)
        window, timeout = bind.config.window, bind.config.response_timeout
        self.capacity = max(2 * window, 16)
        self.low_water = max(window, 8)
        self.lease = timedelta(seconds=max(LEASE_MIN, 6 * timeout))
        # A segment may wait this long for its answer: never start one on a shorter lease.
        self.margin = timedelta(seconds=timeout * (1 + LATE_ANSWER_GRACE) + 5)
        self.queue: deque[Job] = deque()
        self.dirty = True           # the outbox may hold due rows for this lane
        self.claiming = False
        self.resume_call = None


class Sender:
    def __init__(self, db, binds, clock, now: Callable[[], datetime], *,
                 instance: str | None = None, poll_interval: float = 1.0,
                 retry_delay: float = 2.0, record_window: float = 0.005):
        self._db = db
        self._clock = clock
        self._now = now
        self._instance = instance or uuid.uuid4().hex[:16]
        self._retry_delay = retry_delay
        self._lanes = [_Lane(bind) for bind in binds if bind.transmits]
        self._drain_timeout = max((b.config.response_timeout for b in binds), default=10.0)
        self._recorder = OutcomeRecorder(db, clock, record_window, self._recorded)
        self._poll = task.LoopingCall(self.wake)
        self._poll.clock = clock
        self._poll_interval = poll_interval
        self._claims = itertools.count(1)
        self._jobs: dict[int, Job] = {}            # row id -> job not yet recorded
        self._claiming: set[defer.Deferred] = set()
        self._active: set[Job] = set()             # jobs with segments awaiting answers
        self._idle: list[defer.Deferred] = []
        self._pump_call = None
        self._retry_call = None                     # wakes us when the next retry is due
        self._running = False

    # -- the gateway calls these ---------------------------------------------------

    def start(self):
        self._running = True
        self._recorder.open()
        if not self._poll.running:
            self._poll.start(self._poll_interval, now=True)

    def wake(self, *_):
        """New rows, a freshly bound bind, or the poll: look at the outbox again."""
        for lane in self._lanes:
            lane.dirty = True
        self._pump_soon()

    def leases(self) -> dict:
        """Claims for replies about to be written, by short code: (token, lease end).

        The processor writes its replies with these, so they come to `take`
        already claimed, without a claiming query.  Only for lanes that are
        up and have room; the rest are found by `wake`.
        """
        if not self._running:
            return {}
        given, now = {}, self._now()
        for lane in self._lanes:
            if lane.bind.protocol is not None and len(lane.queue) < lane.capacity:
                claim = (f"{self._instance}:{next(self._claims)}", now + lane.lease)
                given.update(dict.fromkeys(lane.short_codes, claim))
        return given

    def take(self, rows: list, count: int):
        """``count`` replies are queued, ``rows`` of them written with our `leases`."""
        if not self._running:
            # A batch that committed as we stopped: its leases run out, then they go.
            log.info("mt.left_claimed", count=len(rows))
            return
        lanes = {code: lane for lane in self._lanes for code in lane.short_codes}
        for row in rows:
            self._adopt(lanes[row.source_addr], row, row.claimed_by, as_utc(row.claimed_until))
        if count > len(rows):
            self.wake()
        else:
            self._pump_soon()

    @defer.inlineCallbacks
    def stop(self):
        """Take no new MTs, let what is in flight be answered (bounded), record it all."""
        self._running = False
        if self._poll.running:
            self._poll.stop()
        for call in [self._pump_call, self._retry_call] + [l.resume_call for l in self._lanes]:
            if call is not None and call.active():
                call.cancel()
        self._pump_call = self._retry_call = None
        yield defer.DeferredList(list(self._claiming))
        for lane in self._lanes:
            lane.resume_call = None
            self._release(lane, "gateway stopping")
        if self._active:
            idle = defer.Deferred()
            self._idle.append(idle)
            try:
                yield idle.addTimeout(self._drain_timeout, self._clock)
            except defer.TimeoutError:
                log.warning("mt.drain_timeout", unanswered=len(self._active))
                for job in list(self._active):
                    self._give_back(job, "gateway stopped before the SMSC answered")
        try:
            yield self._recorder.drain().addTimeout(RECORD_DRAIN, self._clock)
        except defer.TimeoutError:
            # Their rows stay claimed until the lease runs out, then go again.
            log.error("mt.outcomes_unrecorded", count=self._recorder.pending)
        self._recorder.close()                  # the database stops next

    # -- filling the lanes ----------------------------------------------------------

    def _pump_soon(self):
        if self._running and self._pump_call is None:
            self._pump_call = self._clock.callLater(0, self._pump)

    def _pump(self):
        self._pump_call = None
        for lane in self._lanes:
            try:
                self._fill(lane)
            except Exception:
                log.exception("mt.pump_failed", bind=lane.bind.name)

    def _fill(self, lane):
        protocol = lane.bind.protocol
        if protocol is None:
            self._release(lane, "bind down")
            return
        slots, now = protocol.submit_slots(), self._now()
        while slots > 0 and lane.queue:
            job = lane.queue[0]
            if job.lease_end - now < lane.margin:
                self._dequeue(lane, job)
                job.judge(Verdict("lease running out", retry=True, counted=False))
                self._settle(lane, job)
                continue
            index = job.unsent.popleft()
            if not job.unsent:
                self._dequeue(lane, job)
            try:
                if self._submit(lane, protocol, job, index):
                    slots -= 1
            except SessionError:            # no slot after all: the next pump tries again
                job.unsent.appendleft(index)
                self._enqueue(lane, job, front=True)
                break
        if lane.dirty and not lane.claiming and len(lane.queue) < lane.low_water:
            self._claim(lane)
        if lane.queue and slots <= 0:
            self._resume_at(lane, protocol.resume_at())

    def _submit(self, lane, protocol, job, index) -> bool:
        """Submit one segment; False if it cannot ever be sent (the job has failed)."""
        row = job.row
        # TON/NPI 0 for our short code lets the SMSC apply its own rule;
        # members' numbers are international E.164 digits.
        params = dict(source_addr_ton=0, source_addr_npi=0, source_addr=row.source_addr,
                      dest_addr_ton=1, dest_addr_npi=1, destination_addr=row.destination_addr,
                      esm_class=_UDHI if len(job.parts) > 1 else 0, data_coding=job.data_coding)
        # SMPP 3.4 §5.3.2.32: short_message and message_payload are never both present.
        params["message_payload" if job.in_payload else "short_message"] = job.parts[index]
        try:
            answer = protocol.submit(params)
        except PDUError as error:           # our own values cannot be sent: never will be
            job.judge(Verdict(f"cannot encode: {error}", retry=False))
            self._settle(lane, job)
            return False
        job.in_flight += 1
        self._active.add(job)
        answer.addCallbacks(self._answered, self._unanswered,
                            callbackArgs=(lane, job, index), errbackArgs=(lane, job, index))
        return True

    def _resume_at(self, lane, at):
        if at is None:
            return                          # an answer will free a slot, and wake us
        at = max(at, self._clock.seconds() + _MIN_RESUME)     # never a busy loop
        call = lane.resume_call
        if call is not None and call.active():
            if call.getTime() <= at:
                return
            call.cancel()

        def resumed():
            lane.resume_call = None
            self._pump_soon()
        lane.resume_call = self._clock.callLater(max(0.0, at - self._clock.seconds()), resumed)

    # -- claiming ---------------------------------------------------------------------

    def _claim(self, lane):
        lane.claiming, lane.dirty = True, False
        token = f"{self._instance}:{next(self._claims)}"
        now = self._now()
        until, limit = now + lane.lease, lane.capacity - len(lane.queue)
        claimed = self._db.run(outbox_store.claim, lane.short_codes, now, token, until, limit)
        claimed.addCallback(self._claimed, lane, token, until, limit)
        claimed.addErrback(lambda f: log.error("mt.claim_failed", bind=lane.bind.name,
                                               error=f.getErrorMessage()))
        self._claiming.add(claimed)

        def finished(_):
            lane.claiming = False
            self._claiming.discard(claimed)
            self._pump_soon()
        claimed.addBoth(finished)

    def _claimed(self, rows, lane, token, until, limit):
        for row in rows:
            self._adopt(lane, row, token, until)
        if len(rows) >= limit:
            lane.dirty = True               # there may be more where these came from
        if not self._running:
            self._release(lane, "gateway stopping")

    def _adopt(self, lane, row, token, until):
        """A row now claimed by us: queue it on its lane."""
        known = self._jobs.get(row.id)
        if known is not None and not known.done:
            # Its lease ran out while we held it and we claimed it again: one job, new lease.
            known.token, known.lease_end = token, until
            return
        payload = lane.bind.config.long_messages == "message_payload"
        job = self._jobs[row.id] = new_job(row, token, until, payload=payload)
        if job.verdict is None and job.unsent:
            self._enqueue(lane, job)
        else:
            self._finish(job)

    # -- answers ----------------------------------------------------------------------

    def _answered(self, answer, lane, job, index):
        job.in_flight -= 1
        status = answer.status
        if status == Status.OK:
            job.ids[index] = answer.message_id or UNKNOWN_ID
        elif status in PAUSING:
            job.unsent.appendleft(index)    # the session pauses the bind; same segment after
        elif status in TEMPORARY:
            job.unsent.appendleft(index)
            job.judge(Verdict(describe(status), retry=True))
        else:
            job.judge(Verdict(describe(status), retry=False))
        self._settle(lane, job)

    def _unanswered(self, failure, lane, job, index):
        job.in_flight -= 1
        job.unsent.appendleft(index)
        if failure.check(ConnectionGone):
            verdict = Verdict("connection lost before the answer", retry=True, counted=False)
        elif failure.check(SubmitTimeout):
            verdict = Verdict("no answer", retry=True)
        else:
            log.error("mt.send_crashed", outbox_id=job.row.id, error=repr(failure.value))
            verdict = Verdict(f"internal error {type(failure.value).__name__}", retry=True)
        job.judge(verdict)
        self._settle(lane, job)

    def _settle(self, lane, job):
        """A segment's fate is known: finish the job once none is awaited."""
        if job.verdict is not None:
            self._dequeue(lane, job)        # no more of its segments go out this time
        if job.in_flight:
            return
        self._active.discard(job)
        if not job.done:
            if job.verdict is None and job.unsent:
                self._enqueue(lane, job, front=True)
            else:
                self._finish(job)
            self._pump_soon()
        if not self._active:                # after _finish: a draining stop() records it
            idle, self._idle = self._idle, []
            for waiter in idle:
                waiter.callback(None)

    # -- handing rows back --------------------------------------------------------------

    def _enqueue(self, lane, job, front=False):
        if not job.queued:
            job.queued = True
            (lane.queue.appendleft if front else lane.queue.append)(job)

    def _dequeue(self, lane, job):
        if job.queued:
            job.queued = False
            lane.queue.remove(job)

    def _release(self, lane, reason):
        """Hand back every row of the lane not awaiting an answer; the rest follow when answered."""
        while lane.queue:
            job = lane.queue.popleft()
            job.queued = False
            job.judge(Verdict(reason, retry=True, counted=False))
            if job.in_flight == 0:
                self._finish(job)

    def _give_back(self, job, reason):
        job.judge(Verdict(reason, retry=True, counted=False))
        self._active.discard(job)
        self._finish(job)

    def _finish(self, job):
        if not job.done:
            job.done = True
            now = self._now()
            values = outcome(job, now, self._retry_delay)
            if values["state"] == "queued" and values["next_attempt_at"] > now:
                self._wake_in((values["next_attempt_at"] - now).total_seconds())
            self._recorder.add(values)

    def _wake_in(self, delay):
        """Look at the outbox again in ``delay`` seconds (the poll may be further off)."""
        call = self._retry_call
        if not self._running or (call is not None and call.active()
                                 and call.getTime() <= self._clock.seconds() + delay):
            return
        if call is not None and call.active():
            call.cancel()
        self._retry_call = self._clock.callLater(delay + _RETRY_SLACK, self.wake)

    def _recorded(self, outcomes):
        for recorded in outcomes:
            job = self._jobs.get(recorded["row_id"])
            if job is not None and job.done:
                del self._jobs[recorded["row_id"]]
        if any(recorded["state"] == "queued" for recorded in outcomes):
            self.wake()                     # rows handed back may go out again now
