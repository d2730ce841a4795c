"""The agent exchange of DESIGN.md over SMPP through the simulator, written once for each database:
the shop's RDM, the member's prompt and YES, both receipts; and an RDM the SMSC delivers twice."""

from __future__ import annotations

import re

from sqlalchemy import select
from twisted.internet import defer, reactor, threads

from agent_fixtures import GOODS, JANE, SHOP, load_sample_network
from gateway import catalog
from gateway.store.tables_agents import agent_redemptions
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url
from ledger_client import audit


class AgentExchangeCases:
    database = "sqlite"
    timeout = 30

    @defer.inlineCallbacks
    def setUp(self):
        self.loop = LoopbackGateway(reactor, scratch_url(self))
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        yield threads.deferToThread(self._seed)

    def _seed(self):
        gateway = self.loop.gateway
        with gateway.engine.begin() as conn:
            for item in GOODS:
                catalog.add(conn, item, gateway.now())
            assert load_sample_network(conn, gateway.now()).ok

    def rows(self, query):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    @defer.inlineCallbacks
    def mts(self, count: int, before: int):
        submitted = yield self.loop.simulator.wait_for_submits(before + count)
        return {mt.destination_addr: mt.text for mt in submitted[before:before + count]}

    @defer.inlineCallbacks
    def test_the_full_exchange(self):
        short_code = self.loop.short_code
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5 2")
        asked = yield self.mts(2, 0)
        self.assertIn("0712***678 JANE W.", asked[SHOP])
        prompt = asked[JANE]
        self.assertIn("Shop Li (A1023) asks to redeem 2 x Rice 5kg for 1,000 pts.", prompt)
        self.assertIn("Never share your PIN.", prompt)
        code = re.search(r"YES (\d{4})", prompt).group(1)

        yield self.loop.simulator.deliver(JANE, short_code, f"YES {code}")
        done = yield self.mts(2, 2)
        reference = self.rows(select(agent_redemptions.c.reference))[0][0]
        self.assertEqual(done[SHOP], f"Jifen: Approved {reference}: hand over 2 x Rice 5kg. "
                                     "Commission 20 pts.")
        self.assertIn(f"Balance 350. Ref {reference}. Problem? Send DISPUTE {reference} within 24h.",
                      done[JANE])
        with self.loop.gateway.engine.connect() as conn:
            self.assertEqual(audit.problems(conn), [])
        self.assertNotIn(code, str(self.rows(select(agent_redemptions))))

    @defer.inlineCallbacks
    def test_an_rdm_delivered_twice_redeems_once(self):
        short_code = self.loop.short_code
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5")
        yield self.mts(2, 0)
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5")
        again = yield self.mts(1, 2)
        self.assertEqual(list(again), [SHOP])
        self.assertEqual(len(self.rows(select(agent_redemptions))), 1)
