"""The `agents` table as a network of `agents.Agent` values, and the operator's changes to it.

Every change loads the whole network, asks agents/ whether the change keeps it valid (`added`,
`moved`, `with_status`, `import_agents`) and only then writes, in one transaction; so the table
holds only networks the rules accept.  Networks are a few thousand rows: loading one is cheap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

import agents as rules
from gateway.store.tables_agents import agents as agents_table


def load_network(conn: Connection) -> dict[str, rules.Agent]:
    rows = conn.execute(select(agents_table).order_by(agents_table.c.id)).all()
    return {row.code: _agent(row) for row in rows}


def _agent(row) -> rules.Agent:
    return rules.Agent(code=row.code, msisdn=row.msisdn, name=row.name, location=row.location,
                       level=rules.Level(row.level), parent=row.parent,
                       status=rules.Status(row.status), pin_hash=row.pin_hash)


def agent_row_by_msisdn(conn: Connection, msisdn: str):
    """The agent (not closed) whose phone this is, or None."""
    return conn.execute(select(agents_table).where(
        agents_table.c.msisdn == msisdn, agents_table.c.status != rules.Status.CLOSED.value)).first()


def add(conn: Connection, agent: rules.Agent, now: datetime) -> None:
    """Add one agent; `agents.NetworkError` if the network would break a rule."""
    rules.added(load_network(conn), agent)
    _insert(conn, [agent], now)


def import_csv(conn: Connection, data: str | bytes, normalize, now: datetime) -> rules.ImportResult:
    """All the file's agents, or every bad row by line and nothing written."""
    result = rules.import_agents(data, normalize, load_network(conn))
    if result.ok:
        _insert(conn, result.agents, now)
    return result


def set_status(conn: Connection, code: str, status: rules.Status, now: datetime) -> None:
    rules.with_status(load_network(conn), code, status)
    _update(conn, code, now, status=status.value)


def move(conn: Connection, code: str, parent: str, now: datetime) -> None:
    rules.moved(load_network(conn), code, parent)
    _update(conn, code, now, parent=parent)


def _insert(conn: Connection, new: list[rules.Agent] | tuple[rules.Agent, ...], now: datetime) -> None:
    if new:
        conn.execute(insert(agents_table), [dict(
            code=a.code, msisdn=a.msisdn, name=a.name, location=a.location, level=a.level.value,
            parent=a.parent, status=a.status.value, pin_hash=a.pin_hash, pin_failures=0,
            created_at=now, updated_at=now) for a in new])


def _update(conn: Connection, code: str, now: datetime, **values) -> None:
    conn.execute(update(agents_table).where(agents_table.c.code == code)
                 .values(updated_at=now, **values))
