"""The two bulk statements of a posting, written for each database, and `run`, which sends
them (and the posting's SAVEPOINT) straight to the driver.

A batch's journal rows go in with one INSERT and its accounts change with one UPDATE, whatever
the batch's size; on PostgreSQL the two are one statement, one round trip.  The SQL text is
fixed per shape, so psycopg prepares it after a few uses (`prepare_threshold`) and the server
parses it once (and plans it per run: gateway/store/db.py):

- one transfer (the usual posting: a redemption), PostgreSQL: scalar parameters in a VALUES
  list of one journal row and two accounts, which psycopg sends for a fraction of the cost of
  seventeen one-element arrays;
- more transfers, PostgreSQL: the rows as one JSON object of column arrays (``json_to_record``
  and ``unnest``), the same text for every batch, where a VALUES list of a hundred rows would
  be new text, parsed again each time;
- SQLite has no arrays: a VALUES list per batch size (cached), which costs it nothing
  comparable, and two statements, as it has no data-modifying WITH.
"""

from __future__ import annotations

import contextlib
import functools
import json
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ledger_client.schema import accounts, transfers as journal
from ledger_client.types import MAX_AMOUNT

#: The columns of a journal row, and their types in PostgreSQL.
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
    is one statement: the UPDATE reads the INSERT's RETURNING in the same snapshot.
    """
    count = len(rows["id"])
    if conn.dialect.name != "postgresql":
        created = _sqlite_insert(conn, rows, now)
        if changes is None or len(created) < count:
            return created, None
        return created, apply_changes(conn, changes)
    one = count == 1
    params = {**_params(rows, "", one), "now": now}
    if changes is None:
        return {row[0] for row in run(conn, _pg_statement("insert", one), params)}, None
    params.update(_params(changes, "c_", one), count=count)
    answer = run(conn, _pg_statement("post", one), params)
    created = {key for what, key in answer if what == "i"}
    changed = {int(key) for what, key in answer if what == "u"}
    return created, (changed if len(created) == count else None)


def apply_changes(conn: Connection, changes: dict[str, list]) -> set[int]:
    """Apply each account's change where its conditions hold; the ids that took it.

    ``changes`` holds the columns of `CHANGE`, accounts in ascending id order.
    """
    size = len(changes["id"])
    if conn.dialect.name == "postgresql":
        small = size == 2
        return {row[0] for row in run(conn, _pg_statement("apply", small),
                                      _params(changes, "c_", small))}
    flat = {f"{name}{i}": changes[name][i] for name in CHANGE for i in range(size)}
    return set(conn.execute(_sqlite_apply(size), flat).scalars())


def run(conn: Connection, statement: str, params: dict | None = None) -> list[tuple]:
    """The rows of ``statement`` (in the driver's parameter style) run on the driver's own
    cursor, in ``conn``'s transaction.

    SQLAlchemy's execution and result objects cost about 130 us of Python per statement, more
    than psycopg takes to send a prepared statement and read its answer, so a posting's own
    statements skip them.  What callers rely on is kept: an error is SQLAlchemy's `DBAPIError`
    (`IntegrityError`, `OperationalError` ...), a lost connection is invalidated, and the
    transaction is SQLAlchemy's (begun here if the caller has not, as autobegin would).
    """
    if not conn.in_transaction():
        conn.begin()
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if params is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []
    except conn.dialect.loaded_dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, raw, cursor)
        if lost:
            conn.invalidate(error)
        raise DBAPIError.instance(statement, params, error, conn.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost) from error
    finally:
        with contextlib.suppress(conn.dialect.loaded_dbapi.Error):    # gone with its connection
            cursor.close()


def _params(columns: dict[str, list], prefix: str, scalar: bool) -> dict:
    """The columns as parameters: one value per row and column (``scalar``), or one JSON
    text of them all, which the json module writes in C where psycopg dumps a list in Python
    (~3 ms for a batch of 100 as arrays, ~0.2 ms as JSON)."""
    if not scalar:
        return {prefix + "columns": json.dumps(columns)}
    return {f"{prefix}{name}{i}": value for name, values in columns.items()
            for i, value in enumerate(values)}


def _sqlite_insert(conn: Connection, rows: dict[str, list], now: datetime) -> set[str]:
    statement = (sqlite.insert(journal).on_conflict_do_nothing(index_elements=["id"])
                 .returning(journal.c.id))
    return set(conn.execute(statement, [
        {**{name: rows[name][i] for name in JOURNAL}, "created_at": now}
        for i in range(len(rows["id"]))]).scalars())


def _rows(columns: dict[str, str], prefix: str, scalar: bool, size: int) -> str:
    """Rows ``v`` of ``columns``: a VALUES list of ``size`` rows of one parameter per value
    (``scalar``), or any number of rows from one JSON object of column arrays."""
    names = ", ".join(columns)
    if scalar:
        values = ", ".join("(" + ", ".join(f"CAST(:{prefix}{name}{i} AS {kind})"
                                           for name, kind in columns.items()) + ")"
                           for i in range(size))
        return f"(VALUES {values}) AS v ({names})"
    arrays = ", ".join(f"{name} {kind}[]" for name, kind in columns.items())
    return (f"json_to_record(CAST(:{prefix}columns AS json)) AS a ({arrays}), "
            f"unnest({', '.join(f'a.{name}' for name in columns)}) AS v ({names})")


def _update(source: str, rows: str, where: str = "") -> str:
    """The accounts UPDATE: each row's change, only where its conditions hold.

    One of them is that no total passes 2^63-1, which PostgreSQL would fail the statement on
    and SQLite would turn into a float.  It is written ``delta <= MAX - total``: a total is
    never negative (the ``totals_positive`` check), so neither side can overflow, where
    ``total + delta <= MAX`` would overflow exactly when it matters.
    """
    table = accounts.name
    fits = "".join(f" AND v.{name} <= {MAX_AMOUNT} - {table}.{name}" for name in TOTALS)
    return (f"{source}UPDATE {table} SET "
            + ", ".join(f"{name} = {table}.{name} + v.{name}" for name in TOTALS)
            + f" FROM {rows} WHERE {where}{table}.id = v.id AND {table}.ledger = v.ledger"
            f" AND {table}.closed <= v.closed_ok{fits} AND ({table}.no_overdraft = 0 OR"
            f" {table}.credits_posted - {table}.debits_posted - {table}.debits_pending"
            f" >= v.dip) RETURNING {table}.id")


# A join may take the rows in any order: more than two accounts are locked in id order first,
# as every transaction does, so two batches over the same accounts queue instead of
# deadlocking.  One or two come from a VALUES list in id order, which the join follows.
_PG_LOCK = (f"l AS (SELECT id FROM {accounts.name} WHERE id = ANY(CAST((SELECT a.id FROM"
            " json_to_record(CAST(:c_columns AS json)) AS a (id INTEGER[])) AS INTEGER[]))"
            " ORDER BY id FOR UPDATE)")


@functools.lru_cache(maxsize=8)
def _pg_statement(what: str, scalar: bool) -> str:
    """PostgreSQL's "insert" (journal rows only), "apply" (account changes only) or "post"
    (both, the changes only if every journal row was new), for one transfer (``scalar``:
    exactly two accounts) or any number (JSON column arrays)."""
    insert = (f"INSERT INTO {journal.name} ({', '.join(JOURNAL)}, created_at) "
              f"SELECT {', '.join(f'v.{name}' for name in JOURNAL)}, :now "
              f"FROM {_rows(JOURNAL, '', scalar, 1)} ON CONFLICT (id) DO NOTHING RETURNING id")
    changes = _rows(CHANGE, "c_", scalar, 2)
    lock = "" if scalar else f"WITH {_PG_LOCK} "
    locked = "" if scalar else "(SELECT count(*) FROM l) >= 0 AND "
    if what == "insert":
        sql = insert
    elif what == "apply":
        sql = _update(lock, changes, locked)
    else:
        update = _update("", changes, f"(SELECT count(*) FROM i) = :count AND {locked}")
        sql = (f"WITH {'' if scalar else _PG_LOCK + ', '}i AS ({insert}), u AS ({update}) "
               "SELECT 'i', id FROM i UNION ALL SELECT 'u', CAST(id AS VARCHAR) FROM u")
    return str(text(sql).compile(dialect=psycopg.dialect()))     # with psycopg's %(name)s


@functools.lru_cache(maxsize=128)
def _sqlite_apply(n: int) -> TextClause:
    rows = ["(" + ", ".join(f":{name}{i}" for name in CHANGE) + ")" for i in range(n)]
    return text(_update(f"WITH v ({', '.join(CHANGE)}) AS (VALUES {', '.join(rows)}) ", "v"))
