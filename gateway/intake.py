"""What one batch of deliver_sm does to the database, and the sweep of parts that never completed.

`take` runs inside the inbox's batch transaction, on the database thread: for
each arrival (`Whole`, `PartArrival`, `ReceiptArrival`, built by
`pipeline.Inbox` on the reactor) it writes what must be safe before the
deliver_sm_resp goes out, and returns the inbox row that the processor should
run, if any.  `sweep` turns parts that stopped coming into "incomplete"
messages.  The inbox runs both one at a time, so two parts of one message
never race to be the last.

A redelivery (the same text as the sender's latest MO to that short code,
within the window) is written like any MO, with ``duplicate_of`` naming the first: the processor
then answers it with copies of that MO's replies (`copy_replies`), so it is
never run twice yet its sender is never left without an answer.  "The same
text" is compared by keyed digest (gateway/redaction.py), as the stored text
loses its PINs once the MO has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, delete, func, insert, select, update

from gateway import delivery, reassembly, redaction
from gateway.reassembly import Part, StoredPart
from gateway.receipts import Receipt
from gateway.smpp import text as sms_text
from gateway.store.models import inbox, outbox
from gateway.store.tables_mo import mo_parts
from ledger_client import as_utc

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Whole:
    """A whole MO: ``row`` is its inbox row (kind, text, addresses ...)."""

    row: dict


@dataclass(frozen=True)
class PartArrival:
    """One part of a concatenated MO, its body still bytes."""

    bind: str
    source_addr: str
    destination_addr: str
    part: Part
    data_coding: int
    body: bytes
    default_alphabet: str


@dataclass(frozen=True)
class ReceiptArrival:
    """A delivery receipt, or (``receipt`` None) why it could not be read."""

    bind: str
    id_format: str
    receipt: Receipt | None
    problem: str = ""


def take(conn, arrivals: list, now: datetime, window: timedelta,
         digest_key: bytes | None = None) -> list[int | None]:
    """Write a batch; per arrival, the new inbox row to process (None: nothing to run).

    ``digest_key`` keys each MO's digest (gateway/redaction.py), by which redeliveries are found;
    None: the database's own.
    """
    if any(isinstance(a, ReceiptArrival) for a in arrivals):
        delivery.lock(conn)
    digest_key = digest_key or redaction.stored_key(conn)
    return [_take_one(conn, arrival, now, window, digest_key) for arrival in arrivals]


def _take_one(conn, arrival, now: datetime, window: timedelta, digest_key: bytes) -> int | None:
    if isinstance(arrival, ReceiptArrival):
        if arrival.receipt is None:
            delivery.record_unreadable(conn, arrival.bind, arrival.id_format, arrival.problem, now)
        else:
            delivery.record_receipt(conn, arrival.bind, arrival.id_format, arrival.receipt, now)
        return None
    if isinstance(arrival, PartArrival):
        return _take_part(conn, arrival, now, window, digest_key)
    return _take_message(conn, arrival.row, now, window, digest_key)


def _take_message(conn, row: dict, now: datetime, window: timedelta,
                  digest_key: bytes) -> int:
    row = dict(row, text_digest=redaction.digest(digest_key, row["kind"], row["text"]))
    original = _redelivery_of(conn, row, now, window) if window > timedelta(0) else None
    inbox_id = conn.execute(insert(inbox).values(
        **row, state="received", received_at=now, duplicate_of=original,
    )).inserted_primary_key[0]
    if original is not None:
        log.info("mo.redelivered", message_id=inbox_id, original_id=original)
    return inbox_id


def _key(source_addr: str, destination_addr: str, reference: int, total: int) -> list:
    """The conditions that pick out the parts of one message."""
    return [mo_parts.c.source_addr == source_addr,
            mo_parts.c.destination_addr == destination_addr,
            mo_parts.c.reference == reference, mo_parts.c.total == total]


def _redelivery_of(conn, row: dict, now: datetime, window: timedelta) -> int | None:
    """The MO that ``row`` repeats, if it is a redelivery.

    Only a repeat of the phone's *latest* MO to this short code counts: an
    SMSC retries the message whose answer it lost before it moves on, while
    "BAL", "LANG SW", "BAL" from a member is three questions, and the last
    must see the new language (and a new balance after a redemption).
    """
    # By digest, not text: the text of a command with a PIN is masked once it has run.
    latest = conn.execute(select(inbox.c.id, inbox.c.text_digest,
                                 inbox.c.duplicate_of).where(and_(
        inbox.c.source_addr == row["source_addr"],
        inbox.c.destination_addr == row["destination_addr"],
        inbox.c.received_at >= now - window,
    )).order_by(inbox.c.id.desc()).limit(1)).first()
    if latest is None or latest.text_digest != row["text_digest"]:
        return None
    if latest.duplicate_of is None:
        return latest.id
    # The window counts from the first delivery, so retries cannot stretch it.
    first_at = conn.execute(select(inbox.c.received_at).where(
        inbox.c.id == latest.duplicate_of)).scalar()
    return latest.duplicate_of if as_utc(first_at) >= now - window else None


def _take_part(conn, arrival: PartArrival, now: datetime, window: timedelta,
               digest_key: bytes) -> int | None:
    part = arrival.part
    key = _key(arrival.source_addr, arrival.destination_addr, part.reference, part.total)
    known = conn.execute(select(mo_parts.c.sequence, mo_parts.c.inbox_id).where(and_(*key))).all()
    fields = dict(bind=arrival.bind, reference=part.reference, total=part.total,
                  sequence=part.sequence)
    if any(row.inbox_id is not None for row in known) or part.sequence in {r.sequence for r in known}:
        # Its message is already whole (or given up on): a redelivery, or a straggler.
        log.info("mo.part_ignored", **fields)
        return None
    conn.execute(insert(mo_parts).values(
        source_addr=arrival.source_addr, destination_addr=arrival.destination_addr,
        data_coding=arrival.data_coding, body=arrival.body, received_at=now, **fields))
    if len(known) + 1 < part.total:
        log.info("mo.part_stored", have=len(known) + 1, **fields)
        return None
    parts = _stored(conn, key)
    try:
        kind, text = "text", reassembly.assemble(parts, arrival.default_alphabet)
    except sms_text.TextError as error:
        kind, text = "unreadable", ""
        log.info("mo.unreadable", bind=arrival.bind, reason=str(error))
    inbox_id = _take_message(conn, dict(
        bind=arrival.bind, source_addr=arrival.source_addr,
        destination_addr=arrival.destination_addr, text=text,
        data_coding=parts[0].data_coding, kind=kind), now, window, digest_key)
    _close(conn, key, inbox_id)
    log.info("mo.parts_joined", message_id=inbox_id, **fields)
    return inbox_id


def _stored(conn, key) -> list[StoredPart]:
    rows = conn.execute(select(mo_parts.c.sequence, mo_parts.c.data_coding, mo_parts.c.body)
                        .where(and_(*key, mo_parts.c.inbox_id.is_(None)))
                        .order_by(mo_parts.c.sequence)).all()
    return [StoredPart(r.sequence, r.data_coding, bytes(r.body)) for r in rows]


def _close(conn, key, inbox_id: int) -> None:
    # The bodies go: the message (masked once it has run) is in the inbox now, and a PIN
    # must not outlive it here.  The rows stay a while to recognise a redelivered part.
    conn.execute(update(mo_parts).where(and_(*key, mo_parts.c.inbox_id.is_(None)))
                 .values(inbox_id=inbox_id, body=b""))


def sweep(conn, now: datetime, timeout: timedelta, keep: timedelta,
          alphabets: dict[str, str]) -> list[int]:
    """Close messages whose parts stopped coming ``timeout`` ago; forget old closed parts.

    Each closed message becomes an inbox row of kind "incomplete" (its text
    what did arrive, for the record), which the processor answers.  Closed
    parts are kept for ``keep`` so that a redelivered part is still known.
    """
    group = (mo_parts.c.source_addr, mo_parts.c.destination_addr, mo_parts.c.reference,
             mo_parts.c.total)
    stale = conn.execute(select(*group, func.min(mo_parts.c.bind).label("bind"))
                         .where(mo_parts.c.inbox_id.is_(None)).group_by(*group)
                         .having(func.max(mo_parts.c.received_at) < now - timeout)).all()
    closed = [_give_up(conn, row, now, alphabets) for row in stale]
    conn.execute(delete(mo_parts).where(and_(
        mo_parts.c.inbox_id.is_not(None), mo_parts.c.received_at < now - keep)))
    return closed


def _give_up(conn, row, now: datetime, alphabets: dict[str, str]) -> int:
    key = _key(row.source_addr, row.destination_addr, row.reference, row.total)
    parts = _stored(conn, key)
    text = reassembly.assemble(parts, alphabets.get(row.bind, "gsm7"), partial=True)
    inbox_id = conn.execute(insert(inbox).values(
        bind=row.bind, source_addr=row.source_addr, destination_addr=row.destination_addr,
        text=text, data_coding=parts[0].data_coding, kind="incomplete", state="received",
        received_at=now)).inserted_primary_key[0]
    _close(conn, key, inbox_id)
    log.info("mo.incomplete", message_id=inbox_id, reference=row.reference, total=row.total,
             missing=reassembly.missing([p.sequence for p in parts], row.total))
    return inbox_id


def copy_replies(conn, original_id: int, duplicate, now: datetime) -> int:
    """Queue again what MO ``original_id`` answered its sender, as replies to ``duplicate``.

    Only replies to the sender: a message the original sent someone else
    (another party to a command) is not theirs to receive twice.
    """
    replies = conn.execute(select(outbox).where(and_(
        outbox.c.inbox_id == original_id,
        outbox.c.destination_addr == duplicate.source_addr)).order_by(outbox.c.id)).all()
    for n, reply in enumerate(replies):
        conn.execute(insert(outbox).values(
            idempotency_key=f"mo:{duplicate.id}:{n}", inbox_id=duplicate.id,
            source_addr=reply.source_addr, destination_addr=reply.destination_addr,
            text=reply.text, language=reply.language, state="queued", attempts=0,
            created_at=now, next_attempt_at=now))
    return len(replies)
