"""USSD in the daemon: requests from the SMPP binds and the HTTP callback, answered in budget.

Start at `UssdService.receive` (a deliver_sm on a bind with a `ussd_dialect`) and
`UssdService.handle` (the aggregator's callback). Both make a `ussd_sessions.Request`, run
`Dialogues.step` in a transaction (shared with other dialogues' steps under load:
ussd_batches.py), and only after it commits acknowledge the deliver_sm and send the screen. A
screen goes out at once on the bind that brought the request (`submit_sm` built by the bind's
dialect, waiting for a slot if the window is full: ussd_sending.py), not through the outbox: a
USSD screen is wanted within seconds and only in its session, and it is already committed in the
session row. The network's reply budget (`[ussd] reply_budget`) is raced against the step: when
the database or the ledger is slower, the phone is shown the menu file's "by SMS" end at once (a
fixed text, sent uncommitted because what is late is the database itself), and when the step
commits its result goes to the outbox as an SMS instead. The sweep (on the reactor clock) SMSes any result a stopped gateway never showed,
and removes expired sessions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

import structlog
from sqlalchemy import and_, select
from twisted.internet import defer, task

from gateway.msisdn import address_of
from gateway.smpp.codec import Pdu, Status
from gateway.store.tables_ussd import ussd_sessions
from gateway.ussd import Dialect, UssdError, UssdSession
from gateway.ussd.http import Callback
from gateway.ussd.menu import dialled_steps
from gateway.ussd_batches import StepBatches
from gateway.ussd_sending import ScreenSender
from gateway.ussd_sessions import BEGIN, Dialogues, Request

log = structlog.get_logger(__name__)

__all__ = ["UssdService"]


class UssdService:
    def __init__(self, db, clock, now: Callable[[], datetime], dialogues: Dialogues, *,
                 dialects: Mapping[str, Dialect], screens: ScreenSender, region: str,
                 reply_budget: float, session_timeout: float, sms_queued: Callable[[], None],
                 reads=None):
        self._db, self._clock, self._now = db, clock, now
        self._steps = StepBatches(db)         # steps and their `shown` marks, in batches
        self._screens = screens               # shared with the push (ussd_wiring.py)
        self._reads = reads                   # the central ledger's figures (remote_reads.py)
        self.dialogues = dialogues
        self._dialects = dict(dialects)       # bind name -> its dialect
        self._region = region
        self._budget = reply_budget
        self._sweep_every = max(1.0, min(30.0, session_timeout / 6))
        self._sms_queued = sms_queued
        self._sweeper = None
        self.http_service = None          # the callback's listener, when configured

    # --- SMPP ------------------------------------------------------------------------------------

    def claims(self, pdu: Pdu, bind_name: str) -> bool:
        """Whether this deliver_sm is USSD for a bind that speaks it (else it is an SMS)."""
        return bind_name in self._dialects and (
            pdu.get("ussd_service_op") is not None
            or (pdu.get("service_type") or "").upper() == "USSD")

    def receive(self, pdu: Pdu, bind_name: str):
        """The command_status to answer `pdu` with, once its step is committed."""
        dialect = self._dialects[bind_name]
        try:
            event = dialect.parse(pdu.params)
        except UssdError as error:
            log.warning("ussd.unreadable", bind=bind_name, sequence=pdu.sequence, reason=str(error))
            return Status.OK                  # nothing to retry: acknowledged and dropped
        msisdn = address_of(event.session.msisdn, self._region, pdu.get("source_addr_ton"))
        request = Request(bind_name, event.kind, msisdn, event.session.key, event.session.service,
                          event.session.to_dict(), None if event.kind == BEGIN else event.text,
                          dialled_steps(event.text, event.session.service) if event.kind == BEGIN
                          else ())
        late_screen = lambda: self._send(bind_name, dialect, request.session, self._late_text(), True)
        stepped = self._step(request, late_screen)
        acked = defer.Deferred()

        def done(outcome):
            step, late = outcome
            acked.callback(Status.OK)
            if step.text is not None and not late:
                sent = self._send(bind_name, dialect, step.session, step.text, step.ends)
                if step.ends and step.row_id is not None and not step.repeated:
                    sent.addCallback(lambda ok: self._after_send(ok, step.row_id))

        def failed(failure):
            log.error("ussd.step_failed", bind=bind_name, error=failure.getErrorMessage())
            acked.callback(Status.TEMPORARY_APP_ERROR)

        stepped.addCallbacks(done, failed)
        return acked

    def _send(self, bind_name: str, dialect: Dialect, session: dict, text: str, end: bool):
        """Submit one screen on the bind, in its turn; fires True if the SMSC took it."""
        try:
            params = dialect.reply(UssdSession.from_dict(session), text, end)
        except Exception as error:  # unencodable: an ending screen's result goes by SMS
            log.warning("ussd.screen_not_sent", bind=bind_name, error=str(error))
            return defer.succeed(False)
        return self._screens.send(bind_name, params)

    def _after_send(self, ok: bool, row_id: int):
        if ok:
            return self._steps.gather(self.dialogues.shown, row_id)
        return self._queue_sms([row_id])

    # --- HTTP ------------------------------------------------------------------------------------

    def handle(self, callback: Callback):
        """(text, end) for the aggregator: the committed screen, or "by SMS" when late."""
        msisdn = address_of(callback.msisdn, self._region)
        request = Request("http", "continue", msisdn, callback.session_id,
                          callback.service_code, {"seen_length": len(callback.text)},
                          callback.text)
        answered = defer.Deferred()
        stepped = self._step(_http_request(request, callback, self._db, self.dialogues),
                             lambda: answered.callback((self._late_text(), True)))

        def done(outcome):
            step, late = outcome
            if late:
                return
            answered.callback((step.text, step.ends))
            if step.ends and step.row_id is not None and not step.repeated:
                self._after_send(True, step.row_id)

        stepped.addCallbacks(done, lambda failure: answered.called or answered.errback(failure))
        return answered

    # --- the race with the reply budget ------------------------------------------------------------

    def _step(self, request, late_screen):
        """Fires with (step, late): late when the budget ran out first (its result goes by SMS)."""
        late = []

        def too_slow():
            late.append(True)
            log.warning("ussd.reply_budget_exceeded", channel=request.channel)
            late_screen()

        timer = self._clock.callLater(self._budget, too_slow)
        stepped = defer.maybeDeferred(self._run_step, request)

        def finished(step):
            if timer.active():
                timer.cancel()
            if late and step.row_id is not None and step.ends:
                self._queue_sms([step.row_id])
            if step.sms_queued:     # committed: the shop's "approved" goes now, not at the poll
                self._sms_queued()
            return step, bool(late)

        def failed(failure):
            if timer.active():
                timer.cancel()
            return failure

        return stepped.addCallbacks(finished, failed)

    def _run_step(self, request):
        if self._reads is None:
            return self._run_step_with(request, None)
        # Only a step that reaches a balance or a history waits for the central ledger.
        return self._reads.run_with_reads(lambda reads: self._run_step_with(request, reads),
                                          request.msisdn)

    def _run_step_with(self, request, reads):
        if callable(request):           # HTTP: the request is read against the stored session
            return self._steps.run(request, self._now(), reads)
        return self._steps.run(self.dialogues.step, replace(request, reads=reads), self._now())

    def _late_text(self) -> str:
        menus = self.dialogues.menus
        return menus.end(menus.tree.default_language, "by_sms").text

    def _queue_sms(self, row_ids):
        queued = self._db.run(self.dialogues.by_sms, row_ids, self._now())
        queued.addCallback(lambda count: count and self._sms_queued())
        queued.addErrback(lambda f: log.error("ussd.sms_queue_failed", error=f.getErrorMessage()))
        return queued

    # --- sessions that stop -----------------------------------------------------------------------

    def start(self):
        self._sweeper = task.LoopingCall(self.sweep)
        self._sweeper.clock = self._clock
        self._sweeper.start(self._sweep_every, now=True)

    def stop(self):
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None
        self._screens.stop()

    def sweep(self, at: datetime | None = None):
        swept = self._db.run(self.dialogues.sweep, at or self._now(), self._budget)
        swept.addCallback(lambda count: count and self._sms_queued())
        swept.addErrback(lambda f: log.error("ussd.sweep_failed", error=f.getErrorMessage()))
        return swept


def _seen(session: dict, text: str) -> str | None:
    """The text of the previous step, from its length alone.

    The aggregator only ever appends ``*answer`` to ``text``, so the length
    of what was seen is enough to find the newest answer, and storing the
    text itself would store every PIN typed in the dialogue.
    """
    length = session.get("seen_length")
    if not isinstance(length, int) or length > len(text):
        return None
    return text[:length]


def _http_request(request: Request, callback: Callback, db, dialogues: Dialogues):
    """The HTTP step: the latest answer is read against the text seen on the previous step."""

    def step(conn, now, reads=None):
        row = conn.execute(select(ussd_sessions.c.session, ussd_sessions.c.state).where(and_(
            ussd_sessions.c.channel == "http", ussd_sessions.c.msisdn == request.msisdn,
            ussd_sessions.c.session_key == request.session_key))).first()
        seen = _seen(json.loads(row.session), callback.text) if row is not None else None
        path: tuple[str, ...] = ()
        if row is None:
            kind, answer, path = BEGIN, None, callback.shortcut()
        elif callback.repeats(seen):
            kind, answer = "continue", None       # the aggregator retrying: the same screen
        else:
            kind, answer = "continue", callback.latest(seen) or ""
        return dialogues.step(conn, Request(request.channel, kind, request.msisdn,
                                            request.session_key, request.service, request.session,
                                            answer, path, reads=reads), now)
    step.msisdn = request.msisdn        # whose figures the central ledger is asked for
    return step
