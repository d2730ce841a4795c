"""Network-initiated USSD: a shop's request pushed to the member's phone as "1 Approve 2 Refuse".

Start at `ApprovalPush.__call__`, the agency's `push_approval` hook (ussd_wiring.py sets it when
`[ussd] push_bind` names a bind whose dialect can start a session). When an agent's RDM holds a
member's points, the agency calls it with the request and its confirmation code, on the database
thread of the RDM's transaction. Nothing is sent from there: the hold is not committed yet (and
may never be). The call only keeps the code in memory and asks the reactor to `_push` soon.

`_push` opens the dialogue in one transaction of its own, and only once the request is visible
there (committed) and still pending: a `ussd_sessions` row on the push bind under a session number
the phone has no row for, in the state of the menu file's push screen (`Menus.pushed`), with the
request's reference, shop, agent, item and points as values; the code is never in the row, on the
screen or in a log line. Then the dialect's USSR request goes out on the bind through a
`ScreenSender` (ussd_sending.py), the one way screens are sent: when the bind's window is full the
push waits its turn for a slot (up to the reply budget) instead of being dropped. The phone's answer
comes back as any continue does (UssdService, `Dialogues.step`), and the push screen's options call
`approve_pushed` / `refuse_pushed`, which run the YES / NO handlers with the code kept here
(`code_for`). A gateway process that did not push (or restarted) has no code: the member is asked
to answer with the SMS's code instead (the menu file's `answer_by_sms`).

The prompt SMS is always queued by the RDM as before, in its transaction: a push is a convenience
on top, never the only way to answer. So nothing is lost when the phone is busy in another USSD
session (no push), the bind is down, the SMSC refuses the USSR request, or the member lets the
screen time out; and the first answer wins, whichever channel it came by (YES finds the request
pending once).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, insert, select, update
from twisted.application import service

from gateway.agency.service import PENDING
from gateway.store.tables_agents import agent_redemptions
from gateway.store.tables_ussd import ussd_sessions
from gateway.ussd import Dialect, Menus, UssdError
from gateway.ussd_sending import ScreenSender
from ledger_client import as_utc

log = structlog.get_logger(__name__)

__all__ = ["ApprovalPush"]

_TRIES, _RETRY_DELAY = 10, 0.2  # waiting for the RDM's transaction to commit
_RECENT = 100


class ApprovalPush(service.Service):
    """Pushes shop requests to members on one bind; holds their codes while the push lives.

    A service of the gateway only so that stopping it gives up the pushes still waiting for a
    submit slot (their SMS has gone anyway)."""

    def __init__(self, db, reactor, now, menus: Menus, *, bind_name: str, dialect: Dialect,
                 screens: ScreenSender, service: str, timeout: float):
        self._db, self._reactor, self._now = db, reactor, now
        self._menus, self._dialect = menus, dialect
        self._bind_name, self._screens, self._service = bind_name, screens, service
        self._timeout = timedelta(seconds=timeout)
        self._codes: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._lock = threading.Lock()
        # The latest references pushed, and why others were not: for tests and the demo, never
        # read by the gateway, so bounded: a daemon runs for months.
        self.sent: deque[str] = deque(maxlen=_RECENT)
        self.skipped: deque[str] = deque(maxlen=_RECENT)

    # --- the agency's hook, on the RDM's database thread -----------------------------------------

    def __call__(self, deal, code: str) -> None:
        now = self._now()
        with self._lock:
            self._codes = {k: v for k, v in self._codes.items() if v[1] > now}
            self._codes[(deal.member_msisdn, deal.reference)] = (code, now + 2 * self._timeout)
        call = getattr(self._reactor, "callFromThread", None)
        (call or (lambda f, *a: f(*a)))(self._push, deal, _TRIES)

    def code_for(self, msisdn: str, reference: str) -> str | None:
        """The confirmation code of a request this process pushed to `msisdn`, while it lives."""
        with self._lock:
            kept = self._codes.get((msisdn, reference))
        return kept[0] if kept is not None and kept[1] > self._now() else None

    # --- on the reactor --------------------------------------------------------------------------

    def _push(self, deal, tries: int):
        opened = self._db.run(self._open, deal, self._now())
        opened.addCallback(self._opened, deal, tries)
        opened.addErrback(lambda failure: log.error(
            "ussd.push_failed", reference=deal.reference, error=failure.getErrorMessage()))
        return opened

    def _opened(self, opened, deal, tries: int):
        if opened == "wait":
            if tries > 1:
                self._reactor.callLater(_RETRY_DELAY, self._push, deal, tries - 1)
            else:
                self._skip(deal, "not committed")
            return None
        if isinstance(opened, str):
            self._skip(deal, opened)
            return None
        row_id, params = opened
        return self._submit(row_id, params, deal)

    def _skip(self, deal, reason: str) -> None:
        self._forget(deal)
        self.skipped.append(reason)
        log.info("ussd.push_skipped", reference=deal.reference, reason=reason)

    def _forget(self, deal) -> None:
        with self._lock:
            self._codes.pop((deal.member_msisdn, deal.reference), None)

    def stopService(self):
        super().stopService()
        self._screens.stop()

    def _submit(self, row_id: int, params: dict, deal):
        def answered(ok: bool):
            if not ok:      # why is logged by the sender (ussd.screen_not_sent)
                return self._failed(row_id, deal, "not sent: bind down, window full or refused")
            self.sent.append(deal.reference)
            log.info("ussd.pushed", reference=deal.reference, session=row_id)
            return None

        return self._screens.send(self._bind_name, params).addCallback(answered)

    def _failed(self, row_id: int, deal, why: str):
        self._forget(deal)
        log.warning("ussd.push_not_sent", reference=deal.reference, session=row_id, error=why)
        closed = self._db.run(_close, row_id, self._now())
        closed.addErrback(lambda f: log.error("ussd.push_close_failed", session=row_id,
                                              error=f.getErrorMessage()))
        return closed

    # --- in a transaction of its own -------------------------------------------------------------

    def _open(self, conn, deal, now: datetime):
        """The pushed dialogue's row and the USSR request to send; a reason string instead when
        there is nothing to push ("wait": the request is not visible yet)."""
        row = conn.execute(select(agent_redemptions.c.state, agent_redemptions.c.expires_at).where(
            agent_redemptions.c.reference == deal.reference)).first()
        if row is None:
            return "wait"
        if row.state != PENDING or as_utc(row.expires_at) <= now:
            return "already answered"
        sessions = conn.execute(select(ussd_sessions.c.channel, ussd_sessions.c.session_key,
                                       ussd_sessions.c.state, ussd_sessions.c.expires_at).where(
            ussd_sessions.c.msisdn == deal.member_msisdn)).all()
        if any(s.state is not None and as_utc(s.expires_at) > now for s in sessions):
            return "in a USSD session"     # one dialogue at a time on a phone: the SMS will do
        used = {s.session_key for s in sessions if s.channel == self._bind_name}
        number = next((n for n in range(self._dialect.push_numbers - 1, -1, -1)
                       if str(n) not in used), None)
        if number is None:
            return "no free session number"
        dialogue = f"push:{self._bind_name}:{number}:{now.timestamp():.3f}"
        state, screen = self._menus.pushed(deal.member_msisdn, deal.member_language, {
            "approval": deal.reference, "shop": deal.shop, "agent": deal.agent_code,
            "quantity": deal.quantity, "total": deal.points,
            "item_name": deal.item.get(deal.member_language) or next(iter(deal.item.values()), "")},
            dialogue)
        try:
            session, params = self._dialect.push(deal.member_msisdn, self._service, screen.text,
                                                 number)
        except UssdError as error:
            return str(error)
        row_id = conn.execute(insert(ussd_sessions).values(
            channel=self._bind_name, msisdn=deal.member_msisdn, session_key=session.key,
            session=json.dumps(session.to_dict()), service=self._service[:21],
            state=json.dumps(state.to_dict()), step=0, screen=screen.text, ends=False,
            language=state.language, result=None, expires_at=now + self._timeout,
            updated_at=now).returning(ussd_sessions.c.id)).scalar_one()
        return row_id, params


def _close(conn, row_id: int, now: datetime) -> None:
    """A push that never reached the phone: its dialogue is over (the sweep removes the row)."""
    conn.execute(update(ussd_sessions).where(and_(
        ussd_sessions.c.id == row_id, ussd_sessions.c.step == 0)).values(state=None, updated_at=now))
