"""Two agents racing for the last unit of stock, in two real concurrent transactions.

On PostgreSQL the two RDMs run on two of the gateway's database threads, each in its own
transaction and connection, and a barrier holds both just before they take the stock, so both
are inside their transaction (each member's row already locked) when either takes it. On SQLite
the same two RDMs go to the gateway's single writer at once (both `Database.run` calls issued
before either runs); it runs them one after the other. Either way: one pending redemption, the
stock 0, one hold in the ledger, and the other agent told it is sold out.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from twisted.internet import defer, threads
from twisted.trial import unittest

from agent_fixtures import JANE, LI, OTHER_SHOP, SHOP, Agency
from gateway import catalog
from gateway.commands import agent
from gateway.commands.agent_values import Refusal, Started
from gateway.store.tables_agents import agent_redemptions
from ledger_client import audit
from ledger_client.schema import holds
from ledger_fixtures import ScratchDatabase


class LastUnitRace(ScratchDatabase):
    schema = "all"
    timeout = 60

    def setUp(self):
        self.open_database()
        return threads.deferToThread(lambda: setattr(self, "agency", Agency(self.engine)))

    def rdm(self, conn, member: str, shop: str, key: str):
        return self.agency.service.start(
            conn, agent_msisdn=shop, member_msisdn=member, item="LAMP", quantity=1, pin=None,
            key=key, short_code="10655", language="en", now=self.agency.now)

    @defer.inlineCallbacks
    def test_two_rdms_for_the_last_unit_at_once_redeem_it_once(self):
        results = yield defer.gatherResults([self.db.run(self.rdm, JANE, SHOP, "mo:1"),
                                             self.db.run(self.rdm, LI, OTHER_SHOP, "mo:2")])
        won = [r for r in results if isinstance(r, Started)]
        lost = [r for r in results if isinstance(r, Refusal)]
        self.assertEqual((len(won), lost), (1, [Refusal("sold_out")]))
        self.assertEqual(agent.refused("en", lost[0]).text,
                         "Jifen: not done. That item is sold out.")
        yield threads.deferToThread(self._check_one_redemption)

    def _check_one_redemption(self):
        with self.engine.connect() as conn:
            self.assertEqual(list(conn.execute(select(agent_redemptions.c.state)).scalars()),
                             ["pending"])
            self.assertEqual(catalog.find(conn, "LAMP").stock, 0)
            self.assertEqual(conn.execute(select(func.count()).select_from(holds).where(
                holds.c.state == "pending")).scalar_one(), 1)
            self.assertEqual(audit.problems(conn), [])


class LastUnitRaceOnSQLite(LastUnitRace, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class LastUnitRaceOnPostgreSQL(LastUnitRace, unittest.TestCase):
    database = "postgresql"

    def setUp(self):
        barrier = threading.Barrier(2, timeout=20)
        real = catalog.take_stock
        self.met = []

        def take_stock_when_both_are_in(conn, item_id, quantity):
            # Both transactions have begun and locked their member: now race for the stock.
            self.met.append(barrier.wait())
            return real(conn, item_id, quantity)

        self.patch(catalog, "take_stock", take_stock_when_both_are_in)
        return super().setUp()

    @defer.inlineCallbacks
    def test_two_rdms_for_the_last_unit_at_once_redeem_it_once(self):
        yield super().test_two_rdms_for_the_last_unit_at_once_redeem_it_once()
        self.assertEqual(sorted(self.met), [0, 1])     # both reached the stock inside their txn
