"""What one batch of deliver_sm does to the database, and the sweep of parts that never completed.

`take` runs inside the inbox's batch transaction, on the database thread: for
each arrival (`Whole`, `PartArrival`, `ReceiptArrival`, built by
`pipeline.Inbox` on the reactor) it writes what must be safe before the
deliver_sm_resp goes out, and returns the inbox row that the processor should
run, if any.  At load a batch holds tens of MOs, so their statements are
batched too: one query reads every sender's latest MO, one INSERT writes the
new inbox rows (`_Batch`).  `sweep` turns parts that stopped coming into "incomplete"
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
from gateway.store import batching
from gateway.store.models import inbox, outbox
from gateway.store.tables_mo import mo_parts, unmatched_receipts
from ledger_client import as_utc

log = structlog.get_logger(__name__)

#: How long a delivery receipt that matched no MT is kept (`sweep`).
UNMATCHED_RECEIPTS_KEPT = timedelta(days=7)


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
    batch = _Batch(conn, arrivals, now, window, digest_key or redaction.stored_key(conn))
    taken = [_take_one(batch, arrival) for arrival in arrivals]
    batch.flush()
    return [new.id if isinstance(new, _New) else new for new in taken]


def _take_one(batch: "_Batch", arrival):
    if isinstance(arrival, ReceiptArrival):
        if arrival.receipt is None:
            delivery.record_unreadable(batch.conn, arrival.bind, arrival.id_format,
                                       arrival.problem, batch.now)
        else:
            delivery.record_receipt(batch.conn, arrival.bind, arrival.id_format,
                                    arrival.receipt, batch.now)
        return None
    if isinstance(arrival, PartArrival):
        return _take_part(batch, arrival)
    return batch.message(arrival.row)


@dataclass(eq=False)
class _New:
    """An inbox row: ``id`` is None until the batch writes it (`_Batch.flush`)."""

    row: dict | None
    id: int | None = None


@dataclass(frozen=True)
class _Latest:
    """A phone's latest MO to a short code within the window, as far as redelivery asks."""

    message: _New
    text_digest: str | None
    duplicate_of: int | None
    first_at: datetime              # when its text first came: its own time, or its original's


class _Batch:
    """One `take`'s MOs: the senders' latest MOs read in one query, the new rows written in one.

    Each MO is judged against its sender's latest, which may be one earlier in
    the same batch: the rows are held back (`message`) and written together
    (`flush`), except that a repeat of a held row writes the rows held so far
    first, because it must name its original's id.
    """

    def __init__(self, conn, arrivals: list, now: datetime, window: timedelta, digest_key: bytes):
        self.conn, self.now, self.window, self._key = conn, now, window, digest_key
        self._held: list[_New] = []
        senders = {_sender(a) for a in arrivals if not isinstance(a, ReceiptArrival)}
        self._latest = (_latest(conn, senders, now - window)
                        if senders and window > timedelta(0) else {})

    def message(self, row: dict) -> _New:
        """Hold ``row`` (kind, text, addresses ...) to be written as a new inbox row."""
        digest = redaction.digest(self._key, row["kind"], row["text"])
        pair = (row["source_addr"], row["destination_addr"])
        original = self._original_of(pair, digest) if self.window > timedelta(0) else None
        new = _New(dict(row, text_digest=digest, state="received", received_at=self.now,
                        duplicate_of=original))
        self._held.append(new)
        first_at = self.now if original is None else self._latest[pair].first_at
        self._latest[pair] = _Latest(new, digest, original, first_at)
        return new

    def _original_of(self, pair: tuple, digest: str) -> int | None:
        """The MO that one with ``digest`` from ``pair`` repeats, if it is a redelivery.

        Only a repeat of the phone's *latest* MO to this short code counts: an
        SMSC retries the message whose answer it lost before it moves on, while
        "BAL", "LANG SW", "BAL" from a member is three questions, and the last
        must see the new language (and a new balance after a redemption).
        """
        # By digest, not text: the text of a command with a PIN is masked once it has run.
        latest = self._latest.get(pair)
        if latest is None or latest.text_digest != digest:
            return None
        if latest.duplicate_of is not None:
            # The window counts from the first delivery, so retries cannot stretch it.
            return latest.duplicate_of if latest.first_at >= self.now - self.window else None
        if latest.message.id is None:
            self.flush()
        return latest.message.id

    def flush(self) -> None:
        """Write the rows held, in one statement, in the order they came."""
        if not self._held:
            return
        held, self._held = self._held, []
        ids = batching.insert_ids(self.conn, inbox, [new.row for new in held])
        for new, inbox_id in zip(held, ids):
            new.id = inbox_id
            if new.row["duplicate_of"] is not None:
                log.info("mo.redelivered", message_id=inbox_id,
                         original_id=new.row["duplicate_of"])


def _sender(arrival) -> str:
    return arrival.row["source_addr"] if isinstance(arrival, Whole) else arrival.source_addr


_FIRST = inbox.alias("first")      # a duplicate's original, for when its window began


def _latest(conn, senders: set[str], since: datetime) -> dict[tuple, _Latest]:
    """Each sender's latest MO to each short code since ``since``, by (sender, short code)."""
    newest = (select(func.max(inbox.c.id))
              .where(batching.among(conn, inbox.c.source_addr, sorted(senders)),
                     inbox.c.received_at >= since)
              .group_by(inbox.c.source_addr, inbox.c.destination_addr))
    rows = conn.execute(
        select(inbox.c.id, inbox.c.source_addr, inbox.c.destination_addr, inbox.c.text_digest,
               inbox.c.duplicate_of, inbox.c.received_at, _FIRST.c.received_at.label("first_at"))
        .outerjoin(_FIRST, _FIRST.c.id == inbox.c.duplicate_of)
        .where(inbox.c.id.in_(newest.scalar_subquery()))).all()
    return {(row.source_addr, row.destination_addr): _Latest(
        _New(None, row.id), row.text_digest, row.duplicate_of,
        as_utc(row.first_at if row.duplicate_of is not None else row.received_at))
        for row in rows}


def _key(source_addr: str, destination_addr: str, reference: int, total: int) -> list:
    """The conditions that pick out the parts of one message."""
    return [mo_parts.c.source_addr == source_addr,
            mo_parts.c.destination_addr == destination_addr,
            mo_parts.c.reference == reference, mo_parts.c.total == total]


def _take_part(batch: _Batch, arrival: PartArrival) -> _New | None:
    conn, part = batch.conn, arrival.part
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
        data_coding=arrival.data_coding, body=arrival.body, received_at=batch.now, **fields))
    if len(known) + 1 < part.total:
        log.info("mo.part_stored", have=len(known) + 1, **fields)
        return None
    parts = _stored(conn, key)
    try:
        kind, text = "text", reassembly.assemble(parts, arrival.default_alphabet)
    except sms_text.TextError as error:
        kind, text = "unreadable", ""
        log.info("mo.unreadable", bind=arrival.bind, reason=str(error))
    joined = batch.message(dict(
        bind=arrival.bind, source_addr=arrival.source_addr,
        destination_addr=arrival.destination_addr, text=text,
        data_coding=parts[0].data_coding, kind=kind))
    batch.flush()           # its parts are closed by its id
    _close(conn, key, joined.id)
    log.info("mo.parts_joined", message_id=joined.id, **fields)
    return joined


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
    """Close messages whose parts stopped coming ``timeout`` ago; forget old closed parts
    and old receipts that matched no MT.

    Each closed message becomes an inbox row of kind "incomplete" (its text
    what did arrive, for the record), which the processor answers.  Closed
    parts are kept for ``keep`` so that a redelivered part is still known.
    A receipt that matched nothing is kept for `UNMATCHED_RECEIPTS_KEPT`: long
    enough for its late submit_sm_resp (minutes) and for an operator to look
    into it, not for ever, since an SMSC that numbers ids differently from
    the bind's setting would otherwise fill the table.
    """
    group = (mo_parts.c.source_addr, mo_parts.c.destination_addr, mo_parts.c.reference,
             mo_parts.c.total)
    stale = conn.execute(select(*group, func.min(mo_parts.c.bind).label("bind"))
                         .where(mo_parts.c.inbox_id.is_(None)).group_by(*group)
                         .having(func.max(mo_parts.c.received_at) < now - timeout)).all()
    closed = [_give_up(conn, row, now, alphabets) for row in stale]
    conn.execute(delete(mo_parts).where(and_(
        mo_parts.c.inbox_id.is_not(None), mo_parts.c.received_at < now - keep)))
    conn.execute(delete(unmatched_receipts).where(
        unmatched_receipts.c.received_at < now - UNMATCHED_RECEIPTS_KEPT))
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
