"""The outbox's two hot statements: claim a batch of due MTs, record a batch of outcomes.

A sender *claims* queued rows by writing its claim token and a lease end
into them, in one UPDATE whose WHERE skips rows another claim still holds;
on PostgreSQL the inner SELECT also takes ``FOR UPDATE SKIP LOCKED``, so
processes claiming at the same instant pass each other by instead of
queueing.  A lease that runs out (its process died) makes the row claimable
again: at-least-once, never lost.

Outcomes are written in one transaction per batch, each kind in one
statement: an executemany, or on PostgreSQL an UPDATE from arrays of the
batch's values (one round trip, and a text that stays the same).  "Submitted" is written
whatever the lease says (the SMSC took the message: that is a fact), every
other outcome only while the writer's claim still holds, so a sender whose
lease ran out can never undo the claim of the one that took over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from gateway.store.models import outbox

__all__ = ["claim", "record", "NOT_TAKEN"]

#: The smsc_message_ids placeholder of a segment the SMSC has not taken yet.
NOT_TAKEN = "-"

_FIELDS = ("state", "attempts", "next_attempt_at", "error", "smsc_message_ids", "submitted_at")


def claim(conn, short_codes: Sequence[str], now: datetime, token: str, until: datetime,
          limit: int) -> list:
    """Claim up to ``limit`` due queued rows from ``short_codes``, oldest first."""
    # A CTE, not "WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)": PostgreSQL
    # may run such a subquery more than once, and SKIP LOCKED then finds new rows each
    # time, claiming past the limit.  A CTE with FOR UPDATE is run once.
    due = (select(outbox.c.id).where(
        outbox.c.state == "queued", outbox.c.next_attempt_at <= now,
        outbox.c.source_addr.in_(short_codes),
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now))
        .order_by(outbox.c.id).limit(limit).with_for_update(skip_locked=True)
        .cte("due"))
    rows = conn.execute(update(outbox).where(outbox.c.id == due.c.id)
                        .values(claimed_by=token, claimed_until=until)
                        .returning(*outbox.c)).all()
    return sorted(rows, key=lambda row: row.id)


_SET = {name: bindparam(f"new_{name}") for name in _FIELDS}
_TAKEN = (update(outbox).where(outbox.c.id == bindparam("row_id"))
          .values(claimed_by=None, claimed_until=None, **_SET))
_HELD = (update(outbox).where(and_(outbox.c.id == bindparam("row_id"),
                                   outbox.c.claimed_by == bindparam("token")))
         .values(claimed_by=None, claimed_until=None, **_SET))


def _unnested(held: bool):
    """`_TAKEN` or `_HELD` for PostgreSQL: every row's values in one array per column."""
    names = ["row_id", *(f"new_{name}" for name in _FIELDS)] + (["token"] if held else [])
    types = dict(row_id=outbox.c.id.type, token=outbox.c.claimed_by.type,
                 **{f"new_{name}": outbox.c[name].type for name in _FIELDS})
    given = (func.unnest(*(bindparam(name, type_=ARRAY(types[name])) for name in names))
             .table_valued(*names).render_derived(name="given"))
    match = [outbox.c.id == given.c.row_id]
    if held:
        match.append(outbox.c.claimed_by == given.c.token)
    return (update(outbox).where(*match)
            .values(claimed_by=None, claimed_until=None,
                    **{name: given.c[f"new_{name}"] for name in _FIELDS}))


_UNNESTED = {False: _unnested(False), True: _unnested(True)}


def _update(conn, rows: list[dict], held: bool) -> None:
    # PostgreSQL: one statement of fixed text, not one per row (psycopg's executemany
    # pipelines them, but pays for each); a row twice in a batch keeps them in order.
    if conn.dialect.name != "postgresql" or len({row["row_id"] for row in rows}) < len(rows):
        conn.execute(_HELD if held else _TAKEN, rows)
        return
    conn.execute(_UNNESTED[held], {name: [row[name] for row in rows] for name in rows[0]})


def record(conn, outcomes: Iterable[dict]) -> None:
    """Write outcomes: dicts of row_id, token and every name in ``_FIELDS``."""
    taken, held = [], []
    for outcome in outcomes:
        values = {f"new_{name}": outcome[name] for name in _FIELDS}
        values["row_id"] = outcome["row_id"]
        if outcome["state"] == "submitted":
            taken.append(values)
        else:
            held.append(dict(values, token=outcome["token"]))
    if taken:
        _update(conn, taken, held=False)
        # The segments receipts are matched against, in the same transaction.
        from gateway.delivery import record_submitted_many
        record_submitted_many(conn, [
            (values["row_id"], (values["new_smsc_message_ids"] or "").split(" "),
             values["new_submitted_at"]) for values in taken])
    if held:
        _update(conn, held, held=True)
