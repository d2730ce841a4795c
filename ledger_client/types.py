"""The values that cross the ledger boundary: transfers in, results, balances and history out.

All frozen dataclasses of plain values, so the same objects come back from the embedded ledger
and from the HTTP client, and a test can write them as literals.  Amounts are integers in the
ledger's minor unit (points, or cents of a currency); there are no floats anywhere here.

A `Transfer` is one of four kinds (TigerBeetle's two-phase model):

- ``single``: posted at once, debit and credit;
- ``pending``: a hold.  The amount leaves the debit account's available balance but is not
  yet posted; it expires ``timeout`` seconds after it was made (None: it never expires);
- ``post``: posts the hold named by ``pending_id`` (accounts and amount come from the hold);
- ``void``: releases the hold named by ``pending_id``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ledger_client.errors import InvalidTransfer, UnknownAccount

#: The points ledger; other ledgers are named by an ISO 4217 currency code, e.g. "KES".
POINTS = "points"

MAX_AMOUNT = 2**63 - 1          # BIGINT: an amount, and every running total of an account
MAX_ACCOUNT_ID = 2**31 - 1      # INTEGER on PostgreSQL (schema.py): no account is above it
MAX_BATCH = 1000                # transfers in one all-or-nothing batch


class AccountKind(enum.StrEnum):
    """Who an account belongs to.  An account's ledger is fixed when it is opened."""

    MEMBER = "member"                       # a member's points
    OPERATOR = "operator"                   # the programme: issuer, redemption revenue
    AGENT_COMMISSION = "agent_commission"   # points an agent earned
    SHOP_SETTLEMENT = "shop_settlement"     # money a shop is owed (a currency ledger)


class TransferKind(enum.StrEnum):
    SINGLE = "single"
    PENDING = "pending"
    POST = "post"
    VOID = "void"


class HoldState(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; every one this project writes is UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_ID = re.compile(r"[\x21-\x7e]{1,64}")          # printable ASCII, no spaces
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,32}")
_LEDGER = re.compile(r"[a-z]{1,16}|[A-Z]{3}")    # "points", or a currency code


@dataclass(frozen=True)
class Transfer:
    """A movement between two accounts of one ledger; ``id`` is the caller's idempotency key.

    For ``post`` and ``void`` the accounts and amount may be left 0: the ledger takes them from
    the hold, and the result carries the filled-in transfer.
    """

    id: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    code: str                           # why: issue, redeem, commission, reverse ...
    ledger: str = POINTS
    kind: TransferKind = TransferKind.SINGLE
    pending_id: str | None = None       # the hold a post or void resolves
    timeout: int | None = None          # seconds a pending transfer lives; None: until resolved
    reference: str | None = None        # the caller's reference, shown in history (e.g. R8K2P)

    @classmethod
    def hold(cls, id: str, debit_account_id: int, credit_account_id: int, amount: int,
             code: str, *, timeout: int | None, ledger: str = POINTS,
             reference: str | None = None) -> "Transfer":
        return cls(id, debit_account_id, credit_account_id, amount, code, ledger,
                   TransferKind.PENDING, timeout=timeout, reference=reference)

    @classmethod
    def post_hold(cls, id: str, pending_id: str, code: str = "post", *,
                  ledger: str = POINTS, reference: str | None = None) -> "Transfer":
        return cls(id, 0, 0, 0, code, ledger, TransferKind.POST, pending_id,
                   reference=reference)

    @classmethod
    def void_hold(cls, id: str, pending_id: str, code: str = "void", *,
                  ledger: str = POINTS, reference: str | None = None) -> "Transfer":
        return cls(id, 0, 0, 0, code, ledger, TransferKind.VOID, pending_id,
                   reference=reference)

    @property
    def resolves_hold(self) -> bool:
        return self.kind in (TransferKind.POST, TransferKind.VOID)


def check(transfer: Transfer) -> Transfer:
    """``transfer`` with its kind as a `TransferKind`, or `InvalidTransfer` saying what is wrong.

    Hostile-input rules for both sides: the HTTP service runs every body through this too.
    Its accounts may still name none (e.g. above `MAX_ACCOUNT_ID`): posting finds that.
    """
    tid = transfer.id
    if not isinstance(tid, str) or not _ID.fullmatch(tid):
        raise InvalidTransfer(str(tid)[:64], "id must be 1 to 64 printable ASCII characters")
    try:
        kind = TransferKind(transfer.kind)
    except ValueError:
        raise InvalidTransfer(tid, f"kind must be one of {', '.join(TransferKind)}") from None
    if not isinstance(transfer.ledger, str) or not _LEDGER.fullmatch(transfer.ledger):
        raise InvalidTransfer(tid, "ledger must be lower-case letters or a currency code")
    if not isinstance(transfer.code, str) or not _NAME.fullmatch(transfer.code):
        raise InvalidTransfer(tid, "code must be 1 to 32 letters, digits or _.:-")
    if transfer.reference is not None and (
            not isinstance(transfer.reference, str) or not _ID.fullmatch(transfer.reference)):
        raise InvalidTransfer(tid, "reference must be 1 to 64 printable ASCII characters")
    numbers = (transfer.debit_account_id, transfer.credit_account_id, transfer.amount)
    if not all(_is_int(n) and n >= 0 for n in numbers) or transfer.amount > MAX_AMOUNT:
        raise InvalidTransfer(tid, "accounts and amount must be non-negative integers, "
                                   f"the amount at most {MAX_AMOUNT}")
    if kind in (TransferKind.POST, TransferKind.VOID):
        if not isinstance(transfer.pending_id, str) or not _ID.fullmatch(transfer.pending_id):
            raise InvalidTransfer(tid, f"a {kind} needs the pending_id of a hold")
        if transfer.timeout is not None:
            raise InvalidTransfer(tid, "only a pending transfer has a timeout")
    else:
        _check_movement(transfer, kind)
    return transfer if transfer.kind is kind else replace(transfer, kind=kind)


def _check_movement(transfer: Transfer, kind: TransferKind) -> None:
    tid = transfer.id
    if transfer.pending_id is not None:
        raise InvalidTransfer(tid, "only a post or void names a pending_id")
    if transfer.amount <= 0:
        raise InvalidTransfer(tid, "amount must be a positive integer")
    if transfer.debit_account_id <= 0 or transfer.credit_account_id <= 0:
        raise InvalidTransfer(tid, "debit and credit accounts are required")
    if transfer.debit_account_id == transfer.credit_account_id:
        raise InvalidTransfer(tid, "debit and credit accounts must differ")
    if transfer.timeout is not None:
        if kind is not TransferKind.PENDING:
            raise InvalidTransfer(tid, "only a pending transfer has a timeout")
        if not _is_int(transfer.timeout) or not 0 < transfer.timeout <= 366 * 86400:
            raise InvalidTransfer(tid, "timeout must be a whole number of seconds, up to a year")


def checked_account_id(value) -> int:
    """``value`` if an account may have it as its id, else `UnknownAccount`.

    Every lookup by id goes through this before it reaches the database, so an id outside
    1..`MAX_ACCOUNT_ID` (or not an integer) is "no such account" on SQLite and PostgreSQL
    alike, where PostgreSQL would otherwise fail the statement (integer out of range).
    """
    if not (_is_int(value) and 0 < value <= MAX_ACCOUNT_ID):
        raise UnknownAccount(value)
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class TransferResult:
    """What a posting did: ``created`` False means the id was posted before and nothing changed."""

    transfer: Transfer          # as recorded (a post or void with its hold's accounts and amount)
    timestamp: datetime         # when it was first posted
    created: bool


@dataclass(frozen=True)
class Account:
    id: int
    ledger: str
    kind: str
    reference: str
    no_overdraft: bool
    closed: bool


@dataclass(frozen=True)
class Balance:
    account_id: int
    posted: int             # credits_posted - debits_posted
    on_hold: int            # debits_pending: held for redemptions not yet confirmed
    incoming: int = 0       # credits_pending: on its way in, not yet spendable

    @property
    def available(self) -> int:
        return self.posted - self.on_hold


@dataclass(frozen=True)
class Movement:
    """One line of an account's history, seen from that account (``amount`` < 0: money out)."""

    transfer_id: str
    timestamp: datetime
    amount: int
    code: str
    kind: TransferKind
    reference: str | None
    other_account_id: int
    hold_state: HoldState | None = None     # for a pending transfer: what became of it
