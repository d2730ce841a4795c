"""The durable queue of ledger postings, in the gateway's own database.

A redemption (or a reversal) writes what it must post, with its idempotency key, in the same
transaction that decides it.  With the embedded ledger it is posted at once, in that same
transaction; with the central ledger the `LedgerPoster` (gateway/ledger_poster.py) sends it
when it can, and records the outcome, again in one transaction with its consequences (the
redemption completed or failed, the member's SMS queued).  While the service is unreachable the
row simply waits: nothing is lost, and because the ledger keys each transfer by its id, a
posting sent twice (a crash between sending and recording) still posts once.

Transfers name their accounts by (kind, reference), e.g. ("member", "254712345678"), not by id:
ids belong to whichever ledger is configured, and are looked up when the posting is sent.  An
account is opened no-overdraft only if it is a member's (`may_overdraw`): operator, commission
and settlement accounts may go below zero, so a claw-back never fails.

Two owners queue postings: self-redemption (purposes ``SELF_REDEMPTION``, RedemptionService) and
assisted redemption (gateway/agency/queued.py).  `Owners` routes each posting's outcome (and its
delay, when the ledger cannot be reached) to the owner of its purpose: a table, not a type test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Callable

import structlog

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from gateway.store.tables_catalog import ledger_postings
from ledger_client import (
    POINTS, AccountKind, EmbeddedLedger, LedgerError, Transfer, TransferKind, TransferResult,
)

log = structlog.get_logger(__name__)

QUEUED, POSTED, REFUSED = "queued", "posted", "refused"
SELF_REDEMPTION = ("redemption", "reversal")      # RedemptionService.settle's purposes


@dataclass(frozen=True)
class Planned:
    """A transfer with its accounts by name."""

    id: str
    debit: tuple[str, str] | None   # (kind, reference); None for a post or void (the hold's)
    credit: tuple[str, str] | None
    amount: int
    code: str
    reference: str | None = None
    ledger: str = POINTS
    kind: str = TransferKind.SINGLE.value     # single, or pending / post / void (a hold)
    pending_id: str | None = None             # the hold a post or void resolves
    timeout: int | None = None                # seconds a hold lives


@dataclass(frozen=True)
class Posting:
    id: int
    key: str
    purpose: str                    # SELF_REDEMPTION, or assisted redemption's (agency/queued.py)
    redemption_id: int | None
    transfers: tuple[Planned, ...]
    attempts: int


def enqueue(conn: Connection, *, key: str, purpose: str, redemption_id: int | None,
            transfers: list[Planned], now: datetime) -> Posting:
    posting_id = conn.execute(insert(ledger_postings).values(
        idempotency_key=key, purpose=purpose, redemption_id=redemption_id,
        transfers=json.dumps([asdict(t) for t in transfers]), state=QUEUED, attempts=0,
        created_at=now, next_attempt_at=now)).inserted_primary_key[0]
    return Posting(posting_id, key, purpose, redemption_id, tuple(transfers), 0)


def resolve(posting: Posting, account_id: Callable[[str, str, str], int]) -> list[Transfer]:
    """The posting's transfers with account ids from ``account_id(kind, reference, ledger)``."""
    return resolve_planned(posting.transfers, account_id)


def resolve_planned(planned, account_id: Callable[[str, str, str], int]) -> list[Transfer]:
    def named(side):
        return 0 if side is None else account_id(*side, p.ledger)
    transfers = []
    for p in planned:
        transfers.append(Transfer(p.id, named(p.debit), named(p.credit), p.amount, p.code,
                                  p.ledger, TransferKind(p.kind), p.pending_id, p.timeout,
                                  reference=p.reference))
    return transfers


def member_debits(posting: Posting, msisdn: str) -> tuple[Planned, ...]:
    """What ``posting`` will take from the member's points when it posts: a redemption's debit,
    a shop's hold.  A hold's post moves no more than the hold did, and its void, a reversal or
    a refund give points back, so none of them is a debit."""
    member = (str(AccountKind.MEMBER), msisdn)
    taking = (TransferKind.SINGLE.value, TransferKind.PENDING.value)
    return tuple(p for p in posting.transfers
                 if p.debit == member and p.ledger == POINTS and p.kind in taking)


def may_overdraw(kind: str) -> bool:
    """Only a member's points must never go below zero; the programme's accounts may."""
    return kind != AccountKind.MEMBER


def post_now(ledger: EmbeddedLedger, conn: Connection, planned) -> list[TransferResult]:
    """Post ``planned`` to the embedded ledger inside ``conn``'s transaction, or raise.

    The one way both owners (redemptions, the agents' batches) post without the queue, so an
    account is opened with the same overdraft rule whichever of them names it first, as the
    poster does for the central ledger.
    """
    def account(kind: str, reference: str, which: str) -> int:
        return ledger.open_account(conn, kind, reference, ledger=which,
                                   no_overdraft=not may_overdraw(kind))
    return ledger.post(conn, resolve_planned(planned, account))


Settle = Callable[[Connection, Posting, "LedgerError | None", datetime], object]
Delayed = Callable[[Connection, Posting, datetime], None]


@dataclass(frozen=True)
class Owner:
    """What to do with one purpose's postings: record the outcome; optionally, say it is late."""

    settle: Settle
    delayed: Delayed | None = None


class Owners:
    """The poster's one `settle` and `delayed`, each posting routed to its purpose's owner."""

    def __init__(self, owners: Mapping[str, Owner]):
        self._owners = dict(owners)

    def settle(self, conn: Connection, posting: Posting, error: LedgerError | None,
               now: datetime):
        return self._owner(posting).settle(conn, posting, error, now)

    def delayed(self, conn: Connection, posting: Posting, now: datetime) -> None:
        """The ledger could not be reached for ``posting``: its owner may tell someone."""
        owner = self._owners.get(posting.purpose)
        if owner is not None and owner.delayed is not None:
            owner.delayed(conn, posting, now)

    def _owner(self, posting: Posting) -> Owner:
        try:
            return self._owners[posting.purpose]
        except KeyError:
            # Left queued: a configuration that knows the purpose will settle it.
            log.error("poster.no_owner", posting=posting.id, purpose=posting.purpose)
            raise LookupError(f"no owner for postings of purpose {posting.purpose!r}") from None


def claim_due(conn: Connection, now: datetime, *, limit: int,
              lease: timedelta) -> list[Posting]:
    """Queued postings whose time has come, each leased for ``lease`` so that another poster
    (another gateway process) leaves it alone meanwhile; a crashed poster's lease runs out."""
    rows = conn.execute(select(ledger_postings).where(and_(
        ledger_postings.c.state == QUEUED, ledger_postings.c.next_attempt_at <= now))
        .order_by(ledger_postings.c.next_attempt_at, ledger_postings.c.id).limit(limit)).all()
    claimed = []
    for row in rows:
        taken = conn.execute(update(ledger_postings).where(and_(
            ledger_postings.c.id == row.id, ledger_postings.c.state == QUEUED,
            ledger_postings.c.attempts == row.attempts)).values(
            attempts=row.attempts + 1, next_attempt_at=now + lease))
        if taken.rowcount == 1:
            claimed.append(from_row(row, attempts=row.attempts + 1))
    return claimed


def finish(conn: Connection, posting_id: int, state: str, now: datetime,
           error: str | None = None) -> bool:
    """Record the outcome once: False if another poster recorded it first."""
    return conn.execute(update(ledger_postings).where(and_(
        ledger_postings.c.id == posting_id, ledger_postings.c.state == QUEUED)).values(
        state=state, done_at=now, last_error=error)).rowcount == 1


def retry_later(conn: Connection, posting_id: int, when: datetime, error: str) -> None:
    conn.execute(update(ledger_postings).where(and_(
        ledger_postings.c.id == posting_id, ledger_postings.c.state == QUEUED)).values(
        next_attempt_at=when, last_error=error[:200]))


def find(conn: Connection, posting_id: int) -> Posting:
    return from_row(conn.execute(select(ledger_postings).where(
        ledger_postings.c.id == posting_id)).one())


def from_row(row, attempts: int | None = None) -> Posting:
    """A ``ledger_postings`` row (any select with its columns) as a `Posting`."""
    planned = tuple(Planned(**{**t, "debit": t["debit"] and tuple(t["debit"]),
                               "credit": t["credit"] and tuple(t["credit"])})
                    for t in json.loads(row.transfers))
    return Posting(row.id, row.idempotency_key, row.purpose, row.redemption_id, planned,
                   row.attempts if attempts is None else attempts)
