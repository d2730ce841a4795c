"""`Ledger`: the one asynchronous interface both sides of the boundary implement.

The gateway talks to the ledger from two places.  Inside an MO's database
transaction, on a database thread, it uses `EmbeddedLedger` directly and
synchronously, so the posting commits with the MO (that is the embedded
mode's whole point).  Everywhere else, in particular the ledger poster that
drains the durable postings queue, it holds a `Ledger`, which answers with
Deferreds and never blocks the reactor:

- `ThreadedLedger` (local.py): the embedded ledger on the database's threads;
- `HttpLedger` (http.py): the central ledger service over HTTP.

A test suite written once against `Ledger` runs against both.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from twisted.internet.defer import Deferred

from ledger_client.types import POINTS, Transfer


@runtime_checkable
class Ledger(Protocol):
    """Refusals fail the Deferred with a `LedgerError`; an unreachable ledger with
    `LedgerUnavailable` (retry later: every write is idempotent by its transfer id)."""

    def open_account(self, kind: str, reference: str, *, ledger: str = POINTS,
                     no_overdraft: bool = True) -> Deferred:
        """Deferred[int]: the account for (ledger, kind, reference), opened if new."""

    def post(self, batch: Sequence[Transfer]) -> Deferred:
        """Deferred[list[TransferResult]]: the batch posted all or nothing."""

    def balance(self, account_id: int) -> Deferred:
        """Deferred[Balance]."""

    def history(self, account_id: int, limit: int = 10) -> Deferred:
        """Deferred[list[Movement]], newest first."""
