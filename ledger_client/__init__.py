"""The ledger boundary: what the gateway may use of the points ledger.

- `EmbeddedLedger`: the ledger in the caller's own database, called inside the caller's
  transaction (synchronous, on a database thread).
- `Ledger`: the asynchronous interface, implemented by `ThreadedLedger` (the embedded ledger
  on a thread pool) and `HttpLedger` (the central ledger service, see docs/ledger-api.md).
- `LedgerResource` / `ledger_site`: that service's HTTP side, for `jifen ledger serve`;
  `HoldSweeper`: voids expired holds on the owning daemon's clock.
- The values (`Transfer`, `TransferResult`, `Balance`, `Movement` ...) and the refusals
  (`LedgerError` and its kinds; `LedgerUnavailable` for "try later").
- `audit.problems(conn)`: the invariants, recomputed from the journal.

This package never imports the gateway.
"""

from ledger_client import audit
from ledger_client.embedded import EmbeddedLedger
from ledger_client.errors import (
    AccountClosed, HoldNotPending, IdReused, InsufficientFunds, InvalidTransfer, LedgerError,
    LedgerMismatch, LedgerUnavailable, TotalTooLarge, UnknownAccount, UnknownHold,
)
from ledger_client.http import HttpLedger
from ledger_client.interface import Ledger
from ledger_client.local import ThreadedLedger
from ledger_client.server import LedgerResource, ledger_site
from ledger_client.sweeper import HoldSweeper, SweepLoop
from ledger_client.types import (
    MAX_BATCH, POINTS, Account, AccountKind, Balance, HoldState, Movement, Transfer,
    TransferKind, TransferResult, as_utc,
)

__all__ = [
    "audit", "EmbeddedLedger", "HoldSweeper", "HttpLedger", "Ledger", "LedgerResource",
    "SweepLoop", "ThreadedLedger", "ledger_site",
    "MAX_BATCH", "POINTS", "Account", "AccountKind", "Balance", "HoldState", "Movement",
    "Transfer", "TransferKind", "TransferResult", "as_utc",
    "LedgerError", "AccountClosed", "HoldNotPending", "IdReused", "InsufficientFunds",
    "InvalidTransfer", "LedgerMismatch", "LedgerUnavailable", "TotalTooLarge", "UnknownAccount",
    "UnknownHold",
]
