"""What can go wrong with a posting, as types a caller can act on.

Every `LedgerError` is a refusal: the ledger understood the request and said no, and asking
again with the same content gets the same answer.  `LedgerUnavailable` is different: the
ledger could not be asked (the HTTP service is down or slow), so the caller keeps the posting
and tries again later.  Each refusal has a ``code`` and the ``details`` to rebuild it, which
is how the HTTP service sends it and the client raises the very same type.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger refusal."""

    code = "ledger_error"
    fields: tuple[str, ...] = ()

    @property
    def details(self) -> dict:
        return {name: getattr(self, name) for name in self.fields}


class InvalidTransfer(LedgerError):
    """The transfer is malformed (a caller bug, or a hostile body)."""

    code = "invalid_transfer"
    fields = ("transfer_id", "reason")

    def __init__(self, transfer_id, reason):
        super().__init__(f"transfer {transfer_id!r}: {reason}")
        self.transfer_id, self.reason = transfer_id, reason


class UnknownAccount(LedgerError):
    code = "unknown_account"
    fields = ("account_id",)

    def __init__(self, account_id):
        super().__init__(f"no ledger account {account_id}")
        self.account_id = account_id


class AccountClosed(LedgerError):
    code = "account_closed"
    fields = ("account_id",)

    def __init__(self, account_id):
        super().__init__(f"ledger account {account_id} is closed")
        self.account_id = account_id


class LedgerMismatch(LedgerError):
    """A transfer between ledgers (points to KES, say): never allowed."""

    code = "ledger_mismatch"
    fields = ("transfer_id", "account_id", "ledger")

    def __init__(self, transfer_id, account_id, ledger):
        super().__init__(f"transfer {transfer_id!r}: account {account_id} is not in ledger "
                         f"{ledger!r}")
        self.transfer_id, self.account_id, self.ledger = transfer_id, account_id, ledger


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    fields = ("account_id", "amount", "transfer_id")

    def __init__(self, account_id, amount, transfer_id=None):
        super().__init__(f"account {account_id} cannot cover {amount}")
        self.account_id, self.amount, self.transfer_id = account_id, amount, transfer_id


class TotalTooLarge(LedgerError):
    """The posting would take one of the account's running totals past 2^63-1 (BIGINT)."""

    code = "total_too_large"
    fields = ("account_id", "transfer_id")

    def __init__(self, account_id, transfer_id=None):
        super().__init__(f"transfer {transfer_id!r} would take account {account_id}'s totals "
                         "past 9223372036854775807")
        self.account_id, self.transfer_id = account_id, transfer_id


class IdReused(LedgerError):
    """A transfer id posted before with different content: a caller bug, never retried."""

    code = "id_reused"
    fields = ("transfer_id",)

    def __init__(self, transfer_id):
        super().__init__(f"transfer id {transfer_id!r} already used for another transfer")
        self.transfer_id = transfer_id


class UnknownHold(LedgerError):
    code = "unknown_hold"
    fields = ("pending_id",)

    def __init__(self, pending_id):
        super().__init__(f"no pending transfer {pending_id!r}")
        self.pending_id = pending_id


class HoldNotPending(LedgerError):
    """The hold was already posted, voided or expired."""

    code = "hold_not_pending"
    fields = ("pending_id", "state")

    def __init__(self, pending_id, state):
        super().__init__(f"pending transfer {pending_id!r} is already {state}")
        self.pending_id, self.state = pending_id, state


class LedgerUnavailable(Exception):
    """The ledger could not be reached or did not answer in time; try again later."""


REFUSALS = {error.code: error for error in (
    InvalidTransfer, UnknownAccount, AccountClosed, LedgerMismatch, InsufficientFunds,
    TotalTooLarge, IdReused, UnknownHold, HoldNotPending)}


def refusal(code: str, details: dict) -> LedgerError:
    """Rebuild the refusal named by ``code`` (from an HTTP answer)."""
    error = REFUSALS.get(code)
    if error is None:
        return LedgerError(f"{code}: {details}")
    return error(*(details.get(name) for name in error.fields))
