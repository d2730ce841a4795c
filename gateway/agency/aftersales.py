"""After the member's YES: AGBAL and SALES figures, REV by the agent, DISPUTE by the member and
the operator's decision on it.

A reversal (REV within `reversal_window` of approval, or a dispute upheld) is one ledger batch
that undoes the approval's (postings.reversal): the member's points back, every commission share
clawed back from the agent it was paid to, the shop's settlement taken back; and the stock back.
It happens once: the state moves by a conditional UPDATE before anything is posted.  With the
central ledger the batch is queued (state REVERSING) and queued.py finishes it: the stock back
and both sides told when it posts.

AGBAL reads the agent's two accounts in the embedded ledger.  With the central ledger, whose
accounts cannot be read inside the MO's transaction, it answers from what this gateway's queue
has settled: the agent's shares and the shop's settlements of every approval posted and not
reversed (the same figures, unless the operator moves money in those accounts at the centre).
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo

import structlog
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection

from gateway import catalog, local_days
from gateway.agency import network, postings
from gateway.agency.service import (
    APPROVED, DISPUTED, POSTED, REVERSED, REVERSING, STANDING, AgencyService,
)
from gateway.commands.agent_values import AgentFigures, Deal, Refusal, Reversed
from gateway.store.tables_agents import agent_disputes, agent_redemptions
from ledger_client import AccountKind, as_utc
from ledger_client.schema import accounts

log = structlog.get_logger(__name__)

# SALES' periods on the operator's calendar: today, the week from Monday, the month from the 1st.
_STARTS = {"today": local_days.day_start, "week": local_days.week_start,
           "month": local_days.month_start}
PERIODS = tuple(_STARTS)


def figures(service: AgencyService, conn: Connection, agent_msisdn: str, period: str | None,
            now: datetime) -> AgentFigures | Refusal:
    """AGBAL (``period`` None: the commission and settlement accounts) or SALES for a period."""
    agent = network.agent_row_by_msisdn(conn, agent_msisdn)
    if agent is None:
        return Refusal("not_agent")
    currency = service.settings.currency
    if period is None and service.ledger is not None:
        commission = _posted(conn, str(AccountKind.AGENT_COMMISSION), agent.code, "points")
        owed = _posted(conn, str(AccountKind.SHOP_SETTLEMENT), agent.code, currency)
        return AgentFigures(agent_code=agent.code, commission=commission,
                            settlement=_major(owed), currency=currency)
    r = agent_redemptions.c
    since = (r.decided_at >= period_start(period, now, service.settings.zone) if period
             else r.decided_at.is_not(None))
    rows = conn.execute(select(r.points, r.settlement, r.shares, r.agent_code).where(
        r.state.in_(POSTED), since, r.shares.is_not(None))).all()
    mine = [row for row in rows if row.agent_code == agent.code]
    earned = sum(json.loads(row.shares).get(agent.code, 0) for row in rows)
    return AgentFigures(agent_code=agent.code, commission=earned,
                        settlement=_major(sum(row.settlement for row in mine)), currency=currency,
                        count=len(mine), points=sum(row.points for row in mine))


def period_start(period: str, now: datetime, zone: tzinfo) -> datetime:
    return _STARTS[period](now, zone)


def _posted(conn: Connection, kind: str, reference: str, ledger: str) -> int:
    row = conn.execute(select(accounts.c.credits_posted - accounts.c.debits_posted).where(and_(
        accounts.c.kind == kind, accounts.c.reference == reference,
        accounts.c.ledger == ledger))).first()
    return row[0] if row else 0


def _major(minor: int) -> str:
    """Minor units as the currency is written: 125050 -> "1,250.50" (two decimals)."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


# --- REV ---------------------------------------------------------------------------------------

def reverse_by_agent(service: AgencyService, conn: Connection, agent_msisdn: str,
                     reference: str, now: datetime) -> Reversed | Refusal:
    agent = network.agent_row_by_msisdn(conn, agent_msisdn)
    if agent is None:
        return Refusal("not_agent")
    row = service.by_reference(conn, reference)
    if row is None or row.agent_code != agent.code:
        return Refusal("unknown_reference", {"ref": str(reference)})
    refusal = {DISPUTED: "under_review", REVERSED: "already_reversed",
               REVERSING: "already_reversed"}.get(row.state)
    if refusal or row.state != APPROVED:
        return Refusal(refusal or "not_approved", {"ref": row.reference})
    if now - as_utc(row.decided_at) > service.settings.reversal_window:
        return Refusal("reversal_window", {"minutes": int(
            service.settings.reversal_window.total_seconds() // 60)})
    return reverse(service, conn, row, f"agent:{agent.code}", now)


def reverse(service: AgencyService, conn: Connection, row, by: str, now: datetime) -> Reversed | Refusal:
    """Undo an approved (or disputed) redemption: points, commissions, settlement and stock
    (queued for the central ledger: the stock comes back when the batch posts, queued.py)."""
    queued = service.ledger is None
    changed = conn.execute(update(agent_redemptions).where(and_(
        agent_redemptions.c.id == row.id, agent_redemptions.c.state.in_(STANDING)))
        .values(state=REVERSING if queued else REVERSED, reversed_at=now,
                reversed_by=by[:64])).rowcount
    if not changed:
        return Refusal("already_reversed", {"ref": row.reference})
    shares = json.loads(row.shares)
    service.post(conn, row.reference, postings.REVERSAL, postings.reversal(
        service.settings.namespace, row.reference, row.member_msisdn, row.points, shares,
        row.agent_code, row.settlement, service.settings.currency), now)
    if not queued:
        catalog.return_stock(conn, row.item_id, row.quantity)
    log.info("agents.rdm_reversing" if queued else "agents.rdm_reversed",
             reference=row.reference, by=by.split(":")[0])
    return Reversed(deal=service.deal(conn, row), commission=sum(shares.values()), queued=queued)


# --- DISPUTE -------------------------------------------------------------------------------------

def dispute(service: AgencyService, conn: Connection, msisdn: str, reference: str | None,
            now: datetime) -> Deal | Refusal:
    """The member puts an approved redemption under review; the operator is told (log + row)."""
    if not reference:
        return Refusal("dispute_how")
    row = service.by_reference(conn, reference)
    if row is None or row.member_msisdn != msisdn:
        return Refusal("unknown_reference", {"ref": str(reference)})
    if row.state == DISPUTED:
        return Refusal("already_disputed", {"ref": row.reference})
    if row.state != APPROVED:
        return Refusal("not_approved", {"ref": row.reference})
    if now - as_utc(row.decided_at) > service.settings.dispute_window:
        return Refusal("dispute_window", {"hours": int(
            service.settings.dispute_window.total_seconds() // 3600)})
    conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id)
                 .values(state=DISPUTED))
    conn.execute(insert(agent_disputes).values(redemption_id=row.id, state="open", opened_at=now))
    log.warning("agents.dispute_opened", reference=row.reference, agent=row.agent_code)
    return service.deal(conn, row)


def open_disputes(conn: Connection) -> list:
    d, r = agent_disputes.c, agent_redemptions.c
    return conn.execute(select(r.reference, r.agent_code, r.points, d.opened_at, d.state)
                        .join(agent_redemptions, r.id == d.redemption_id)
                        .where(d.state == "open").order_by(d.opened_at)).all()


def resolve(service: AgencyService, conn: Connection, reference: str, uphold: bool, by: str,
            now: datetime) -> Reversed | Deal:
    """The operator's decision; LookupError if ``reference`` has no open dispute."""
    row = service.by_reference(conn, reference)
    dispute_row = row and conn.execute(select(agent_disputes).where(and_(
        agent_disputes.c.redemption_id == row.id, agent_disputes.c.state == "open"))).first()
    if not dispute_row:
        raise LookupError(f"no open dispute on {reference}")
    conn.execute(update(agent_disputes).where(agent_disputes.c.id == dispute_row.id).values(
        state="upheld" if uphold else "rejected", resolved_at=now, resolved_by=by[:64]))
    log.info("agents.dispute_resolved", reference=row.reference, upheld=uphold)
    if uphold:
        return reverse(service, conn, row, by, now)
    conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id)
                 .values(state=APPROVED))
    return service.deal(conn, row)


def refusal_counts(conn: Connection, since: datetime) -> dict[str, int]:
    """RDMs by outcome ("held" or a reason code) since ``since``: the refusal counter."""
    from gateway.store.tables_agents import agent_rdm_attempts as a
    return dict(conn.execute(select(a.c.outcome, func.count()).where(a.c.at >= since)
                             .group_by(a.c.outcome)).all())
