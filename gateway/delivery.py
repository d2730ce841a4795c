"""Delivery receipts applied to MTs: segments, statuses, and receipts that match nothing.

Database functions, called inside a transaction on the database thread: the
sender's `record_submitted` writes one `mt_segments` row per submit_sm the
SMSC took; the inbox's `record_receipt` finds the segment a receipt names and
moves its status forward (never back: `receipts.supersedes`), then the MT's
status in `mt_deliveries` (`receipts.message_status`).

A receipt that names no segment is kept in `unmatched_receipts` and logged.
SMSCs do send a receipt before the submit_sm_resp it belongs to, so
`record_submitted` looks there for early receipts of each new segment.  Both
sides take one PostgreSQL advisory lock first, or a receipt committed while
its segment is being written could be missed by both.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import and_, insert, or_, select, text, update

from gateway import receipts
from gateway.receipts import Receipt
from gateway.store.tables_mo import mt_deliveries, mt_segments, unmatched_receipts

log = structlog.get_logger(__name__)

_LOCK_KEY = 0x6A69666E72       # "jifnr": receipts and segments, one at a time
_NOT_AN_ID = ("", "-", "?")     # the sender's marks for a part not taken, or taken unnumbered


def lock(conn) -> None:
    """Serialise receipt matching with segment writing (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def record_submitted(conn, outbox_id: int, message_ids: list[str], now: datetime) -> None:
    """One segment row per submit_sm of an MT, then any receipt that came early."""
    lock(conn)
    for part, message_id in enumerate(message_ids, 1):
        message_id = (message_id or "").strip()[:64]
        if message_id in _NOT_AN_ID:
            continue
        segment_id = conn.execute(insert(mt_segments).values(
            outbox_id=outbox_id, part=part, message_id=message_id,
            message_key=receipts.fold(message_id), submitted_at=now)).inserted_primary_key[0]
        _adopt_early_receipts(conn, segment_id, message_id, now)


def _adopt_early_receipts(conn, segment_id: int, message_id: str, now: datetime) -> None:
    keys = receipts.submit_keys(message_id)
    waiting = conn.execute(select(unmatched_receipts).where(and_(
        unmatched_receipts.c.outbox_id.is_(None),
        or_(unmatched_receipts.c.message_key.in_(keys), unmatched_receipts.c.alt_key.in_(keys)),
    )).order_by(unmatched_receipts.c.id)).all()
    for early in waiting:
        adapter = receipts.id_format(early.id_format)
        candidates = {k for key in (early.message_key, early.alt_key) if key
                      for k in adapter.keys(key)}
        if receipts.fold(message_id) not in candidates:
            continue
        outbox_id = _apply(conn, segment_id, early.status, early.error, now)
        conn.execute(update(unmatched_receipts).where(unmatched_receipts.c.id == early.id)
                     .values(outbox_id=outbox_id, matched_at=now))
        log.info("receipt.matched_late", receipt_id=early.id, outbox_id=outbox_id,
                 smsc_message_id=message_id)


def record_receipt(conn, bind: str, id_format: str, receipt: Receipt, now: datetime) -> None:
    """Apply ``receipt`` to the segment it names, or keep it as unmatched."""
    adapter = receipts.id_format(id_format)
    keys = list(dict.fromkeys(k for mid in receipt.message_ids for k in adapter.keys(mid)))
    found = conn.execute(select(mt_segments.c.id, mt_segments.c.message_key).where(
        mt_segments.c.message_key.in_(keys))).all()
    if not found:
        folded = [receipts.fold(mid) for mid in receipt.message_ids]
        conn.execute(insert(unmatched_receipts).values(
            bind=bind, id_format=id_format, message_key=folded[0][:64],
            alt_key=folded[1][:64] if len(folded) > 1 else None,
            status=receipt.status, error=receipt.error, reason="no MT with this id",
            received_at=now))
        log.warning("receipt.unmatched", bind=bind, smsc_message_ids=list(receipt.message_ids),
                    status=receipt.status)
        return
    # The plain reading before a converted one; among equals, the newest MT.
    best = min(found, key=lambda row: (keys.index(row.message_key), -row.id))
    _apply(conn, best.id, receipt.status, receipt.error, now)


def record_unreadable(conn, bind: str, id_format: str, problem: str, now: datetime) -> None:
    """Keep the fact of a receipt that could not be read (not its text: it quotes the MT)."""
    conn.execute(insert(unmatched_receipts).values(
        bind=bind, id_format=id_format, reason=problem[:80], received_at=now))
    log.warning("receipt.unreadable", bind=bind, reason=problem)


def _apply(conn, segment_id: int, status: str | None, error: str | None,
           now: datetime) -> int:
    """Move one segment's status forward and recompute its MT's; returns the outbox id."""
    segment = conn.execute(select(mt_segments).where(mt_segments.c.id == segment_id)).one()
    if not receipts.supersedes(status, segment.status):
        log.info("receipt.ignored", outbox_id=segment.outbox_id, part=segment.part,
                 status=status, kept=segment.status)
        return segment.outbox_id
    conn.execute(update(mt_segments).where(mt_segments.c.id == segment_id).values(
        status=status, error=error, status_at=now))
    statuses = conn.execute(select(mt_segments.c.status).where(
        mt_segments.c.outbox_id == segment.outbox_id).order_by(mt_segments.c.part)).scalars()
    overall = receipts.message_status(list(statuses))
    changed = conn.execute(update(mt_deliveries).where(
        mt_deliveries.c.outbox_id == segment.outbox_id).values(status=overall, updated_at=now))
    if changed.rowcount == 0:
        conn.execute(insert(mt_deliveries).values(outbox_id=segment.outbox_id, status=overall,
                                                  updated_at=now))
    log.info("receipt.recorded", outbox_id=segment.outbox_id, part=segment.part,
             status=status, message_status=overall)
    return segment.outbox_id


def delivery_status(conn, outbox_id: int) -> str | None:
    """The recorded delivery status of an MT (None: no receipt yet)."""
    return conn.execute(select(mt_deliveries.c.status).where(
        mt_deliveries.c.outbox_id == outbox_id)).scalar()
