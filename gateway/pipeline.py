"""MO inbox -> command -> MT outbox, durable and exactly once.

`Inbox.receive` is what the SMPP binds call for every deliver_sm.  It
gathers what arrives within a few milliseconds into one transaction and
answers each deliver_sm only after that transaction has committed: an MO is
never acknowledged before it is safe.  If the database cannot take it, the
answer is ESME_RX_T_APPN and the SMSC delivers it again.

`Processor` then runs the commands of committed MOs.  One transaction per
MO marks it done and writes its replies to the outbox, so a crash either
leaves the MO to be run again (nothing was written) or finds it done with
its replies queued (everything was): never a reply without its MO or twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable

import structlog
from sqlalchemy import and_, insert, select, update
from twisted.internet import defer

from gateway.commands import context, dispatch, replies
from gateway.msisdn import address_of
from gateway.smpp import text as sms_text
from gateway.smpp.codec import Pdu, Status
from gateway.store.models import inbox, members, outbox

log = structlog.get_logger(__name__)

_RECEIPT_BITS = 0x3C          # esm_class message type bits; 0x04 = SMSC delivery receipt
_UDHI = 0x40


class Inbox:
    """Takes MOs from the binds and commits them in small batches."""

    def __init__(self, db, clock, now: Callable[[], datetime], *, region: str,
                 alphabets: dict[str, str], batch_window: float,
                 committed: Callable[[list[int]], None]):
        self._db = db
        self._clock = clock
        self._now = now
        self._region = region
        self._alphabets = alphabets          # bind name -> what data_coding 0 means
        self._window = batch_window
        self._committed = committed
        self._batch: list[tuple[dict, defer.Deferred]] = []
        self._flush_call = None

    def receive(self, pdu: Pdu, bind_name: str):
        """The command_status to answer ``pdu`` with, once it is safe to."""
        if pdu.get("esm_class", 0) & _RECEIPT_BITS:
            log.info("mo.receipt_ignored", bind=bind_name, sequence=pdu.sequence)
            return Status.OK
        try:
            row = self._row(pdu, bind_name)
        except sms_text.TextError as error:
            log.warning("mo.refused", bind=bind_name, source=pdu.get("source_addr"),
                        reason=str(error))
            return Status.REJECT_MESSAGE
        waiting = defer.Deferred()
        self._batch.append((row, waiting))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(self._window, self._flush)
        return waiting

    def _row(self, pdu: Pdu, bind_name: str) -> dict:
        payload = pdu.get("message_payload") or pdu.get("short_message", b"")
        if pdu.get("esm_class", 0) & _UDHI:
            _, payload = sms_text.strip_udh(payload)
        data_coding = pdu.get("data_coding", 0)
        body = sms_text.decode(payload, data_coding, self._alphabets.get(bind_name, "gsm7"))
        return dict(
            bind=bind_name,
            source_addr=address_of(pdu.get("source_addr", ""), self._region,
                                   pdu.get("source_addr_ton")),
            destination_addr=pdu.get("destination_addr", ""),
            text=body, data_coding=data_coding, state="received", received_at=self._now())

    def _flush(self):
        self._flush_call = None
        batch, self._batch = self._batch, []
        rows = [row for row, _ in batch]
        saved = self._db.run(_insert_inbox, rows)

        def committed(ids):
            for (row, waiting), inbox_id in zip(batch, ids):
                log.info("mo.committed", message_id=inbox_id, bind=row["bind"])
                waiting.callback(Status.OK)
            self._committed(ids)

        def failed(failure):
            log.error("mo.commit_failed", count=len(batch), error=failure.getErrorMessage())
            for _, waiting in batch:
                waiting.callback(Status.TEMPORARY_APP_ERROR)

        saved.addCallbacks(committed, failed)


def _insert_inbox(conn, rows: list[dict]) -> list[int]:
    return [conn.execute(insert(inbox).values(**row)).inserted_primary_key[0] for row in rows]


class LedgerServices:
    """`commands.context.Services` over the ledger, inside one transaction."""

    def __init__(self, conn, ledger):
        self._conn = conn
        self._ledger = ledger

    def points_balance(self, account_id: int) -> context.Balance:
        balance = self._ledger.balance(self._conn, account_id)
        return context.Balance(available=balance.available, on_hold=balance.on_hold)


class Processor:
    """Runs the commands of committed MOs and queues their replies."""

    def __init__(self, db, ledger, keywords: Callable, now: Callable[[], datetime], *,
                 default_language: str, replies_queued: Callable[[], None]):
        self._db = db
        self._ledger = ledger
        self._keywords = keywords            # () -> the current KeywordTable
        self._now = now
        self._default_language = default_language
        self._replies_queued = replies_queued

    def process(self, inbox_ids: Iterable[int]) -> defer.Deferred:
        done = self._db.run(self._process_all, list(inbox_ids))
        done.addCallback(lambda count: count and self._replies_queued())
        done.addErrback(lambda f: log.error("mo.process_failed", error=f.getErrorMessage()))
        return done

    def recover(self) -> defer.Deferred:
        """Run whatever a crash left committed but unprocessed."""
        pending = self._db.run(lambda conn: list(conn.execute(
            select(inbox.c.id).where(inbox.c.state == "received").order_by(inbox.c.id)
        ).scalars()))
        return pending.addCallback(self.process)

    def _process_all(self, conn, inbox_ids: list[int]) -> int:
        return sum(self._process_one(conn, inbox_id) for inbox_id in inbox_ids)

    def _process_one(self, conn, inbox_id: int) -> int:
        # Claiming the row first makes a second processor (another gateway
        # process, or a recovery racing a live batch) skip it.
        claimed = conn.execute(update(inbox).where(and_(
            inbox.c.id == inbox_id, inbox.c.state == "received")).values(state="done"))
        if claimed.rowcount != 1:
            return 0
        row = conn.execute(select(inbox).where(inbox.c.id == inbox_id)).one()
        member = _member(conn, row.source_addr)
        request = context.Request(msisdn=row.source_addr, short_code=row.destination_addr,
                                  text=row.text, member=member, message_id=inbox_id)
        try:
            with conn.begin_nested():
                outcome = dispatch.execute(request, self._keywords(),
                                           LedgerServices(conn, self._ledger),
                                           self._default_language)
        except Exception:
            log.exception("mo.command_crashed", message_id=inbox_id)
            outcome = _apology(request, self._default_language)
        self._record(conn, row, member, outcome)
        return len(outcome.replies)

    def _record(self, conn, row, member, outcome) -> None:
        now = self._now()
        conn.execute(update(inbox).where(inbox.c.id == row.id).values(
            command=outcome.command, language=outcome.language, done_at=now))
        if member is not None and outcome.remember_language:
            conn.execute(update(members).where(members.c.id == member.id).values(
                language=outcome.remember_language))
        for n, reply in enumerate(outcome.replies):
            conn.execute(insert(outbox).values(
                idempotency_key=f"mo:{row.id}:{n}", inbox_id=row.id,
                source_addr=row.destination_addr, destination_addr=row.source_addr,
                text=reply.text, language=reply.language, state="queued", attempts=0,
                created_at=now, next_attempt_at=now))
        log.info("mo.processed", message_id=row.id, command=outcome.command,
                 language=outcome.language, replies=len(outcome.replies))


def _apology(request: context.Request, default_language: str) -> context.Outcome:
    """The reply when a command failed in a way it did not foresee."""
    language = dispatch.reply_language(request, None, default_language)
    reply = context.Reply(replies.render("try_later", language), language)
    return context.Outcome(replies=(reply,), command=None, language=language,
                           remember_language=None)


def _member(conn, msisdn: str) -> context.Member | None:
    row = conn.execute(select(members).where(and_(
        members.c.msisdn == msisdn, members.c.status == "active"))).first()
    if row is None:
        return None
    return context.Member(id=row.id, msisdn=row.msisdn, name=row.name,
                          language=row.language, points_account=row.points_account_id)
