"""The ledger's invariants, checked from scratch against the journal.

`problems(conn)` recomputes every account's totals from the journal and the
holds and compares them with the running totals on the account rows, so it
catches a posting that changed one without the other, not only an
unbalanced ledger.  Tests call it after every ledger test (empty is good);
an operator can run it against a live database (it reads the whole journal,
so it is for audits, not for the hot path).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ledger_client.schema import accounts, holds, transfers as journal
from ledger_client.types import HoldState, TransferKind

_POSTED_KINDS = (TransferKind.SINGLE.value, TransferKind.POST.value)


def problems(conn: Connection) -> list[str]:
    """Every broken invariant, as one line each; an empty list when the ledger is sound."""
    found = _balanced_per_ledger(conn)
    found += _totals_match_journal(conn)
    found += _holds_match_journal(conn)
    found += _journal_names_real_accounts(conn)
    return found


def _journal_names_real_accounts(conn: Connection) -> list[str]:
    known = select(accounts.c.id)
    stray = conn.execute(select(journal.c.id).where(
        journal.c.debit_account_id.not_in(known) | journal.c.credit_account_id.not_in(known)))
    return [f"transfer {tid}: names an account that does not exist" for tid in stray.scalars()]


def _balanced_per_ledger(conn: Connection) -> list[str]:
    found = []
    rows = conn.execute(select(
        accounts.c.ledger, func.sum(accounts.c.debits_posted), func.sum(accounts.c.credits_posted),
        func.sum(accounts.c.debits_pending), func.sum(accounts.c.credits_pending),
    ).group_by(accounts.c.ledger)).all()
    for ledger, debits, credits, debits_pending, credits_pending in rows:
        if debits != credits:
            found.append(f"ledger {ledger}: posted debits {debits} != credits {credits}")
        if debits_pending != credits_pending:
            found.append(f"ledger {ledger}: pending debits {debits_pending} != "
                         f"credits {credits_pending}")
    return found


def _totals_match_journal(conn: Connection) -> list[str]:
    expected: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    open_hold = holds.c.state == HoldState.PENDING.value
    for side, prefix in ((journal.c.debit_account_id, "debits"),
                         (journal.c.credit_account_id, "credits")):
        for account_id, total in conn.execute(
                select(side, func.sum(journal.c.amount))
                .where(journal.c.kind.in_(_POSTED_KINDS)).group_by(side)):
            expected[account_id][f"{prefix}_posted"] = total
        for account_id, total in conn.execute(
                select(side, func.sum(journal.c.amount))
                .join(holds, holds.c.transfer_id == journal.c.id).where(open_hold)
                .group_by(side)):
            expected[account_id][f"{prefix}_pending"] = total
    found = []
    for row in conn.execute(select(accounts)):
        want = expected.get(row.id, {})
        for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending"):
            if getattr(row, name) != want.get(name, 0):
                found.append(f"account {row.id}: {name} {getattr(row, name)} but the journal "
                             f"says {want.get(name, 0)}")
        available = row.credits_posted - row.debits_posted - row.debits_pending
        if row.no_overdraft and available < 0:
            found.append(f"account {row.id}: overdrawn to {available}")
    return found


def _holds_match_journal(conn: Connection) -> list[str]:
    found = []
    pending = journal.c.kind == TransferKind.PENDING.value
    unheld = conn.execute(select(journal.c.id).outerjoin(
        holds, holds.c.transfer_id == journal.c.id).where(pending, holds.c.state.is_(None)))
    found += [f"pending transfer {tid}: no hold row" for tid in unheld.scalars()]
    resolutions = conn.execute(select(journal.c.pending_id, journal.c.kind, holds.c.state).join(
        holds, holds.c.transfer_id == journal.c.pending_id).where(
        journal.c.kind.in_((TransferKind.POST.value, TransferKind.VOID.value))))
    for pending_id, kind, state in resolutions:
        wanted = HoldState.POSTED if kind == TransferKind.POST else HoldState.VOIDED
        if state != wanted:
            found.append(f"hold {pending_id}: {kind} in the journal but the hold is {state}")
    return found
