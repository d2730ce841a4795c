"""MO inbox -> command -> MT outbox, durable and exactly once.

`Inbox.receive` is what the SMPP binds call for every deliver_sm.  It reads
the PDU on the spot (a delivery receipt, a part of a long message, or a whole
one, perhaps unreadable), gathers what arrives within a few milliseconds into
one transaction (gateway/intake.py) and answers each deliver_sm only after
that transaction has committed: nothing is acknowledged before it is safe.
If the database cannot take it, the answer is ESME_RX_T_APPN and the SMSC
delivers it again; a deliver_sm with no sender to answer gets ESME_RX_R_APPN.
Batches and sweeps of unfinished long messages run one at a time.

`Processor` then runs the commands of committed MOs.  One transaction per
MO marks it done and writes its replies to the outbox, so a crash either
leaves the MO to be run again (nothing was written) or finds it done with
its replies queued (everything was): never a reply without its MO or twice.
A redelivered MO is answered with copies of its first delivery's replies;
an unreadable or incomplete one with a short reply saying so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable

import structlog
from sqlalchemy import Text, and_, bindparam, func, insert, select, update
from twisted.internet import defer, task

from gateway import intake, reassembly, receipts, redaction
from gateway.commands import context, dispatch, replies
from gateway.ledger_services import LedgerServices, members_of
from gateway.msisdn import address_of
from gateway.smpp import text as sms_text
from gateway.smpp.codec import Pdu, Status
from gateway.store.batching import among
from gateway.store.models import inbox, members, outbox

log = structlog.get_logger(__name__)


class Inbox:
    """Takes MOs and receipts from the binds and commits them in small batches."""

    def __init__(self, db, clock, now: Callable[[], datetime], *, region: str,
                 alphabets: dict[str, str], batch_window: float,
                 committed: Callable[[list[int]], None],
                 id_formats: dict[str, str] | None = None,
                 parts_timeout: float = 300.0, redelivery_window: float = 900.0,
                 secret_key: bytes | None = None):
        self._db = db
        self._clock = clock
        self._now = now
        self._region = region
        self._alphabets = alphabets          # bind name -> what data_coding 0 means
        self._id_formats = id_formats or {}  # bind name -> receipts.ID_FORMATS key
        self._window = batch_window
        self._committed = committed
        self._parts_timeout = timedelta(seconds=parts_timeout)
        self._redelivery_window = timedelta(seconds=redelivery_window)
        self._key = secret_key               # None: the database's own (redaction.stored_key)
        self._batch: list[tuple[object, defer.Deferred]] = []
        self._flush_call = None
        self._one_at_a_time = defer.DeferredLock()
        self._commit_waiting = False
        self._sweeper = None

    def receive(self, pdu: Pdu, bind_name: str):
        """The command_status to answer ``pdu`` with, once it is safe to."""
        if receipts.is_receipt(pdu.get("esm_class", 0)):
            arrival = self._receipt(pdu, bind_name)
        elif not (pdu.get("source_addr") or "").strip():
            log.warning("mo.refused", bind=bind_name, sequence=pdu.sequence,
                        reason="no source address")
            return Status.REJECT_MESSAGE
        else:
            arrival = self._message(pdu, bind_name)
        waiting = defer.Deferred()
        self._batch.append((arrival, waiting))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(self._window, self._flush)
        return waiting

    def _receipt(self, pdu: Pdu, bind_name: str) -> intake.ReceiptArrival:
        id_format = self._id_formats.get(bind_name, "auto")
        try:
            return intake.ReceiptArrival(bind_name, id_format, receipts.parse(pdu.params))
        except receipts.ReceiptError as error:
            return intake.ReceiptArrival(bind_name, id_format, None, str(error))

    def _message(self, pdu: Pdu, bind_name: str):
        alphabet = self._alphabets.get(bind_name, "gsm7")
        data_coding = pdu.get("data_coding", 0)
        row = dict(bind=bind_name, data_coding=data_coding,
                   source_addr=address_of(pdu.get("source_addr", ""), self._region,
                                          pdu.get("source_addr_ton")),
                   destination_addr=pdu.get("destination_addr", ""))
        try:
            part, body = reassembly.part_of(pdu.params)
            if part is not None:
                return intake.PartArrival(bind_name, row["source_addr"], row["destination_addr"],
                                          part, data_coding, body, alphabet)
            return intake.Whole(dict(row, kind="text",
                                     text=sms_text.decode(body, data_coding, alphabet)))
        except sms_text.TextError as error:
            # Binary, or a UDH that does not fit: acknowledged, and its sender told.
            log.info("mo.unreadable", bind=bind_name, sequence=pdu.sequence, reason=str(error))
            return intake.Whole(dict(row, kind="unreadable", text=""))

    def _flush(self):
        self._flush_call = None
        # One commit waiting behind the running one is enough: it takes all
        # that arrived meanwhile.  Queuing one per window while the database
        # lags piled up empty commits whose synchronous releases recursed
        # until the inbox stopped acknowledging.
        if not self._commit_waiting:
            self._commit_waiting = True
            self._one_at_a_time.run(self._commit)

    def _commit(self):
        # The batch is taken when the previous commit is done, so what
        # arrived meanwhile rides along in this one.
        self._commit_waiting = False
        batch, self._batch = self._batch, []
        if not batch:
            return None
        saved = self._digest_key().addCallback(
            lambda key: self._db.run(intake.take, [a for a, _ in batch], self._now(),
                                     self._redelivery_window, key))

        def committed(ids):
            for (arrival, waiting), inbox_id in zip(batch, ids):
                if inbox_id is not None:    # at info, "mo.processed" follows with the id
                    log.debug("mo.committed", message_id=inbox_id, bind=_bind_of(arrival))
                waiting.callback(Status.OK)
            new = [inbox_id for inbox_id in ids if inbox_id is not None]
            if new:
                self._committed(new)

        def failed(failure):
            log.error("mo.commit_failed", count=len(batch), error=failure.getErrorMessage())
            for _, waiting in batch:
                waiting.callback(Status.TEMPORARY_APP_ERROR)

        return saved.addCallbacks(committed, failed)

    def _digest_key(self) -> defer.Deferred:
        """The key of MO digests; the database's is read (or made) once, in its own transaction."""
        if self._key is not None:
            return defer.succeed(self._key)
        loaded = defer.maybeDeferred(self._db.run, redaction.stored_key)

        def keep(key):
            self._key = key
            return key
        return loaded.addCallback(keep)

    # -- parts that stop coming ---------------------------------------------------

    def start(self):
        """Sweep for incomplete long messages every so often, on the injected clock."""
        self._sweeper = task.LoopingCall(self.sweep)
        self._sweeper.clock = self._clock
        interval = min(60.0, max(1.0, self._parts_timeout.total_seconds() / 5))
        self._sweeper.start(interval, now=False)

    def stop(self):
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None

    def sweep(self, at: datetime | None = None) -> defer.Deferred:
        """Answer long messages whose parts stopped coming before ``at`` minus the timeout.

        ``at`` defaults to now; tests move it instead of waiting.  Fires once
        the incomplete messages are committed and handed to the processor.
        """
        return self._one_at_a_time.run(self._sweep, at or self._now())

    def _sweep(self, at: datetime):
        keep = max(self._redelivery_window, self._parts_timeout)
        swept = defer.maybeDeferred(self._db.run, intake.sweep, at, self._parts_timeout, keep,
                                    self._alphabets)
        swept.addCallback(lambda ids: ids and self._committed(ids))
        swept.addErrback(lambda f: log.error("mo.sweep_failed", error=f.getErrorMessage()))
        return swept


def _bind_of(arrival) -> str:
    return arrival.row["bind"] if isinstance(arrival, intake.Whole) else arrival.bind


#: Seconds before a failed batch is run again, doubling up to the second.
PROCESS_RETRY_FIRST, PROCESS_RETRY_MAX = 1.0, 60.0


class Processor:
    """Runs the commands of committed MOs and queues their replies.

    Replies can be written already claimed for the sender (``leases``: short
    code -> claim token and lease end, taken on the reactor thread before
    the batch goes to the database), which saves it a claiming query per
    batch; ``replies_queued(claimed_rows, count)`` hands them over after the
    commit, with the count of all replies queued.

    With the central ledger, ``remote_reads`` (gateway/remote_reads.py) reads
    the figures a batch's BAL and HIST show before its transaction begins.
    """

    def __init__(self, db, ledger, keywords: Callable, now: Callable[[], datetime], *,
                 default_language: str, region: str,
                 replies_queued: Callable[[list, int], None],
                 leases: Callable[[], dict] = dict, redemptions=None, agency=None,
                 remote_reads=None, clock=None):
        self._db = db
        self._ledger = ledger
        self._redemptions = redemptions      # the RedemptionService behind REDEEM, HIST, PIN
        self._agency = agency                # the AgencyService behind RDM, YES/NO, AGBAL ...
        self._keywords = keywords            # () -> the current KeywordTable
        self._now = now
        self._default_language = default_language
        self._region = region                # for phone numbers typed in commands
        self._replies_queued = replies_queued
        self._leases = leases
        self._remote_reads = remote_reads
        self._clock = clock                  # for retrying a failed batch; None: no retries
        self._retries: list = []

    def process(self, inbox_ids: Iterable[int]) -> defer.Deferred:
        return self._attempt(list(inbox_ids), 0)

    def stop(self) -> None:
        """No more retries of failed batches (their MOs stay "received" for `recover`)."""
        for call in self._retries:
            if call.active():
                call.cancel()
        self._retries.clear()

    def _attempt(self, ids: list[int], failures: int) -> defer.Deferred:
        if self._remote_reads is None:
            done = self._db.run(self._process_batch, ids, self._leases())
        else:   # the central ledger's figures first: nothing is written until they are in
            done = self._remote_reads.for_batch(ids, self._keywords(), self._region)
            done.addCallback(lambda snapshot: self._db.run(self._process_batch, ids,
                                                           self._leases(), snapshot))
        done.addCallback(lambda queued: queued.count and self._replies_queued(
            queued.claimed, queued.count))
        done.addErrback(self._failed, ids, failures)
        return done

    def _failed(self, failure, ids: list[int], failures: int) -> None:
        """A batch whose transaction failed (the database away, say) is run again later:
        its MOs were acknowledged, so nobody else will bring them back before a restart."""
        delay = min(PROCESS_RETRY_MAX, PROCESS_RETRY_FIRST * 2 ** failures)
        log.error("mo.process_failed", error=failure.getErrorMessage(), first_id=ids[0],
                  messages=len(ids), retry_in=delay if self._clock else None)
        if self._clock is not None:
            self._retries = [call for call in self._retries if call.active()]
            self._retries.append(self._clock.callLater(delay, self._attempt, ids, failures + 1))

    def recover(self) -> defer.Deferred:
        """Run whatever a crash left committed but unprocessed."""
        pending = self._db.run(lambda conn: list(conn.execute(
            select(inbox.c.id).where(inbox.c.state == "received").order_by(inbox.c.id)
        ).scalars()))
        return pending.addCallback(self.process)

    def _process_batch(self, conn, inbox_ids: list[int], leases: dict,
                       remote=None) -> "_Writes":
        """Run a batch of MOs in one transaction; what it queued.

        The hot path at load, so the statements are batched: one claim for
        all, one member lookup, and the inbox updates and outbox rows
        written together at the end (`_Writes`).  Each command still runs in
        its own savepoint, so one that raises takes nothing else with it.
        """
        # Claiming the rows first makes a second processor (another gateway
        # process, or a recovery racing a live batch) skip them.  In id order,
        # a first delivery runs before any redelivery of it in the same batch.
        claim = (update(inbox).where(and_(among(conn, inbox.c.id, inbox_ids),
                                          inbox.c.state == "received"))
                 .values(state="done").returning(*inbox.c))
        rows = sorted(conn.execute(claim).all(), key=lambda r: r.id)
        found, balances = members_of(
            conn, {row.source_addr for row in rows if row.duplicate_of is None})
        writes = _Writes(leases)
        for row in rows:
            if row.duplicate_of is not None:
                writes.flush(conn)          # a replay copies what the first delivery wrote
                writes.count += self._replay(conn, row, remote)
                continue
            member = found.get(row.source_addr)
            request = context.Request(msisdn=row.source_addr, short_code=row.destination_addr,
                                      text=row.text, member=member, message_id=row.id)
            if row.kind != "text":      # "unreadable", "incomplete": the reply says which
                outcome = _canned(request, row.kind, self._default_language)
            else:
                outcome, touched = self._execute(conn, request, writes, remote, balances)
                if touched:
                    balances = {}       # what it did may have moved a balance read before
            self._record(conn, writes, row, member, outcome)
        writes.flush(conn)
        return writes

    def _process_one(self, conn, inbox_id: int, remote=None) -> int:
        # Unclaimed: nothing hands these rows to the sender but its own claim.
        return self._process_batch(conn, [inbox_id], {}, remote).count

    def _execute(self, conn, request: context.Request, writes: "_Writes", remote=None,
                 balances=None) -> tuple[context.Outcome, bool]:
        """The command's outcome, and whether it used the database (ledger_services.py)."""
        services = LedgerServices(conn, self._ledger, self._now, self._redemptions, self._agency,
                                  remote, balances=balances, isolated=True)
        try:
            outcome = dispatch.execute(request, self._keywords(), services,
                                       self._default_language, region=self._region)
            services.finish(ok=True)
            # SMS to other phones (an agent's RDM prompts the member) wake the sender too.
            writes.count += services.notified
            if services.read_failed:
                # "Try again in a few minutes" is meant: the same BAL then is a new question,
                # not a redelivery of this one to be answered with a copy of this reply.
                conn.execute(update(inbox).where(inbox.c.id == request.message_id)
                             .values(text_digest=None))
                log.warning("mo.figures_unavailable", message_id=request.message_id)
            return outcome, services.touched
        except Exception:
            services.finish(ok=False)
            log.exception("mo.command_crashed", message_id=request.message_id)
            return _canned(request, "try_later", self._default_language), services.touched

    def _replay(self, conn, row, remote=None) -> int:
        """Answer a redelivered MO with its first delivery's replies, never running it again."""
        # If the first delivery is still waiting its turn, it runs now (the
        # claim inside keeps it to once, even racing another processor).
        self._process_one(conn, row.duplicate_of, remote)
        first = conn.execute(select(inbox.c.command, inbox.c.language).where(
            inbox.c.id == row.duplicate_of)).one()
        count = intake.copy_replies(conn, row.duplicate_of, row, self._now())
        conn.execute(update(inbox).where(inbox.c.id == row.id).values(
            command=first.command, language=first.language, done_at=self._now(),
            text=self._redacted(row.text) or row.text))
        log.info("mo.replayed", message_id=row.id, original_id=row.duplicate_of, replies=count)
        return count

    def _redacted(self, text: str) -> str | None:
        return redaction.redact(text, self._keywords(), self._region)

    def _record(self, conn, writes, row, member, outcome) -> None:
        now = self._now()
        writes.count += len(outcome.replies)
        # PINs and codes are masked whatever the command did, crashed and canned answers too.
        writes.done.append(dict(row_id=row.id, new_command=outcome.command,
                                new_language=outcome.language, new_done_at=now,
                                new_text=self._redacted(row.text)))
        if member is not None and outcome.remember_language:
            conn.execute(update(members).where(members.c.id == member.id).values(
                language=outcome.remember_language))
        for n, reply in enumerate(outcome.replies):
            writes.replies.append(dict(
                idempotency_key=f"mo:{row.id}:{n}", inbox_id=row.id,
                source_addr=row.destination_addr, destination_addr=row.source_addr,
                text=reply.text, language=reply.language, state="queued", attempts=0,
                created_at=now, next_attempt_at=now))
        log.info("mo.processed", message_id=row.id, command=outcome.command,
                 language=outcome.language, replies=len(outcome.replies))


_DONE = (update(inbox).where(inbox.c.id == bindparam("row_id"))
         .values(command=bindparam("new_command"), language=bindparam("new_language"),
                 done_at=bindparam("new_done_at"),
                 text=func.coalesce(bindparam("new_text", type_=Text), inbox.c.text)))


class _Writes:
    """What a batch of MOs writes, held back to go in two statements."""

    def __init__(self, leases: dict):
        self.leases = leases                # short code -> (claim token, lease end)
        self.done: list[dict] = []          # inbox rows: the command run, its language
        self.replies: list[dict] = []       # outbox rows
        self.count = 0                      # replies queued, copies of earlier ones included
        self.claimed: list = []             # the outbox rows written with a claim

    def flush(self, conn) -> None:
        if self.done:
            conn.execute(_DONE, self.done)
        if self.replies:
            for reply in self.replies:
                token, until = self.leases.get(reply["source_addr"], (None, None))
                reply.update(claimed_by=token, claimed_until=until)
            written = conn.execute(insert(outbox).returning(
                *outbox.c, sort_by_parameter_order=True), self.replies).all()
            self.claimed += [row for row in written if row.claimed_by is not None]
        self.done, self.replies = [], []


def _canned(request: context.Request, template: str, default_language: str) -> context.Outcome:
    """A fixed reply (a command that failed unforeseen, an unreadable or incomplete MO)."""
    language = dispatch.reply_language(request, None, default_language)
    reply = context.Reply(replies.render(template, language), language)
    return context.Outcome(replies=(reply,), command=None, language=language,
                           remember_language=None)
