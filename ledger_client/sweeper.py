"""Sweeps on a timer: `SweepLoop` (the loop) and `HoldSweeper` (the ledger's sweep of its holds).

`SweepLoop` is the one timer loop of the daemons' sweeps: `HoldSweeper` here, and the gateway's
`AgencySweeper` (gateway/agency/sweeper.py), which imports it from this module because
ledger_client never imports the gateway.  It lives beside the ledger's sweep for that reason only.

`HoldSweeper` voids the holds whose time is up, every few seconds, on an injected clock.  The
daemon that owns the ledger's database runs it: the gateway in embedded mode, `jifen ledger
serve` for the central ledger.  Posting a hold past its time is refused even before the sweep
comes by (posting.py), so the sweep only decides when the points come back, not whether a late
confirmation can still spend them.
"""

from __future__ import annotations

from typing import Callable

import structlog
from twisted.application import service
from twisted.internet import defer, task

from ledger_client.embedded import EmbeddedLedger

log = structlog.get_logger(__name__)

__all__ = ["HoldSweeper", "SweepLoop"]


class SweepLoop(service.Service):
    """Calls `sweep_once` every `interval` seconds on `clock` while the service runs.

    The first sweep comes one interval after start, not at start (TimerService would sweep at
    once, before the daemon has finished starting, and tests count on the interval).  The loop
    waits for each sweep's Deferred before timing the next, so a slow database never runs two
    sweeps at once, and a failed sweep is logged as `failed` and does not stop the loop.
    Subclasses implement `sweep_once`.
    """

    def __init__(self, clock, interval: float, *, failed: str):
        self._interval = interval
        self._failed = failed
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
        """One sweep now; never fails (a failure is logged)."""
        swept = defer.maybeDeferred(self.sweep_once)
        swept.addErrback(lambda f: log.error(self._failed, error=f.getErrorMessage()))
        return swept

    def sweep_once(self) -> defer.Deferred:
        raise NotImplementedError


class HoldSweeper(SweepLoop):
    def __init__(self, ledger: EmbeddedLedger, run: Callable[..., defer.Deferred], clock, *,
                 interval: float = 5.0, expired: Callable[[list[str]], object] = lambda ids: None):
        super().__init__(clock, interval, failed="ledger.sweep_failed")
        self._ledger = ledger
        self._run = run
        self._expired = expired

    def sweep_once(self) -> defer.Deferred:
        """Expire what is due, in rounds of 500 until none is left."""
        swept = self._run(self._ledger.expire_holds)

        def done(ids):
            if ids:
                log.info("ledger.holds_expired", count=len(ids))
                self._expired(ids)
                return self.sweep_once() if len(ids) >= 500 else None

        return swept.addCallback(done)
