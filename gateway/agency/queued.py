"""Assisted redemption with the central ledger: what follows each queued batch's answer.

With ``[ledger] kind = "http"`` the agent commands cannot post inside the MO's transaction, so
service.py and aftersales.py queue each batch in ``ledger_postings`` with the state change that
decided it, and the `LedgerPoster` sends it.  `AgencyPostings` is the owner of those postings
(`postings.Owners` routes them here by purpose): each outcome is recorded in one transaction with
its consequences, so a crash at any point leaves the queue to finish the work, and every SMS has
an idempotency key of its own (``ardm:<reference>:<event>:<m|a>``), so none goes twice.

- the hold: accepted -> the code is drawn (stored as a digest), the member gets the prompt and the
  agent the masked member, as with the embedded ledger; refused -> the row fails, the stock comes
  back and the agent is told why (not enough points: the balance is never shown); accepted after
  the redemption's time ran out (the ledger was away) -> voided at once, the agent told it expired;
- the approval (hold posted, commissions, settlement: one batch) -> approved, both receipts with
  the reference; refused (the hold ran out at the centre) -> expired, both told;
- the void (NO, wrong codes, expiry): nothing follows; the stock came back when it was decided;
- the reversal (REV, a dispute upheld) -> reversed, the stock back, the member told (and the agent,
  for REV); refused -> back to approved, logged for the operator.

When the ledger cannot be reached on a posting's first try, `delayed` tells whoever is waiting
that it is being processed (the agent for RDM and REV, the member for YES); the outcome follows.
The central ledger sweeps its own holds.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

import structlog
from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from gateway import catalog
from gateway.agency import postings
from gateway.agency.service import (
    APPROVED, APPROVING, EXPIRED, FAILED, HOLDING, PENDING, REVERSED, REVERSING, AgencyService,
    digest,
)
from gateway.commands import agent
from gateway.commands.agent_values import Refusal
from gateway.commands.context import Reply
from gateway.commands.replies import render
from gateway.redeem import notices
from gateway.redeem import postings as queue
from gateway.store.tables_agents import agent_redemptions
from ledger_client import LedgerError, as_utc

log = structlog.get_logger(__name__)


def reference_of(posting: queue.Posting) -> str:
    """The redemption a queued batch belongs to: its key is ``ardm:<reference>:<purpose>``."""
    return posting.key.split(":")[1]


class AgencyPostings:
    def __init__(self, agency: AgencyService, keywords: Callable[[], object]):
        self._agency = agency
        self._keywords = keywords            # () -> the current KeywordTable, for the prompt

    def owners(self) -> dict[str, queue.Owner]:
        return {postings.HOLD: queue.Owner(self._hold, self._hold_delayed),
                postings.APPROVAL: queue.Owner(self._approval, self._approval_delayed),
                postings.VOID: queue.Owner(self._void),
                postings.REVERSAL: queue.Owner(self._reversal, self._reversal_delayed)}

    # --- the hold -----------------------------------------------------------------------------

    def _hold(self, conn: Connection, posting: queue.Posting, error: LedgerError | None,
              now: datetime) -> None:
        row = self._finished(conn, posting, error, now)
        if row is None or row.state != HOLDING:
            return
        if error is not None:
            reason = ("insufficient_points" if error.code == "insufficient_funds"
                      else "ledger_refused")
            if self._agency.end(conn, row, FAILED, now, was=HOLDING, held=False):
                log.info("agents.hold_refused", reference=row.reference, error=error.code)
                self._tell_agent(conn, row, agent.refused(row.agent_language, Refusal(reason)),
                                 "failed", now)
            return
        if as_utc(row.expires_at) <= now:     # accepted too late: the member has gone
            if self._agency.end(conn, row, EXPIRED, now, was=HOLDING):
                expired = agent.shrunk(row.agent_language, "agent.expired",
                                       self._agency.deal(conn, row))
                self._tell_agent(conn, row, expired, "expired", now)
            return
        code = self._agency.draw_code()
        conn.execute(update(agent_redemptions).where(and_(
            agent_redemptions.c.id == row.id, agent_redemptions.c.state == HOLDING)).values(
            state=PENDING, code_digest=digest(row.reference, code)))
        deal = self._agency.deal(conn, row)
        for n, text in enumerate(agent.prompt(deal, code, self._keywords())):
            notices.queue(conn, f"ardm:{row.reference}:prompt:{n}", to=row.member_msisdn,
                          short_code=row.short_code, text=text, language=row.member_language,
                          now=now)
        if self._agency.push_approval is not None:      # a USSD push too, as in service.py
            self._agency.push_approval(deal, code)
        asked = agent.shrunk(row.agent_language, "agent.asked", deal,
                             member=self._agency.shown(conn, row))
        self._tell_agent(conn, row, asked, "asked", now)
        log.info("agents.rdm_held", agent=row.agent_code, reference=row.reference,
                 points=row.points)

    def _hold_delayed(self, conn: Connection, posting: queue.Posting, now: datetime) -> None:
        row = self._row(conn, posting)
        if row.state == HOLDING:
            self._tell_agent(conn, row, _processing(row, "agent"), "processing", now)

    # --- the approval -------------------------------------------------------------------------

    def _approval(self, conn: Connection, posting: queue.Posting, error: LedgerError | None,
                  now: datetime) -> None:
        row = self._finished(conn, posting, error, now)
        if row is None or row.state != APPROVING:
            return
        deal = self._agency.deal(conn, row)
        if error is not None:                 # the hold ran out at the centre before it posted
            log.info("agents.approval_refused", reference=row.reference, error=error.code)
            if self._agency.end(conn, row, EXPIRED, now, was=APPROVING):
                for to, reply, key in agent.expiry_notices(deal):
                    self._tell(conn, row, to, reply, key, now)
            return
        conn.execute(update(agent_redemptions).where(and_(
            agent_redemptions.c.id == row.id, agent_redemptions.c.state == APPROVING))
            .values(state=APPROVED))
        commission = _shares(row).get(row.agent_code, 0)
        self._tell_agent(conn, row, agent.shrunk(row.agent_language, "agent.approved", deal,
                                                 commission=commission), "approved", now)
        hours = int(self._agency.settings.dispute_window.total_seconds() // 3600)
        receipt = agent.shrunk(row.member_language, "member.approved.central", deal, hours=hours,
                               dispute=self._keywords().display("DISPUTE", row.member_language))
        self._tell(conn, row, row.member_msisdn, receipt, f"ardm:{row.reference}:approved:m", now)
        log.info("agents.rdm_approved", reference=row.reference, pool=row.pool,
                 plan=row.plan_version)

    def _approval_delayed(self, conn: Connection, posting: queue.Posting, now: datetime) -> None:
        row = self._row(conn, posting)
        if row.state == APPROVING:
            self._tell(conn, row, row.member_msisdn, _processing(row, "member"),
                       f"ardm:{row.reference}:processing:m", now)

    # --- the void and the reversal --------------------------------------------------------------

    def _void(self, conn: Connection, posting: queue.Posting, error: LedgerError | None,
              now: datetime) -> None:
        if self._finished(conn, posting, error, now) is not None and error is not None:
            # The centre's own sweep expired the hold first: the points are back all the same.
            log.info("agents.void_skipped", reference=reference_of(posting), error=error.code)

    def _reversal(self, conn: Connection, posting: queue.Posting, error: LedgerError | None,
                  now: datetime) -> None:
        row = self._finished(conn, posting, error, now)
        if row is None or row.state != REVERSING:
            return
        if error is not None:
            log.error("agents.reversal_refused", reference=row.reference, error=error.code)
            conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id)
                         .values(state=APPROVED, reversed_at=None, reversed_by=None))
            return
        conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id)
                     .values(state=REVERSED))
        catalog.return_stock(conn, row.item_id, row.quantity)
        deal = self._agency.deal(conn, row)
        by_agent = _by_agent(row)
        # A dispute upheld: the key is the one the CLI uses for the embedded ledger's notice.
        event = "reversed" if by_agent else "dispute"
        self._tell(conn, row, row.member_msisdn,
                   agent.shrunk(row.member_language, "member.reversed", deal),
                   f"ardm:{row.reference}:{event}:m", now)
        if by_agent:
            self._tell_agent(conn, row, agent.shrunk(
                row.agent_language, "agent.reversed", deal,
                commission=sum(_shares(row).values())), "reversed", now)
        log.info("agents.rdm_reversed", reference=row.reference, by=row.reversed_by.split(":")[0])

    def _reversal_delayed(self, conn: Connection, posting: queue.Posting, now: datetime) -> None:
        row = self._row(conn, posting)
        if row.state == REVERSING and _by_agent(row):
            self._tell_agent(conn, row, _processing(row, "agent"), "processing", now)

    # --- plumbing -------------------------------------------------------------------------------

    def _finished(self, conn: Connection, posting: queue.Posting, error: LedgerError | None,
                  now: datetime):
        """Record the outcome once; the redemption's row, locked (None: recorded before)."""
        state = queue.POSTED if error is None else queue.REFUSED
        if not queue.finish(conn, posting.id, state, now, error and error.code):
            return None
        return self._row(conn, posting)

    def _row(self, conn: Connection, posting: queue.Posting):
        # Locked: an answer from the member (or the sweep) racing this one waits for it.
        return conn.execute(select(agent_redemptions).where(
            agent_redemptions.c.reference == reference_of(posting)).with_for_update()).one()

    def _tell_agent(self, conn: Connection, row, reply: Reply, event: str, now: datetime) -> None:
        agent_msisdn = self._agency.deal(conn, row).agent_msisdn
        self._tell(conn, row, agent_msisdn, reply, f"ardm:{row.reference}:{event}:a", now)

    @staticmethod
    def _tell(conn: Connection, row, to: str, reply: Reply, key: str, now: datetime) -> None:
        notices.queue(conn, key, to=to, short_code=row.short_code, text=reply.text,
                      language=reply.language, now=now)


def _processing(row, side: str) -> Reply:
    """"<ref> is being processed": to the agent or the member, in their language."""
    language = row.agent_language if side == "agent" else row.member_language
    return Reply(render(f"{side}.processing", language, ref=row.reference), language)


def _shares(row) -> dict[str, int]:
    return json.loads(row.shares) if row.shares else {}


def _by_agent(row) -> bool:
    return (row.reversed_by or "").startswith("agent:")
