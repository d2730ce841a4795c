"""The ledger inside the gateway's own database.

Every method takes the caller's SQLAlchemy connection, so a posting and the
gateway's record of why it happened (an inbox row marked done, a redemption,
an outbox reply) commit in one transaction or not at all.  It is synchronous
on purpose: the caller is already on a database thread.  `ThreadedLedger` in
local.py gives the same ledger the asynchronous `Ledger` interface.

How a batch is posted (once per id, all or nothing, never below zero under
concurrency) is in posting.py; the invariants a test can assert after any
run are in audit.py.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from ledger_client import posting
from ledger_client.errors import UnknownAccount
from ledger_client.schema import accounts, holds, transfers as journal
from ledger_client.types import (
    POINTS, Account, Balance, HoldState, Movement, Transfer, TransferKind, TransferResult,
    as_utc, checked_account_id,
)


def _utcnow():
    return datetime.now(timezone.utc)


# Built once: a balance read or an account lookup comes with every redemption, and building
# the select (and its cache key) each time cost more than running it.
_ROW = select(accounts).where(accounts.c.id == bindparam("account_id"))
_BY_OWNER = select(accounts.c.id).where(
    accounts.c.ledger == bindparam("ledger"), accounts.c.kind == bindparam("kind"),
    accounts.c.reference == bindparam("reference"))


class EmbeddedLedger:
    """The ledger on SQL tables; ``now`` is injected so tests can move time."""

    def __init__(self, now: Callable[[], datetime] = _utcnow):
        self._now = now

    def open_account(self, conn: Connection, kind: str, reference: str, *,
                     ledger: str = POINTS, no_overdraft: bool = True) -> int:
        """The account for (ledger, kind, reference), opened if new."""
        existing = conn.execute(_BY_OWNER, {"ledger": ledger, "kind": str(kind),
                                            "reference": reference}).scalar()
        if existing is not None:
            return existing
        return conn.execute(insert(accounts).values(
            ledger=ledger, kind=str(kind), reference=reference, no_overdraft=int(no_overdraft),
            closed=0, debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
            created_at=self._now())).inserted_primary_key[0]

    def account(self, conn: Connection, account_id: int) -> Account:
        row = self._row(conn, account_id)
        return Account(row.id, row.ledger, row.kind, row.reference, bool(row.no_overdraft),
                       bool(row.closed))

    def close_account(self, conn: Connection, account_id: int) -> None:
        """No more transfers in or out (a hold on it may still be voided)."""
        account_id = checked_account_id(account_id)
        if conn.execute(update(accounts).where(accounts.c.id == account_id)
                        .values(closed=1)).rowcount != 1:
            raise UnknownAccount(account_id)

    def balance(self, conn: Connection, account_id: int) -> Balance:
        row = self._row(conn, account_id)
        return Balance(account_id, row.credits_posted - row.debits_posted, row.debits_pending,
                       row.credits_pending)

    def post(self, conn: Connection, batch: Sequence[Transfer], *,
             savepoint: bool = True) -> list[TransferResult]:
        """Post ``batch`` all or nothing; posting an id again returns its first result.

        A refusal raises and leaves the caller's transaction as it was (a SAVEPOINT), so
        the caller can go on and, say, reply to the member; ``savepoint=False`` when the
        transaction holds nothing else and is rolled back whole on a refusal.
        """
        return posting.post_batch(conn, batch, self._now(), savepoint=savepoint)

    def history(self, conn: Connection, account_id: int, limit: int = 10) -> list[Movement]:
        """The account's last ``limit`` movements, newest first: two short index scans."""
        self._row(conn, account_id)
        query = (select(journal, holds.c.state.label("hold_state"))
                 .outerjoin(holds, holds.c.transfer_id == journal.c.id))
        newest = (journal.c.created_at.desc(), journal.c.id.desc())
        rows = []
        for side in (journal.c.debit_account_id, journal.c.credit_account_id):
            rows += conn.execute(query.where(side == account_id).order_by(*newest)
                                 .limit(limit)).all()
        rows.sort(key=lambda row: (row.created_at, row.id), reverse=True)
        return [_movement(row, account_id) for row in rows[:limit]]

    def expire_holds(self, conn: Connection, limit: int = 500) -> list[str]:
        """Void the holds whose time is up (at most ``limit``); their ids."""
        now = self._now()
        return posting.expire(conn, posting.hold_rows_due(conn, now, limit), now)

    @staticmethod
    def _row(conn: Connection, account_id: int):
        row = conn.execute(_ROW, {"account_id": checked_account_id(account_id)}).first()
        if row is None:
            raise UnknownAccount(account_id)
        return row


def _movement(row, account_id: int) -> Movement:
    out = row.debit_account_id == account_id
    return Movement(
        transfer_id=row.id, timestamp=as_utc(row.created_at),
        amount=-row.amount if out else row.amount, code=row.code, kind=TransferKind(row.kind),
        reference=row.reference,
        other_account_id=row.credit_account_id if out else row.debit_account_id,
        hold_state=HoldState(row.hold_state) if row.hold_state else None)
