"""The month's assisted redemptions as `agents.RedemptionLine`s, for `jifen report agents`.

Those that stand (approved, or disputed and not yet decided) count, on the day they were approved,
with the commission shares each recorded; a reversed one does not count at all.  With the central
ledger, one whose reversal is still queued counts until that posts, as in the ledger.  The day is
the operator's (`[gateway] timezone`): an approval at 01:00 in Nairobi on the 1st is in the new
month, though it is still the month before in UTC.
"""

from __future__ import annotations

import json
from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

import agents as rules
from gateway import local_days
from gateway.agency.network import load_network
from gateway.agency.service import POSTED
from gateway.store.tables_agents import agent_redemptions
from ledger_client import as_utc


def month(conn: Connection, month_text: str, zone: tzinfo) -> rules.MonthReport:
    """ValueError for a month that is not like 2026-11."""
    r = agent_redemptions.c
    rows = conn.execute(select(r.reference, r.decided_at, r.agent_code, r.points, r.settlement,
                               r.shares).where(r.state.in_(POSTED))).all()
    lines = [rules.RedemptionLine(reference=row.reference,
                                  day=local_days.local_date(as_utc(row.decided_at), zone),
                                  agent_code=row.agent_code, points=row.points,
                                  settlement=row.settlement, commission=json.loads(row.shares))
             for row in rows]
    levels = {code: agent.level for code, agent in load_network(conn).items()}
    return rules.month_report(lines, levels, month_text)
