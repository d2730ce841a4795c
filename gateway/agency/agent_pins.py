"""AGPIN: an agent sets (``AGPIN <new>``) or changes (``AGPIN <old> <new>``) the PIN RDM asks for.

The PIN is stored only as an argon2 hash on the agent's row, beside the wrong-PIN streak that RDM
keeps (`agents.PinState`): a wrong old PIN here counts in the same streak, so guessing through
AGPIN locks the agent out exactly as guessing through RDM does, and a locked agent cannot change
its PIN until the lockout has run out.  Neither PIN is ever logged; the inbox keeps the message
with both masked (gateway/redaction.py masks every `pin` argument).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

import agents as rules
from gateway.agency import network
from gateway.agency.service import AgencyService, _minutes
from gateway.commands.agent_values import Refusal
from gateway.store.tables_agents import agents as agents_table
from ledger_client import as_utc

log = structlog.get_logger(__name__)

SET, CHANGED = "set", "changed"


def set_pin(service: AgencyService, conn: Connection, agent_msisdn: str, pin: str,
            new_pin: str | None, now: datetime) -> str | Refusal:
    """SET or CHANGED, or why not (not_agent, no_pin_yet, pin_old_needed, agent_locked,
    wrong_pin)."""
    found = network.agent_row_by_msisdn(conn, agent_msisdn)
    if found is None:
        return Refusal("not_agent")
    # Locked: two AGPINs (or an RDM) at once must not both count from the same streak.
    row = conn.execute(select(agents_table).where(agents_table.c.code == found.code)
                       .with_for_update()).one()
    if row.pin_hash is None:
        if new_pin is not None:          # "AGPIN 1234 5678" with nothing to change: ask again
            return Refusal("no_pin_yet")
        _store(service, conn, row.code, pin, now)
        log.info("agents.pin_set", agent=row.code)
        return SET
    if new_pin is None:
        return Refusal("pin_old_needed")
    state = rules.PinState(row.pin_failures, as_utc(row.pin_locked_until))
    if state.locked(now):
        return Refusal("agent_locked", {"minutes": _minutes(state.locked_until - now)})
    if not service.pin_matches(row.pin_hash, pin):
        moved = rules.pin_failed(state, service.settings.limits, now)
        conn.execute(update(agents_table).where(agents_table.c.code == row.code).values(
            pin_failures=moved.failures, pin_locked_until=moved.locked_until))
        log.info("agents.pin_wrong", agent=row.code, locked=moved.locked(now))
        return Refusal("wrong_pin")
    _store(service, conn, row.code, new_pin, now)
    log.info("agents.pin_changed", agent=row.code)
    return CHANGED


def _store(service: AgencyService, conn: Connection, code: str, pin: str, now: datetime) -> None:
    conn.execute(update(agents_table).where(agents_table.c.code == code).values(
        pin_hash=service.hasher.hash(str(pin)), pin_failures=0, pin_locked_until=None,
        updated_at=now))
