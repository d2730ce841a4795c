"""Two statement shapes of the batched hot paths, written per database.

`among` is ``column IN (values)``.  PostgreSQL gets ``column = ANY(:array)``:
one parameter, so the statement's text is the same whatever the batch size,
and psycopg prepares it on the server after five runs instead of the server
parsing each batch afresh (an IN list of 7 values and one of 8 are different
statements to it; the plan is made per run, gateway/store/db.py says why).  SQLite gets the plain expanding IN: it
parses in process, cheaply, and has no arrays.

`insert_ids` writes many rows and returns their new ids, in the order the
rows were given.  SQLAlchemy's own way (RETURNING with
``sort_by_parameter_order``) falls back to one INSERT per row on SQLite, and
on PostgreSQL writes one long statement whose text grows with the rows, which
psycopg converts afresh each time and the server never prepares.  Here
PostgreSQL gets ``INSERT .. SELECT FROM unnest(one array per column) WITH
ORDINALITY ORDER BY`` (a fixed text; serial ids are taken in that order, and
the ids RETURNING gives are sorted).  SQLite gets one executemany and the ids are worked
out: SQLite gives a new row one more than the largest rowid in the table,
and the transaction holds the write lock (BEGIN IMMEDIATE, gateway/store/db.py),
so the rows take consecutive ids in order, up to ``last_insert_rowid()``.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

__all__ = ["among", "insert_ids"]


def among(conn, column, values: Sequence):
    """The condition "``column`` is one of ``values``" for ``conn``'s database."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def insert_ids(conn, table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (dicts with the same keys) into ``table``, whose key is an integer
    ``id``; the new ids, in the order of ``rows``."""
    if len(rows) <= 1:          # the common case when the load is light: one statement
        return [conn.execute(insert(table).values(row)).inserted_primary_key[0] for row in rows]
    if conn.dialect.name == "postgresql":
        return _insert_unnest(conn, table, rows)
    conn.execute(insert(table), rows)
    last = conn.execute(select(func.last_insert_rowid())).scalar()
    return list(range(last - len(rows) + 1, last + 1))


def _insert_unnest(conn, table, rows: list[dict]) -> list[int]:
    names = tuple(rows[0])
    statement = _UNNEST.get((table.name, names))
    if statement is None:
        statement = _UNNEST[table.name, names] = _unnest_statement(table, names)
    written = conn.execute(statement, {f"rows_{name}": [row[name] for row in rows]
                                       for name in names}).scalars().all()
    return sorted(written)


_UNNEST: dict[tuple, object] = {}     # (table, columns) -> the statement, built once


def _unnest_statement(table, names: tuple[str, ...]):
    # One array per column, unnested in the order given: the statement's text is
    # the same for any number of rows (so it is prepared), and PostgreSQL takes
    # the serial ids in the order of the ORDER BY.
    arrays = [bindparam(f"rows_{name}", type_=ARRAY(table.c[name].type)) for name in names]
    given = func.unnest(*arrays).table_valued(*names, with_ordinality="n").render_derived()
    return (insert(table).from_select(names, select(*(given.c[name] for name in names))
                                      .order_by(given.c.n))
            .returning(table.c.id))
