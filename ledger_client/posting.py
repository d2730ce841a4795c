"""Posting a batch of transfers: all or nothing, once per id, never below zero.

Start at `post_batch`.  The cost of a batch is a handful of statements however many
transfers it holds and however long the journal is, which is what keeps the ledger fast:

1. post/void transfers take their accounts and amount from their hold (one SELECT);
2. the journal rows go in with ``INSERT .. ON CONFLICT (id) DO NOTHING RETURNING id``: an
   id that comes back is new; one that does not was posted before (or is being posted right
   now by another transaction, which PostgreSQL waits for), and its first result is returned
   if the content is the same, `IdReused` if not;
3. holds are opened, and posted or voided with ``UPDATE .. WHERE state = 'pending'``, so a
   post racing a void or the expiry sweep wins once;
4. all the accounts change in one conditional UPDATE (statements.py), each row carrying the
   batch's net change to its four totals and the *deepest dip* the batch takes its available
   balance through, in order:
   ``WHERE no_overdraft = 0 OR available >= dip``.  That is exactly "every transfer in turn
   fits", checked by the database against the row as it is when the row lock is taken
   (PostgreSQL re-reads the row after waiting; SQLite has one writer), so no interleaving of
   concurrent batches can overdraw an account.

Everything runs in a SAVEPOINT: any refusal rolls the whole batch back and raises.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import String, and_, bindparam, case, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ledger_client import statements
from ledger_client.errors import (
    AccountClosed, HoldNotPending, IdReused, InsufficientFunds, InvalidTransfer, LedgerError,
    LedgerMismatch, TotalTooLarge, UnknownAccount, UnknownHold,
)
from ledger_client.schema import accounts, holds, transfers as journal
from ledger_client.types import (
    MAX_AMOUNT, MAX_BATCH, HoldState, Transfer, TransferKind, TransferResult, as_utc, check,
    checked_account_id,
)

#: What each kind of transfer does, per unit of its amount, to the debit and to the credit
#: account: the deltas of the four totals (in `statements.TOTALS` order: debits posted,
#: credits posted, debits pending, credits pending) and of the available balance
#: (credits posted - debits posted - debits pending).
_EFFECTS = {
    TransferKind.SINGLE: (((1, 0, 0, 0), -1), ((0, 1, 0, 0), 1)),
    TransferKind.PENDING: (((0, 0, 1, 0), -1), ((0, 0, 0, 1), 0)),
    TransferKind.POST: (((1, 0, -1, 0), 0), ((0, 1, 0, -1), 1)),
    TransferKind.VOID: (((0, 0, -1, 0), 1), ((0, 0, 0, -1), 0)),
}
_TOTALS = statements.TOTALS


def post_batch(conn: Connection, batch: Sequence[Transfer], now: datetime, *,
               savepoint: bool = True) -> list[TransferResult]:
    """Post ``batch`` in order, all or nothing; one `TransferResult` per transfer.

    ``savepoint=False`` is for a caller whose transaction holds nothing but this batch and
    is rolled back whole if it raises (the ledger service, `ThreadedLedger`): it saves two
    round trips per posting.
    """
    batch = _checked(batch)
    if not batch:
        return []
    with _savepoint(conn) if savepoint else contextlib.nullcontext():
        batch = _fill_from_holds(conn, batch)
        # Journal and totals in one go, the totals only if every id was new; not when the
        # batch resolves holds, which must be found pending before any total moves.
        together = not any(t.resolves_hold for t in batch)
        changes = _changes(batch) if together else {}
        created, changed = statements.post(conn, _journal_rows(batch),
                                           _columns(changes) if together else None, now)
        results = _results(conn, batch, created, now)
        fresh = [result.transfer for result in results if result.created]
        _open_holds(conn, fresh, now)
        _resolve_holds(conn, [t for t in fresh if t.resolves_hold], now)
        if changed is None:         # the new ones' totals only
            changes = _changes(fresh)
            changed = statements.apply_changes(conn, _columns(changes)) if changes else set()
        _check_changed(conn, changes, changed)
    return results


@contextlib.contextmanager
def _savepoint(conn: Connection):
    """A SAVEPOINT under one fixed name, on the driver's cursor: a round trip and little more,
    where `Connection.begin_nested` numbers each one and compiles it anew (~250 us)."""
    statements.run(conn, "SAVEPOINT ledger_post")
    try:
        yield
    except BaseException:
        with contextlib.suppress(DBAPIError):   # a dead connection: the first error says why
            statements.run(conn, "ROLLBACK TO SAVEPOINT ledger_post")
            statements.run(conn, "RELEASE SAVEPOINT ledger_post")
        raise
    statements.run(conn, "RELEASE SAVEPOINT ledger_post")


def _checked(batch: Sequence[Transfer]) -> list[Transfer]:
    if len(batch) > MAX_BATCH:
        raise InvalidTransfer(batch[0].id, f"a batch holds at most {MAX_BATCH} transfers")
    checked = [check(transfer) for transfer in batch]
    seen: set[str] = set()
    for transfer in checked:
        if transfer.id in seen:
            raise InvalidTransfer(transfer.id, "the same id twice in one batch")
        seen.add(transfer.id)
        # No account has such an id, and PostgreSQL would fail the statement on the number.
        # (0 is allowed here: a post or void takes its accounts from the hold.)
        for account_id in (transfer.debit_account_id, transfer.credit_account_id):
            if account_id:
                checked_account_id(account_id)
    return checked


def _fill_from_holds(conn: Connection, batch: list[Transfer]) -> list[Transfer]:
    """Posts and voids with their hold's accounts, amount and ledger."""
    wanted = {t.pending_id for t in batch if t.resolves_hold}
    if not wanted:
        return batch
    found = {t.id: t for t in batch if t.kind is TransferKind.PENDING}
    for row in conn.execute(select(journal).where(
            journal.c.id.in_(wanted - found.keys()), journal.c.kind == TransferKind.PENDING)):
        found[row.id] = _transfer(row)
    filled = []
    for transfer in batch:
        if transfer.resolves_hold:
            transfer = _as_resolving(transfer, found.get(transfer.pending_id))
        filled.append(transfer)
    return filled


def _as_resolving(transfer: Transfer, hold: Transfer | None) -> Transfer:
    if hold is None:
        raise UnknownHold(transfer.pending_id)
    given = (transfer.debit_account_id, transfer.credit_account_id, transfer.amount)
    held = (hold.debit_account_id, hold.credit_account_id, hold.amount)
    if any(value not in (0, expected) for value, expected in zip(given, held)):
        raise InvalidTransfer(transfer.id, "accounts and amount must be those of the hold "
                                           "(or left 0)")
    return replace(transfer, debit_account_id=hold.debit_account_id,
                   credit_account_id=hold.credit_account_id, amount=hold.amount,
                   ledger=hold.ledger)


def _journal_rows(batch: list[Transfer]) -> dict[str, list]:
    return {"id": [t.id for t in batch], "ledger": [t.ledger for t in batch],
            "debit_account_id": [t.debit_account_id for t in batch],
            "credit_account_id": [t.credit_account_id for t in batch],
            "amount": [t.amount for t in batch], "code": [t.code for t in batch],
            "kind": [t.kind.value for t in batch], "pending_id": [t.pending_id for t in batch],
            "reference": [t.reference for t in batch]}


def _results(conn: Connection, batch: list[Transfer], created: set[str],
             now: datetime) -> list[TransferResult]:
    repeated = [t.id for t in batch if t.id not in created]
    before = {row.id: row for row in conn.execute(
        select(journal, holds.c.expires_at).outerjoin(holds, holds.c.transfer_id == journal.c.id)
        .where(journal.c.id.in_(repeated)))} if repeated else {}
    results = []
    for transfer in batch:
        if transfer.id in created:
            results.append(TransferResult(transfer, now, True))
            continue
        row = before.get(transfer.id)
        if row is None:             # cannot happen: the conflicting row is committed by now
            raise LedgerError(f"transfer {transfer.id!r} neither new nor found")
        first = _transfer(row, row.expires_at)
        if first != transfer:
            raise IdReused(transfer.id)
        results.append(TransferResult(first, as_utc(row.created_at), False))
    return results


def _transfer(row, expires_at: datetime | None = None) -> Transfer:
    """The journal row as a `Transfer` (a hold's timeout from its expiry, when given)."""
    timeout = None if expires_at is None else round((expires_at - row.created_at).total_seconds())
    return Transfer(row.id, row.debit_account_id, row.credit_account_id, row.amount, row.code,
                    row.ledger, TransferKind(row.kind), row.pending_id, timeout, row.reference)


def _open_holds(conn: Connection, fresh: list[Transfer], now: datetime) -> None:
    rows = [dict(transfer_id=t.id, state=HoldState.PENDING.value, resolved_at=None,
                 expires_at=None if t.timeout is None else now + timedelta(seconds=t.timeout))
            for t in fresh if t.kind is TransferKind.PENDING]
    if rows:
        conn.execute(holds.insert(), rows)


def _resolve_holds(conn: Connection, resolving: list[Transfer], now: datetime) -> None:
    """Mark the holds posted or voided, each only if it is still pending and in time."""
    if not resolving:
        return
    params = {"now": now}
    for i, transfer in enumerate(resolving):
        params[f"id{i}"] = transfer.pending_id
        params[f"state{i}"] = (HoldState.POSTED if transfer.kind is TransferKind.POST
                               else HoldState.VOIDED).value
    done = set(conn.execute(_resolve_statement(len(resolving)), params).scalars())
    for transfer in resolving:
        if transfer.pending_id not in done:
            was = conn.execute(select(holds.c.state).where(
                holds.c.transfer_id == transfer.pending_id)).scalar()
            # Still "pending" here means its time ran out before the sweep came by.
            raise HoldNotPending(transfer.pending_id, (
                HoldState.EXPIRED if was in (None, HoldState.PENDING) else HoldState(was)
            ).value)


@functools.lru_cache(maxsize=64)
def _resolve_statement(n: int):
    ids = [bindparam(f"id{i}", type_=String) for i in range(n)]
    state = case(*[(holds.c.transfer_id == ids[i], bindparam(f"state{i}", type_=String))
                   for i in range(n)])
    now = bindparam("now", type_=holds.c.resolved_at.type)
    return update(holds).where(
        holds.c.transfer_id.in_(ids),
        holds.c.state == HoldState.PENDING.value,
        or_(holds.c.expires_at.is_(None), holds.c.expires_at > now),
    ).values(state=state, resolved_at=now).returning(holds.c.transfer_id)


class _Change:
    """One account's net change over a batch, and how far it dips on the way."""

    __slots__ = ("ledger", "totals", "available", "dip", "dipped_by", "closed_ok", "last")

    def __init__(self, ledger: str):
        self.ledger = ledger
        self.totals = (0, 0, 0, 0)          # in `_TOTALS` order
        self.available = 0
        self.dip = 0                # the least available balance the batch needs to start from
        self.dipped_by: Transfer | None = None
        self.closed_ok = True       # only voids may touch a closed account
        self.last: Transfer | None = None

    def add(self, transfer: Transfer, effect: tuple) -> None:
        (d0, d1, d2, d3), available = effect
        amount = transfer.amount
        t0, t1, t2, t3 = self.totals
        self.totals = (t0 + d0 * amount, t1 + d1 * amount, t2 + d2 * amount, t3 + d3 * amount)
        self.available += available * amount
        if -self.available > self.dip:
            self.dip, self.dipped_by = -self.available, transfer
        self.closed_ok = self.closed_ok and transfer.kind is TransferKind.VOID
        self.last = transfer

    def fits(self) -> bool:
        """Whether every figure is a BIGINT: a batch that moves more than that through one
        account could never be posted, and its numbers would fail the statement."""
        return self.dip <= MAX_AMOUNT and all(-MAX_AMOUNT <= t <= MAX_AMOUNT
                                              for t in self.totals)

    def overflows(self, row) -> bool:
        """Whether the change would take one of ``row``'s totals past `MAX_AMOUNT`."""
        return any(getattr(row, name) + delta > MAX_AMOUNT
                   for name, delta in zip(_TOTALS, self.totals))


def apply_totals(conn: Connection, transfers: Iterable[Transfer]) -> None:
    """Change the account totals for ``transfers`` (checked, and journaled or not), or raise."""
    changes = _changes(transfers)
    if changes:
        _check_changed(conn, changes, statements.apply_changes(conn, _columns(changes)))


def _changes(transfers: Iterable[Transfer]) -> dict[int, _Change]:
    """Each account's change over ``transfers``, in order."""
    changes: dict[int, _Change] = {}
    for transfer in transfers:
        for account_id, effect in zip((transfer.debit_account_id, transfer.credit_account_id),
                                      _EFFECTS[transfer.kind]):
            change = changes.get(account_id)
            if change is None:
                change = changes[account_id] = _Change(transfer.ledger)
            elif change.ledger != transfer.ledger:
                raise LedgerMismatch(transfer.id, account_id, transfer.ledger)
            change.add(transfer, effect)
    for account_id, change in changes.items():
        if not change.fits():
            raise TotalTooLarge(account_id, change.last.id)
    return changes


def _columns(changes: dict[int, _Change]) -> dict[str, list]:
    """The changes as `statements.CHANGE` columns, accounts in ascending id order (the order
    every transaction locks them in, so batches over the same accounts queue, not deadlock)."""
    ids = sorted(changes)
    return {"id": ids, "ledger": [changes[a].ledger for a in ids],
            "closed_ok": [int(changes[a].closed_ok) for a in ids],
            "dip": [changes[a].dip for a in ids],
            **{name: [changes[a].totals[k] for a in ids] for k, name in enumerate(_TOTALS)}}


def _check_changed(conn: Connection, changes: dict[int, _Change], changed: set[int]) -> None:
    """Raise the refusal of the first account whose conditions did not hold."""
    for account_id in sorted(changes):
        if account_id not in changed:
            raise _refusal(conn, account_id, changes[account_id])


def _refusal(conn: Connection, account_id: int, change: _Change) -> LedgerError:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    some = change.dipped_by
    if row is None:
        return UnknownAccount(account_id)
    if row.ledger != change.ledger:
        return LedgerMismatch(some.id if some else None, account_id, change.ledger)
    if row.closed and not change.closed_ok:
        return AccountClosed(account_id)
    if change.overflows(row):
        return TotalTooLarge(account_id, change.last.id)
    return InsufficientFunds(account_id, some.amount if some else change.dip,
                             some.id if some else None)


def hold_rows_due(conn: Connection, now: datetime, limit: int):
    """Pending holds whose time is up, oldest first, with what they hold."""
    return conn.execute(
        select(journal).join(holds, holds.c.transfer_id == journal.c.id)
        .where(and_(holds.c.state == HoldState.PENDING.value, holds.c.expires_at <= now))
        .order_by(holds.c.expires_at).limit(limit)).all()


def expire(conn: Connection, rows, now: datetime) -> list[str]:
    """Expire the holds in ``rows``: each releases its amount, once, with no journal row."""
    expired = []
    with conn.begin_nested():
        for row in rows:
            if conn.execute(update(holds).where(and_(
                    holds.c.transfer_id == row.id, holds.c.state == HoldState.PENDING.value))
                    .values(state=HoldState.EXPIRED.value, resolved_at=now)).rowcount == 1:
                expired.append(replace(_transfer(row), kind=TransferKind.VOID))
        apply_totals(conn, expired)
    return [t.id for t in expired]
