"""Member self-redemption: vouchers and airtime, paid for in points, once per message.

Start at `RedemptionService.redeem`.  It runs inside the transaction of the MO that asked
(the caller passes its connection and the MO's idempotency key), so the redemption, the stock
it took, the posting and the reply commit together or not at all; the same key again returns
the first redemption and changes nothing.

Two ways to pay, chosen by the composition root:

- with the embedded ledger (``ledger`` given) the points are posted at once, in the same
  transaction, and the redemption is completed (or refused, leaving nothing behind) before the
  reply is written;
- with the central ledger (``ledger`` None) the posting is queued (postings.py) and the
  redemption stays ``processing``: the reply says so, and `settle` (called by the ledger
  poster when the posting is done) completes or fails it and queues the member's final SMS.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, tzinfo

import structlog
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gateway import catalog, local_days
from gateway.redeem import codes, notices, postings
from gateway.redeem.pins import Pins
from gateway.redeem.refusals import Refusal, Refused
from gateway.store.models import members
from gateway.store.tables_catalog import redemptions, vouchers
from ledger_client import AccountKind, EmbeddedLedger, InsufficientFunds, LedgerError, as_utc

log = structlog.get_logger(__name__)

REVENUE = (str(AccountKind.OPERATOR), "redemptions")


class State(enum.StrEnum):
    PROCESSING = "processing"       # its posting is queued for the central ledger
    COMPLETED = "completed"
    FAILED = "failed"               # the queued posting was refused; stock returned
    REVERSING = "reversing"         # an operator's reversal is queued
    REVERSED = "reversed"


@dataclass(frozen=True)
class Redemption:
    reference: str                  # R8K2P, for the member's reply
    item: catalog.Item
    quantity: int
    points: int
    state: State
    voucher_codes: tuple[str, ...] = ()   # only in the call that issued them: never stored
    created: bool = True                  # False: an earlier message with this key did it


class _Refuse(Exception):
    """Unwinds the redemption's savepoint with the reason."""

    def __init__(self, refused: Refused):
        self.refused = refused


class _Repeat(Exception):
    """Another transaction redeemed this key first."""


class RedemptionService:
    def __init__(self, *, ledger: EmbeddedLedger | None, pins: Pins, namespace: str = "jifen",
                 pin_required: bool = True, max_quantity: int = 10,
                 rng: random.Random | None = None, zone: tzinfo = local_days.UTC):
        self.ledger = ledger
        self.zone = zone                # [gateway] timezone: HIST dates its lines in it
        self.pins = pins
        self._namespace = namespace
        self._pin_required = pin_required
        self._max_quantity = max_quantity
        self._rng = rng

    # --- redeem ------------------------------------------------------------------------------

    def redeem(self, conn: Connection, *, member_id: int, item_code: str, quantity: int,
               key: str, now: datetime, short_code: str, language: str,
               pin: str | None = None) -> Redemption | Refused:
        """Redeem ``quantity`` of ``item_code`` for the member; ``key`` makes it happen once."""
        earlier = self._by_key(conn, key)
        if earlier is not None:
            return earlier
        member = conn.execute(select(members).where(and_(
            members.c.id == member_id, members.c.status == "active"))).first()
        if member is None:
            return Refused(Refusal.NOT_A_MEMBER)
        item = catalog.find(conn, item_code) if isinstance(item_code, str) else None
        refused = self._check_item(item, quantity, now)
        if refused is None and self._pin_required:
            # Outside the savepoint: a wrong PIN is counted even though nothing is redeemed.
            refused = self.pins.verify(conn, member_id, pin, now)
        if refused is not None:
            return refused
        try:
            with conn.begin_nested():
                return self._take(conn, member, item, quantity, key, now, short_code, language)
        except _Refuse as refusal:
            return refusal.refused
        except _Repeat:
            return self._by_key(conn, key)

    def _check_item(self, item: catalog.Item | None, quantity, now: datetime) -> Refused | None:
        if item is None:
            return Refused(Refusal.UNKNOWN_ITEM)
        if item.kind == "goods":
            return Refused(Refusal.AGENT_ONLY, {"item": item.code})
        if not item.on_sale(now):
            return Refused(Refusal.NOT_ON_SALE, {"starts": item.sale_starts_at,
                                                 "ends": item.sale_ends_at})
        if not isinstance(quantity, int) or not 1 <= quantity <= self._max_quantity:
            return Refused(Refusal.INVALID_QUANTITY, {"most": self._max_quantity})
        return None

    def _take(self, conn: Connection, member, item: catalog.Item, quantity: int, key: str,
              now: datetime, short_code: str, language: str) -> Redemption:
        # One member's redemptions queue behind each other (a row lock on PostgreSQL; SQLite
        # has one writer), so two messages cannot both pass the per-member limit.
        conn.execute(select(members.c.id).where(members.c.id == member.id).with_for_update())
        if item.per_member_limit is not None:
            had = self._redeemed(conn, member.id, item.id)
            if had + quantity > item.per_member_limit:
                raise _Refuse(Refused(Refusal.OVER_LIMIT, {
                    "limit": item.per_member_limit, "left": max(item.per_member_limit - had, 0)}))
        if not catalog.take_stock(conn, item.id, quantity):
            raise _Refuse(Refused(Refusal.SOLD_OUT))
        points = item.price * quantity
        redemption_id, reference = self._insert(conn, dict(
            idempotency_key=key, member_id=member.id, item_id=item.id, quantity=quantity,
            points=points, state=State.PROCESSING.value, msisdn=member.msisdn,
            short_code=short_code, language=language, created_at=now))
        posting = postings.enqueue(conn, key=f"redeem:{reference}", purpose="redemption",
                                   redemption_id=redemption_id, now=now, transfers=[
            postings.Planned(f"{self._namespace}:redeem:{reference}",
                             (str(AccountKind.MEMBER), member.msisdn), REVENUE, points,
                             "redeem", reference)])
        redemption = Redemption(reference, item, quantity, points, State.PROCESSING)
        if self.ledger is None:
            return redemption
        try:
            self.post_now(conn, posting)
        except InsufficientFunds:
            raise _Refuse(Refused(Refusal.INSUFFICIENT_POINTS, {"points": points})) from None
        except LedgerError as error:
            log.warning("redeem.ledger_refused", reference=reference, error=error.code)
            raise _Refuse(Refused(Refusal.LEDGER_REFUSED, {"code": error.code})) from None
        issued = self.settle(conn, posting, None, now, notify=False)
        return Redemption(reference, item, quantity, points, State.COMPLETED, issued)

    def _insert(self, conn: Connection, values: dict) -> tuple[int, str]:
        """Insert the redemption under a fresh reference; collision-safe under concurrency."""
        while True:
            reference = codes.new_reference(conn, self._rng)
            try:
                with conn.begin_nested():
                    row_id = conn.execute(insert(redemptions).values(
                        reference=reference, **values)).inserted_primary_key[0]
                return row_id, reference
            except IntegrityError:
                if self._by_key(conn, values["idempotency_key"]) is not None:
                    raise _Repeat() from None
                # else a concurrent redemption took the same reference: draw again

    def _redeemed(self, conn: Connection, member_id: int, item_id: int) -> int:
        counted = (State.PROCESSING, State.COMPLETED, State.REVERSING)
        return conn.execute(select(func.coalesce(func.sum(redemptions.c.quantity), 0)).where(
            redemptions.c.member_id == member_id, redemptions.c.item_id == item_id,
            redemptions.c.state.in_([s.value for s in counted]))).scalar_one()

    def _by_key(self, conn: Connection, key: str) -> Redemption | None:
        row = conn.execute(select(redemptions).where(
            redemptions.c.idempotency_key == key)).first()
        return None if row is None else self._redemption(conn, row, created=False)

    @staticmethod
    def _redemption(conn: Connection, row, created: bool) -> Redemption:
        item = catalog.find(conn, "", by_id=row.item_id)
        return Redemption(row.reference, item, row.quantity, row.points, State(row.state),
                          created=created)

    # --- posting and its outcome ---------------------------------------------------------

    def post_now(self, conn: Connection, posting: postings.Posting) -> None:
        """Post ``posting`` to the embedded ledger inside ``conn``'s transaction, or raise."""
        postings.post_now(self.ledger, conn, posting.transfers)

    def settle(self, conn: Connection, posting: postings.Posting, error: LedgerError | None,
               now: datetime, *, notify: bool = True) -> tuple[str, ...]:
        """Record a posting's outcome and what follows from it, once; the voucher codes issued.

        ``notify``: queue the member's SMS (not when the reply to their message says it all).
        """
        state = postings.POSTED if error is None else postings.REFUSED
        if not postings.finish(conn, posting.id, state, now, error and error.code):
            return ()               # another poster recorded it first
        row = conn.execute(select(redemptions).where(
            redemptions.c.id == posting.redemption_id)).one()
        if posting.purpose == "reversal":
            self._reversal_settled(conn, row, error, now, notify)
            return ()
        if error is not None:
            refusal = (Refusal.INSUFFICIENT_POINTS if error.code == "insufficient_funds"
                       else Refusal.LEDGER_REFUSED)
            self._set_state(conn, row, State.FAILED, refusal=refusal.value)
            catalog.return_stock(conn, row.item_id, row.quantity)
            if notify:
                self._tell(conn, row, "failed." + refusal.value
                           if refusal is Refusal.INSUFFICIENT_POINTS else "failed", now)
            log.info("redeem.failed", reference=row.reference, error=error.code)
            return ()
        self._set_state(conn, row, State.COMPLETED, completed_at=now)
        item = catalog.find(conn, "", by_id=row.item_id)
        issued = self._issue_vouchers(conn, row, now) if item.kind == "voucher" else ()
        if notify:
            self._tell(conn, row, f"completed.{item.kind}", now, codes=" ".join(issued))
        log.info("redeem.completed", reference=row.reference, vouchers=len(issued))
        return issued

    def _issue_vouchers(self, conn: Connection, row, now: datetime) -> tuple[str, ...]:
        issued = []
        while len(issued) < row.quantity:
            code = codes.new_voucher_code(self._rng)
            try:
                with conn.begin_nested():
                    conn.execute(insert(vouchers).values(
                        redemption_id=row.id, digest=codes.digest(code), last_chars=code[-4:],
                        created_at=now))
                issued.append(code)
            except IntegrityError:
                continue            # 50 bits make this all but impossible; draw again
        return tuple(issued)

    def _reversal_settled(self, conn: Connection, row, error: LedgerError | None,
                          now: datetime, notify: bool) -> None:
        if error is not None:
            log.error("redeem.reversal_refused", reference=row.reference, error=error.code)
            self._set_state(conn, row, State.COMPLETED, reversed_by=None, reversal_reason=None)
            return
        self._set_state(conn, row, State.REVERSED, reversed_at=now)
        catalog.return_stock(conn, row.item_id, row.quantity)
        if notify:
            self._tell(conn, row, "reversed", now)
        log.info("redeem.reversed", reference=row.reference)

    @staticmethod
    def _set_state(conn: Connection, row, state: State, **values) -> None:
        conn.execute(update(redemptions).where(redemptions.c.id == row.id)
                     .values(state=state.value, **values))

    @staticmethod
    def _tell(conn: Connection, row, event: str, now: datetime, **values) -> None:
        item = catalog.find(conn, "", by_id=row.item_id)
        text, language = notices.render(event, row.language, ref=row.reference,
                                        item=item.name(row.language), qty=row.quantity,
                                        points=row.points, **values)
        notices.queue(conn, f"rdm:{row.reference}:{event.split('.')[0]}", to=row.msisdn,
                      short_code=row.short_code, text=text, language=language, now=now)

    # --- reversal -----------------------------------------------------------------------------

    def reverse(self, conn: Connection, reference: str, *, reason: str, by: str,
                now: datetime) -> State:
        """Reverse a completed redemption: points back, stock back, the member told.

        Idempotent: a redemption already reversed (or being reversed) is left as it is.  The
        state afterwards: REVERSED, or REVERSING while the central ledger has it queued.
        """
        row = conn.execute(select(redemptions).where(
            redemptions.c.reference == reference.strip().upper()).with_for_update()).first()
        if row is None:
            raise LookupError(f"no redemption {reference}")
        if row.state in (State.REVERSED, State.REVERSING):
            return State(row.state)
        if row.state != State.COMPLETED:
            raise ValueError(f"redemption {row.reference} is {row.state}: only a completed "
                             "redemption can be reversed")
        self._set_state(conn, row, State.REVERSING, reversed_by=by[:64],
                        reversal_reason=reason[:200])
        posting = postings.enqueue(conn, key=f"reverse:{row.reference}", purpose="reversal",
                                   redemption_id=row.id, now=now, transfers=[
            postings.Planned(f"{self._namespace}:reverse:{row.reference}", REVENUE,
                             (str(AccountKind.MEMBER), row.msisdn), row.points, "reverse",
                             row.reference)])
        if self.ledger is None:
            return State.REVERSING
        self.post_now(conn, posting)
        self.settle(conn, posting, None, now)
        return State.REVERSED

    # --- history ------------------------------------------------------------------------------

    def history(self, conn: Connection, member_id: int, limit: int = 5) -> list[dict]:
        """The member's last movements, newest first, as dicts: ``at``, ``points`` (+ in,
        - out), ``what`` (the ledger's code: issue, redeem, reverse ...), ``reference``."""
        if self.ledger is not None:
            account = conn.execute(select(members.c.points_account_id).where(
                members.c.id == member_id)).scalar_one()
            return [dict(at=m.timestamp, points=m.amount, what=m.code, reference=m.reference)
                    for m in self.ledger.history(conn, account, limit)]
        # The central ledger is not at hand inside a transaction: what this gateway did.
        rows = conn.execute(select(redemptions).where(redemptions.c.member_id == member_id)
                            .order_by(redemptions.c.created_at.desc(), redemptions.c.id.desc())
                            .limit(limit)).all()
        return [dict(at=as_utc(row.created_at), points=-row.points,
                     what=f"redeem ({row.state})", reference=row.reference) for row in rows]
