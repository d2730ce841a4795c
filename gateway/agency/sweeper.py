"""`AgencySweeper`: ends the assisted redemptions nobody answered in time, on the daemon's clock.

The ledger's own `HoldSweeper` returns the points of an expired hold; this sweep does the rest:
the redemption marked expired, the stock back, and both sides told (keys ``ardm:<ref>:expired:*``,
so a sweep that runs twice cannot tell anyone twice).  A YES that comes after the time but before
the sweep is answered "expired" all the same (service.py).  The timer is ledger_client's
`SweepLoop`, the one loop both sweeps share.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import structlog
from twisted.internet import defer

from gateway.commands.agent import expiry_notices
from gateway.redeem import notices
from ledger_client.sweeper import SweepLoop

log = structlog.get_logger(__name__)


class AgencySweeper(SweepLoop):
    def __init__(self, agency, run: Callable[..., defer.Deferred], clock,
                 now: Callable[[], datetime], *, interval: float = 5.0,
                 swept: Callable[[], object] = lambda: None):
        super().__init__(clock, interval, failed="agents.sweep_failed")
        self._agency = agency
        self._run = run
        self._now = now
        self._swept = swept            # wakes the sender for the notices

    def sweep_once(self) -> defer.Deferred:
        """Expire what is due and queue the notices."""
        done = self._run(self.expire, self._now())

        def told(count):
            if count:
                log.info("agents.rdms_expired", count=count)
                self._swept()

        return done.addCallback(told)

    def expire(self, conn, now: datetime) -> int:
        """One transaction: expire what is due, and queue both notices of each."""
        deals = self._agency.expire_due(conn, now)
        for deal in deals:
            short_code = self._agency.short_code_of(conn, deal.reference)
            for to, reply, key in expiry_notices(deal):
                notices.queue(conn, key, to=to, short_code=short_code, text=reply.text,
                              language=reply.language, now=now)
        return len(deals)
