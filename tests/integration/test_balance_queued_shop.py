"""BAL with a shop's hold still queued for the central ledger (RDM while the ledger is away).

The hold is a debit like a redemption's: until the centre has it the member's BAL shows it on
hold; once it has (the member is then asked to approve) the centre's own figure shows it on hold,
and it is not taken off a second time. The poster is paused while the ledger is away so that the
test says when the hold lands. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from agent_cases import CentralLedgerShops
from agent_fixtures import JANE, SHOP
from gateway.ledger_poster import LedgerPoster
from ledger_fixtures import ScratchDatabase, until

HELD = "Jifen: your balance is 350 pts (1,000 on hold)."         # RICE5 x 2 of 1,350


class ShopHoldQueued(CentralLedgerShops):
    @defer.inlineCallbacks
    def test_bal_shows_a_queued_hold_on_hold_and_once_it_is_held_not_twice(self):
        [poster] = [s for s in self.loop.gateway if isinstance(s, LedgerPoster)]
        yield poster.stopService()                       # the test says when the hold is sent
        yield self.service.stop()
        yield self.loop.simulator.deliver(SHOP, self.loop.short_code, "RDM 0712345678 RICE5 2")
        yield until(lambda: self.postings() == {"queued": 1})
        self.service.start()
        before = yield self.send(JANE, "BAL", (JANE, 1))
        self.assertEqual(before[JANE], [HELD])
        self.assertEqual(self.central_available(JANE), 1350)     # the centre has not got it

        yield poster.wake()
        yield until(lambda: self.postings() == {"posted": 1} and len(self.mts(JANE)) == 2)
        self.assertIn("YES", self.mts(JANE)[1])                  # asked to approve
        self.assertEqual(self.central_available(JANE), 350)      # held at the centre now
        after = yield self.send(JANE, "BALANCE", (JANE, 1))      # not "BAL": a redelivery
        self.assertEqual(after[JANE], [HELD])


class ShopHoldQueuedOnSQLite(ShopHoldQueued, ScratchDatabase, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class ShopHoldQueuedOnPostgreSQL(ShopHoldQueued, ScratchDatabase, unittest.TestCase):
    database = "postgresql"
