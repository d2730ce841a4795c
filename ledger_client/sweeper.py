"""`HoldSweeper`: voids the holds whose time is up, every few seconds, on an injected clock.

The daemon that owns the ledger's database runs it: the gateway in embedded mode, `jifen
ledger serve` for the central ledger.  Posting a hold past its time is refused even before
the sweep comes by (posting.py), so the sweep only decides when the points come back, not
whether a late confirmation can still spend them.
"""

from __future__ import annotations

from typing import Callable

import structlog
from twisted.application import service
from twisted.internet import defer, task

from ledger_client.embedded import EmbeddedLedger

log = structlog.get_logger(__name__)


class HoldSweeper(service.Service):
    def __init__(self, ledger: EmbeddedLedger, run: Callable[..., defer.Deferred], clock, *,
                 interval: float = 5.0, expired: Callable[[list[str]], object] = lambda ids: None):
        self._ledger = ledger
        self._run = run
        self._interval = interval
        self._expired = expired
        self._loop = task.LoopingCall(self.sweep)
        self._loop.clock = clock

    def startService(self):
        super().startService()
        self._loop.start(self._interval, now=False)

    def stopService(self):
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def sweep(self) -> defer.Deferred:
        """Expire what is due (in rounds of 500 until none is left); never fails."""
        swept = self._run(self._ledger.expire_holds)

        def done(ids):
            if ids:
                log.info("ledger.holds_expired", count=len(ids))
                self._expired(ids)
                return self.sweep() if len(ids) >= 500 else None

        swept.addCallback(done)
        swept.addErrback(lambda f: log.error("ledger.sweep_failed", error=f.getErrorMessage()))
        return swept
