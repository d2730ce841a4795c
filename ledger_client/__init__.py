"""The ledger boundary: what the gateway may use of the points ledger.

Start with `EmbeddedLedger` (the ledger in the gateway's own database).
The central ledger over HTTP and holds (pending transfers) come with the
ledger issue; they will implement the same calls.
"""

from ledger_client.embedded import POINTS, Balance, EmbeddedLedger, Transfer
from ledger_client.errors import IdReused, InsufficientFunds, LedgerError, UnknownAccount

__all__ = [
    "POINTS", "Balance", "EmbeddedLedger", "Transfer",
    "LedgerError", "IdReused", "InsufficientFunds", "UnknownAccount",
]
