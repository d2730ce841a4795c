"""The ledger inside the gateway's own database.

Every function takes the caller's SQLAlchemy connection, so a posting and
the gateway's record of why it happened (an inbox row marked done, an
outbox reply) commit in one transaction or not at all.

No overdraft, also under concurrency: the debit is one conditional UPDATE
(``... WHERE credits - debits >= amount``), which takes the row lock on
PostgreSQL and runs under SQLite's single writer, so two racing debits can
never both see the same balance.  Idempotency: the transfer id is the
primary key of the journal; posting it again returns the first result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from ledger_client.errors import IdReused, InsufficientFunds, UnknownAccount
from ledger_client.schema import accounts, transfers

POINTS = "points"


@dataclass(frozen=True)
class Balance:
    account_id: int
    posted: int             # credits_posted - debits_posted
    on_hold: int            # debits_pending: held for redemptions not yet confirmed

    @property
    def available(self) -> int:
        return self.posted - self.on_hold


@dataclass(frozen=True)
class Transfer:
    id: str                 # caller-chosen; the idempotency key
    debit_account_id: int
    credit_account_id: int
    amount: int
    code: str
    ledger: str = POINTS


def _utcnow():
    return datetime.now(timezone.utc)


class EmbeddedLedger:
    """The ledger on SQL tables; ``now`` is injected so tests can move time."""

    def __init__(self, now: Callable[[], datetime] = _utcnow):
        self._now = now

    def open_account(self, conn: Connection, kind: str, reference: str, *,
                     ledger: str = POINTS, no_overdraft: bool = True) -> int:
        """The account for (ledger, kind, reference), opened if new."""
        key = and_(accounts.c.ledger == ledger, accounts.c.kind == kind,
                   accounts.c.reference == reference)
        existing = conn.execute(select(accounts.c.id).where(key)).scalar()
        if existing is not None:
            return existing
        return conn.execute(insert(accounts).values(
            ledger=ledger, kind=kind, reference=reference, no_overdraft=int(no_overdraft),
            debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
            created_at=self._now())).inserted_primary_key[0]

    def balance(self, conn: Connection, account_id: int) -> Balance:
        row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
        if row is None:
            raise UnknownAccount(account_id)
        return Balance(account_id, row.credits_posted - row.debits_posted, row.debits_pending)

    def post(self, conn: Connection, batch: Sequence[Transfer]) -> list[bool]:
        """Post ``batch`` all or nothing; True for each newly posted, False if posted before."""
        with conn.begin_nested():
            return [self._post_one(conn, transfer) for transfer in batch]

    def _post_one(self, conn: Connection, transfer: Transfer) -> bool:
        previous = conn.execute(select(transfers).where(transfers.c.id == transfer.id)).first()
        if previous is not None:
            if (previous.debit_account_id, previous.credit_account_id, previous.amount,
                    previous.code, previous.ledger) != (
                    transfer.debit_account_id, transfer.credit_account_id, transfer.amount,
                    transfer.code, transfer.ledger):
                raise IdReused(transfer.id)
            return False
        self._debit(conn, transfer)
        credited = conn.execute(update(accounts).where(and_(
            accounts.c.id == transfer.credit_account_id, accounts.c.ledger == transfer.ledger
        )).values(credits_posted=accounts.c.credits_posted + transfer.amount))
        if credited.rowcount != 1:
            raise UnknownAccount(transfer.credit_account_id)
        conn.execute(insert(transfers).values(
            id=transfer.id, ledger=transfer.ledger, debit_account_id=transfer.debit_account_id,
            credit_account_id=transfer.credit_account_id, amount=transfer.amount,
            code=transfer.code, created_at=self._now()))
        return True

    def _debit(self, conn: Connection, transfer: Transfer) -> None:
        covered = or_(accounts.c.no_overdraft == 0,
                      accounts.c.credits_posted - accounts.c.debits_posted
                      - accounts.c.debits_pending >= transfer.amount)
        debited = conn.execute(update(accounts).where(and_(
            accounts.c.id == transfer.debit_account_id, accounts.c.ledger == transfer.ledger,
            covered)).values(debits_posted=accounts.c.debits_posted + transfer.amount))
        if debited.rowcount == 1:
            return
        exists = conn.execute(select(accounts.c.id).where(and_(
            accounts.c.id == transfer.debit_account_id,
            accounts.c.ledger == transfer.ledger))).first()
        if exists is None:
            raise UnknownAccount(transfer.debit_account_id)
        raise InsufficientFunds(transfer.debit_account_id, transfer.amount)
