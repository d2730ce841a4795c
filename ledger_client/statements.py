"""The two bulk statements of a posting, written for each database.

A batch's journal rows go in with one INSERT and its accounts change with one UPDATE, whatever
the batch's size; on PostgreSQL the two are one statement.  On PostgreSQL both take their rows as arrays (``unnest``), so the SQL text
is the same for every batch: psycopg and the server parse and plan it once, where a VALUES
list of a hundred rows would be new text, parsed again, every time.  SQLite has no arrays; a
VALUES list per batch size (cached) costs it nothing comparable.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import TextClause, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from ledger_client.schema import accounts, transfers as journal

#: The columns of a journal row, and their types as PostgreSQL arrays.
JOURNAL = {"id": "VARCHAR", "ledger": "VARCHAR", "debit_account_id": "INTEGER",
           "credit_account_id": "INTEGER", "amount": "BIGINT", "code": "VARCHAR",
           "kind": "VARCHAR", "pending_id": "VARCHAR", "reference": "VARCHAR"}

#: What each account's change carries: which account, its ledger, whether it may be closed,
#: the least available balance it needs, and the four totals' deltas.
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
CHANGE = {"id": "INTEGER", "ledger": "VARCHAR", "closed_ok": "INTEGER", "dip": "BIGINT",
          **{name: "BIGINT" for name in TOTALS}}


def post(conn: Connection, rows: dict[str, list], changes: dict[str, list] | None,
         now: datetime) -> tuple[set[str], set[int] | None]:
    """Insert the journal rows whose ids are new and, only if all were, apply ``changes``.

    (the ids inserted, the accounts that took their change), or (ids, None) when some id was
    there before, or there were no ``changes``, and no total was touched.  On PostgreSQL it
    is one statement: the UPDATE reads the INSERT's RETURNING in the same snapshot, which
    saves a round trip per posting.
    """
    count = len(rows["id"])
    if changes is None:
        created = (set(conn.execute(text(_PG_INSERT), {**rows, "now": now}).scalars())
                   if conn.dialect.name == "postgresql" else _sqlite_insert(conn, rows, now))
        return created, None
    if conn.dialect.name != "postgresql":
        created = _sqlite_insert(conn, rows, now)
        return created, (apply_changes(conn, changes) if len(created) == count else None)
    _lock_in_order(conn, changes["id"])
    answer = conn.execute(_PG_POST, {**rows, **{f"c_{k}": v for k, v in changes.items()},
                                     "now": now, "count": count}).all()
    created = {key for what, key in answer if what == "i"}
    changed = {int(key) for what, key in answer if what == "u"}
    return created, (changed if len(created) == count else None)


def _sqlite_insert(conn: Connection, rows: dict[str, list], now: datetime) -> set[str]:
    statement = (sqlite.insert(journal).on_conflict_do_nothing(index_elements=["id"])
                 .returning(journal.c.id))
    return set(conn.execute(statement, [
        {**{name: rows[name][i] for name in JOURNAL}, "created_at": now}
        for i in range(len(rows["id"]))]).scalars())


def apply_changes(conn: Connection, changes: dict[str, list]) -> set[int]:
    """Apply each account's change where its conditions hold; the ids that took it.

    ``changes`` holds the columns of `CHANGE`, accounts in ascending id order.
    """
    ids = changes["id"]
    if conn.dialect.name == "postgresql":
        _lock_in_order(conn, ids)
        return set(conn.execute(_PG_APPLY, changes).scalars())
    flat = {f"{name}{i}": changes[name][i] for name in CHANGE for i in range(len(ids))}
    return set(conn.execute(_sqlite_apply(len(ids)), flat).scalars())


def _lock_in_order(conn: Connection, ids: list[int]) -> None:
    """A join may take the rows in any order: lock them in id order first, as every
    transaction does, so two batches over the same accounts queue instead of deadlocking."""
    if len(ids) > 2:
        conn.execute(select(accounts.c.id).where(accounts.c.id.in_(ids))
                     .order_by(accounts.c.id).with_for_update())


def _unnest(columns: dict[str, str], prefix: str = "") -> str:
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind}[])" for name, kind in columns.items())
    return f"unnest({arrays}) AS v ({', '.join(columns)})"


_PG_INSERT = (
    f"INSERT INTO {journal.name} ({', '.join(JOURNAL)}, created_at) "
    f"SELECT {', '.join(f'v.{name}' for name in JOURNAL)}, :now FROM {_unnest(JOURNAL)} "
    "ON CONFLICT (id) DO NOTHING RETURNING id")


def _update(source: str, where: str = "") -> str:
    table = accounts.name
    return (f"{source}UPDATE {table} SET "
            + ", ".join(f"{name} = {table}.{name} + v.{name}" for name in TOTALS)
            + f" FROM {{v}} WHERE {where}{table}.id = v.id AND {table}.ledger = v.ledger"
            f" AND {table}.closed <= v.closed_ok AND ({table}.no_overdraft = 0 OR"
            f" {table}.credits_posted - {table}.debits_posted - {table}.debits_pending"
            f" >= v.dip) RETURNING {table}.id")


_PG_APPLY = text(_update("").format(v=_unnest(CHANGE)))
_PG_POST = text(
    f"WITH i AS ({_PG_INSERT}), "
    f"u AS ({_update('', '(SELECT count(*) FROM i) = :count AND ').format(v=_unnest(CHANGE, 'c_'))}) "
    "SELECT 'i', id FROM i UNION ALL SELECT 'u', CAST(id AS VARCHAR) FROM u")


@functools.lru_cache(maxsize=128)
def _sqlite_apply(n: int) -> TextClause:
    rows = ["(" + ", ".join(f":{name}{i}" for name in CHANGE) + ")" for i in range(n)]
    return text(_update(f"WITH v ({', '.join(CHANGE)}) AS (VALUES {', '.join(rows)}) ")
                .format(v="v"))
