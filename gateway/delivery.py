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
from typing import Iterable

import structlog
from sqlalchemy import and_, insert, or_, select, text, update

from gateway import receipts
from gateway.receipts import Receipt
from gateway.store import batching
from gateway.store.tables_mo import mt_deliveries, mt_segments, unmatched_receipts

log = structlog.get_logger(__name__)

_LOCK_KEY = 0x6A69666E72       # "jifnr": receipts and segments, one at a time
_NOT_AN_ID = ("", "-", "?")     # the sender's marks for a part not taken, or taken unnumbered


def lock(conn) -> None:
    """Serialise receipt matching with segment writing (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def record_submitted(conn, outbox_id: int, message_ids: list[str], now: datetime) -> None:
    """One MT's segments: `record_submitted_many` for one."""
    record_submitted_many(conn, [(outbox_id, message_ids, now)])


def record_submitted_many(conn, submitted: Iterable[tuple[int, list[str], datetime]]) -> None:
    """One segment row per submit_sm of each MT (outbox id, SMSC ids, when), then early receipts.

    A batch of MTs costs a few statements, not two per segment: the early
    receipts of all the segments are looked up at once (there are seldom
    any), then the segments written in one INSERT.
    """
    lock(conn)
    segments = [dict(outbox_id=outbox_id, part=part, message_id=message_id,
                     message_key=receipts.fold(message_id), submitted_at=at)
                for outbox_id, message_ids, at in submitted
                for part, message_id in enumerate(_clean_ids(message_ids), 1)
                if message_id not in _NOT_AN_ID]
    if not segments:
        return
    waiting = _early_receipts(conn, {segment["message_id"] for segment in segments})
    ids = batching.insert_ids(conn, mt_segments, segments)
    for segment, segment_id in zip(segments, ids):
        if waiting:
            _adopt_early_receipts(conn, segment_id, segment, waiting)


def _clean_ids(message_ids: list[str]) -> list[str]:
    return [(message_id or "").strip()[:64] for message_id in message_ids]


def _early_receipts(conn, message_ids: set[str]) -> list:
    """The unmatched receipts that may belong to any of ``message_ids``, oldest first."""
    keys = sorted({key for message_id in message_ids for key in receipts.submit_keys(message_id)})
    return conn.execute(select(unmatched_receipts).where(and_(
        unmatched_receipts.c.outbox_id.is_(None),
        or_(batching.among(conn, unmatched_receipts.c.message_key, keys),
            batching.among(conn, unmatched_receipts.c.alt_key, keys)),
    )).order_by(unmatched_receipts.c.id)).all()


def _adopt_early_receipts(conn, segment_id: int, segment: dict, waiting: list) -> None:
    """Apply to the segment the receipts in ``waiting`` that name it; they leave ``waiting``."""
    message_id, now = segment["message_id"], segment["submitted_at"]
    keys = set(receipts.submit_keys(message_id))
    for early in list(waiting):
        if early.message_key not in keys and early.alt_key not in keys:
            continue
        adapter = receipts.id_format(early.id_format)
        candidates = {k for key in (early.message_key, early.alt_key) if key
                      for k in adapter.keys(key)}
        if segment["message_key"] not in candidates:
            continue
        waiting.remove(early)
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
        batching.among(conn, mt_segments.c.message_key, keys))).all()
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
