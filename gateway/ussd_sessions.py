"""One USSD step as one transaction: read the dialogue's row, run the menus, write the row back.

Start at `Dialogues.step`. It runs on a database thread (`Database.run`) and does everything a
network request needs before it may be acknowledged: the row is locked (FOR UPDATE on PostgreSQL;
SQLite's one writer does the same), the menus advance with `Actions` working in this very
transaction (a redemption and the row that records it commit together), and the screen to send is
stored in the row. The reactor side (ussd_service.py) acknowledges and sends only after it commits.
Under load several dialogues' steps share one transaction (ussd_batches.py), one after another.

Several gateway processes may serve one dialogue: nothing about it is kept in memory. An answer to
a dialogue that has ended is a network retry and gets the last screen again (its action is not run
twice); an answer to no dialogue, or one past its time, gets the "dial again" end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, bindparam, delete, insert, select, update

from gateway.agency import network
from gateway.commands.context import Member
from gateway.store.models import members, outbox
from gateway.store.tables_ussd import ussd_sessions
from gateway.ussd import End, Menus
from ledger_client import as_utc

log = structlog.get_logger(__name__)

BEGIN, CONTINUE, END, ABORT = "begin", "continue", "end", "abort"

# A step's statements are built once: building one costs more than SQLite takes to run it (the
# compiled form is cached either way), and a busy gateway runs them hundreds of times a second.
_ROW = select(ussd_sessions).where(
    ussd_sessions.c.channel == bindparam("channel"), ussd_sessions.c.msisdn == bindparam("msisdn"),
    ussd_sessions.c.session_key == bindparam("key")).with_for_update()
_INSERT = insert(ussd_sessions).returning(ussd_sessions.c.id)
_UPDATE = update(ussd_sessions).where(ussd_sessions.c.id == bindparam("row_id"))
_SHOWN = update(ussd_sessions).where(ussd_sessions.c.id.in_(bindparam("row_ids", expanding=True)),
                                     ussd_sessions.c.result == "pending").values(result="shown")
_MEMBER = select(members.c.id, members.c.msisdn, members.c.name, members.c.language,
                 members.c.points_account_id).where(members.c.msisdn == bindparam("msisdn"),
                                                    members.c.status == "active")


@dataclass(frozen=True)
class Request:
    """One request of a dialogue, from either channel, as the network said it."""

    channel: str        # the bind's name, or "http"
    kind: str           # begin | continue | end | abort
    msisdn: str         # E.164 digits
    session_key: str    # the vendor's session id
    service: str        # the code dialled / the address the phone reached
    session: dict       # the dialect's UssdSession, or {"seen_length": n} for HTTP
    answer: str | None  # None on begin
    path: tuple[str, ...] = ()  # on begin, the answers dialled with the code (*123*2*1#)
    reads: object = None  # the central ledger's figures for this step (remote_reads.Snapshot)


@dataclass(frozen=True)
class Step:
    """What the committed step says to show. ``text`` None: nothing to send (end, abort)."""

    row_id: int | None
    text: str | None
    ends: bool
    session: dict
    language: str
    repeated: bool = False  # the last screen again, for a network retry
    sms_queued: int = 0     # SMS the step's action queued (an approval's notices to the shop)


class Dialogues:
    """The menus over the sessions table; `actions_for(conn, member, request)` builds `Actions`."""

    def __init__(self, menus: Menus, actions_for: Callable, *, timeout: float,
                 sms_from: str):
        self.menus = menus
        self._actions_for = actions_for
        self._timeout = timedelta(seconds=timeout)
        self._sms_from = sms_from

    def step(self, conn, request: Request, now: datetime) -> Step:
        row = conn.execute(_ROW, dict(channel=request.channel, msisdn=request.msisdn,
                                      key=request.session_key)).first()
        if request.kind in (END, ABORT):
            if row is not None and row.state is not None:
                conn.execute(_UPDATE, dict(row_id=row.id, state=None, updated_at=now))
            return Step(row.id if row else None, None, True, request.session,
                        row.language if row else self.menus.tree.default_language)
        fresh = request.kind == BEGIN or (row is None and request.answer is None)
        if not fresh and (row is None or as_utc(row.expires_at) <= now):
            language = row.language if row else self.menus.tree.default_language
            return Step(row.id if row else None, self.menus.end(language, "expired").text, True,
                        request.session, language)
        if not fresh and (row.state is None or request.answer is None):
            return Step(row.id, row.screen, row.ends, request.session, row.language, repeated=True)
        member = _member(conn, request.msisdn)
        actions = self._actions_for(conn, member, request)
        menus = self.menus.bound(actions)
        if fresh:
            dialogue = f"{request.channel}:{request.session_key}:{now.timestamp():.3f}"
            state, screen = menus.start(request.msisdn, _role(conn, request.msisdn),
                                        member.language if member else None, dialogue,
                                        request.path)
        else:
            state, screen = menus.advance(request.msisdn, json.loads(row.state), request.answer)
        language = state.language if state else (row.language if row else
                                                   self.menus.tree.default_language)
        if member is not None and getattr(actions, "language_chosen", None):
            conn.execute(update(members).where(members.c.id == member.id).values(
                language=actions.language_chosen))
            language = actions.language_chosen
        ends = isinstance(screen, End)
        values = dict(session=json.dumps(request.session), service=request.service[:21],
                      state=json.dumps(state.to_dict()) if state else None,
                      step=state.step if state else (row.step + 1 if row and not fresh else 1),
                      screen=screen.text, ends=ends, language=language,
                      result="pending" if ends and (not fresh or request.path) else None,
                      expires_at=now + self._timeout, updated_at=now)
        if row is None:
            row_id = conn.execute(_INSERT, dict(values, channel=request.channel,
                                                msisdn=request.msisdn,
                                                session_key=request.session_key)).scalar_one()
        else:
            row_id = row.id
            conn.execute(_UPDATE, dict(values, row_id=row.id))
        return Step(row_id, screen.text, ends, request.session, language,
                    sms_queued=getattr(actions, "sms_queued", 0))

    # --- after the screen ------------------------------------------------------------------------

    def shown(self, conn, row_ids: list[int]) -> None:
        """The network took these rows' last screens: their results need no SMS."""
        conn.execute(_SHOWN, dict(row_ids=row_ids))

    def by_sms(self, conn, row_ids: list[int], now: datetime) -> int:
        """Queue the results of these rows as SMS (once: the outbox key is the row and step)."""
        rows = conn.execute(select(ussd_sessions).where(and_(
            ussd_sessions.c.id.in_(row_ids), ussd_sessions.c.result == "pending"))).all()
        for row in rows:
            key = f"ussd:{row.id}:{row.step}"
            if conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).first():
                continue
            conn.execute(insert(outbox).values(
                idempotency_key=key, source_addr=self._sms_from, destination_addr=row.msisdn,
                text=row.screen, language=row.language, state="queued", attempts=0,
                created_at=now, next_attempt_at=now))
            log.info("ussd.result_by_sms", session=row.id, step=row.step)
        if rows:
            conn.execute(update(ussd_sessions).where(ussd_sessions.c.id.in_(
                [row.id for row in rows])).values(result="sms"))
        return len(rows)

    def sweep(self, conn, now: datetime, budget: float) -> int:
        """Results never shown (the gateway stopped in between) go by SMS; expired rows go."""
        stale = list(conn.execute(select(ussd_sessions.c.id).where(and_(
            ussd_sessions.c.result == "pending",
            ussd_sessions.c.updated_at < now - timedelta(seconds=2 * budget)))).scalars())
        queued = self.by_sms(conn, stale, now) if stale else 0
        conn.execute(delete(ussd_sessions).where(and_(
            ussd_sessions.c.expires_at < now,
            (ussd_sessions.c.result != "pending") | ussd_sessions.c.result.is_(None))))
        return queued


def _role(conn, msisdn: str) -> str:
    """An agent's phone gets the agent menus; every other phone the member menus."""
    return "agent" if network.agent_row_by_msisdn(conn, msisdn) is not None else "member"


def _member(conn, msisdn: str) -> Member | None:
    row = conn.execute(_MEMBER, dict(msisdn=msisdn)).first()
    if row is None:
        return None
    return Member(id=row.id, msisdn=row.msisdn, name=row.name, language=row.language,
                  points_account=row.points_account_id)
