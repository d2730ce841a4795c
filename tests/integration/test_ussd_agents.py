"""USSD in front of the agent commands, over loopback TCP on SQLite and PostgreSQL.

A shop's RDM by SMS puts a request in the member's "Shop requests" menu; the member approves or
refuses it there with the code of the prompt SMS (the YES / NO handlers, once), and the shop is
told by SMS as if the member had texted. An agent's phone gets the agent menus.
"""

import re
from dataclasses import replace

import pytest
from sqlalchemy import select
from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from agent_cases import AgentExchangeCases
from agent_fixtures import JANE, SHOP
from gateway.config import load
from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.tables_agents import agent_redemptions
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url


class UssdAgentCases:
    database = "sqlite"
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        base = load()
        config = replace(base, binds=tuple(replace(b, ussd_dialect="smpp5") for b in base.binds))
        self.loop = LoopbackGateway(reactor, scratch_url(self), config)
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        yield threads.deferToThread(self._seed)
        self.network = UssdNetwork(self.loop.simulator, "smpp5")

    _seed = AgentExchangeCases._seed    # the goods and the sample agent network

    def states(self):
        with self.loop.gateway.engine.connect() as conn:
            return [row.state for row in conn.execute(select(agent_redemptions.c.state))]

    @defer.inlineCallbacks
    def shop_asks(self):
        """The shop's RDM by SMS; fires with the member's confirmation code from the prompt."""
        yield self.loop.simulator.deliver(SHOP, self.loop.short_code, "RDM 0712345678 RICE5 2")
        asked = yield self.loop.simulator.wait_for_submits(2)
        prompt = next(mt.text for mt in asked if mt.destination_addr == JANE)
        return re.search(r"YES (\d{4})", prompt).group(1)

    @defer.inlineCallbacks
    def open_request(self, phone):
        yield phone.dial("*123#")
        listing = yield phone.answer("5")                   # Shop requests
        self.assertIn("2 x Rice 5kg", listing.text)
        request = yield phone.answer("1")
        self.assertIn("1,000", request.text.replace("1000", "1,000"))
        return request

    @defer.inlineCallbacks
    def test_member_approves_a_shop_request_from_the_menu(self):
        code = yield self.shop_asks()
        phone = self.network.phone(JANE)
        yield self.open_request(phone)
        prompt = yield phone.answer("1")                    # Approve
        self.assertIn("code", prompt.text)
        done = yield phone.answer(code)
        self.assertTrue(done.ends)
        self.assertIn("Balance 350", done.text)
        self.assertNotIn(code, done.text)
        self.assertEqual(self.states(), ["approved"])
        told = yield self.loop.simulator.wait_for_submits(3)
        self.assertEqual(told[2].destination_addr, SHOP)
        self.assertIn("Approved", told[2].text)

    @defer.inlineCallbacks
    def test_the_shop_is_told_when_the_step_commits_not_at_the_senders_poll(self):
        self.loop.gateway.sender._poll.stop()     # from here only a wake-up sends an SMS
        code = yield self.shop_asks()
        phone = self.network.phone(JANE)
        yield self.open_request(phone)
        yield phone.answer("1")
        yield phone.answer(code)
        told = yield self.loop.simulator.wait_for_submits(3)
        self.assertEqual((told[2].destination_addr, "Approved" in told[2].text), (SHOP, True))

    @defer.inlineCallbacks
    def test_member_refuses_and_a_wrong_code_approves_nothing(self):
        code = yield self.shop_asks()
        phone = self.network.phone(JANE)
        yield self.open_request(phone)
        yield phone.answer("1")
        wrong = yield phone.answer("0000" if code != "0000" else "1111")
        self.assertEqual(self.states(), ["pending"], wrong.text)
        yield self.open_request(phone)
        yield phone.answer("2")                             # Refuse
        yield phone.answer(code)
        self.assertEqual(self.states(), ["refused"])

    @defer.inlineCallbacks
    def test_no_pending_request_shows_the_empty_list(self):
        phone = self.network.phone(JANE)
        yield phone.dial("*123#")
        listing = yield phone.answer("5")
        self.assertIn("No shop is waiting for you", listing.text)

    @defer.inlineCallbacks
    def test_an_agents_phone_gets_the_agent_menus(self):
        phone = self.network.phone(SHOP)
        home = yield phone.dial("*123#")
        self.assertIn("Jifen Agent", home.text)
        figures = yield phone.answer("2")                   # Commission: the AGBAL handler
        self.assertTrue(figures.ends)
        self.assertIn("A1023", figures.text)

    @defer.inlineCallbacks
    def test_an_agent_redeems_for_a_member_from_the_menu(self):
        phone = self.network.phone(SHOP)
        yield phone.dial("*123#")
        yield phone.answer("1")
        yield phone.answer("0712345678")
        yield phone.answer("2")                             # Rice 5kg
        screen = yield phone.answer("2")
        done = yield phone.answer("1234")                   # the sample shop has no agent PIN
        self.assertIn("0712***678", done.text, screen.text)
        self.assertEqual(self.states(), ["pending"])
        prompt = yield self.loop.simulator.wait_for_submits(1)
        self.assertEqual(prompt[0].destination_addr, JANE)


class UssdAgentsOnSQLite(UssdAgentCases, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class UssdAgentsOnPostgreSQL(UssdAgentCases, unittest.TestCase):
    database = "postgresql"
