"""The embedded ledger behind the asynchronous `Ledger` interface.

``run(fn, *args)`` must call ``fn(connection, *args)`` in one transaction off
the reactor thread and return a Deferred of the result; the gateway passes
its ``Database.run``.  Each call is its own transaction.
"""

from __future__ import annotations

from typing import Callable, Sequence

from twisted.internet.defer import Deferred

from ledger_client.embedded import EmbeddedLedger
from ledger_client.types import POINTS, Transfer


class ThreadedLedger:
    def __init__(self, ledger: EmbeddedLedger, run: Callable[..., Deferred]):
        self._ledger = ledger
        self._run = run

    def open_account(self, kind: str, reference: str, *, ledger: str = POINTS,
                     no_overdraft: bool = True) -> Deferred:
        return self._run(lambda conn: self._ledger.open_account(
            conn, kind, reference, ledger=ledger, no_overdraft=no_overdraft))

    def post(self, batch: Sequence[Transfer]) -> Deferred:
        return self._run(lambda conn: self._ledger.post(conn, list(batch), savepoint=False))

    def balance(self, account_id: int) -> Deferred:
        return self._run(self._ledger.balance, account_id)

    def history(self, account_id: int, limit: int = 10) -> Deferred:
        return self._run(self._ledger.history, account_id, limit)
