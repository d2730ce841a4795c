"""The agent menus with the central ledger: an RDM from the menu has no answer until the ledger
has taken the hold, so its last screen says the result comes by SMS, and the SMS comes.
On SQLite and PostgreSQL."""

import dataclasses

import pytest
from sqlalchemy import select
from twisted.internet import defer
from twisted.trial import unittest

from agent_cases import CentralLedgerShops
from agent_fixtures import JANE, SHOP
from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.tables_agents import agent_redemptions
from ledger_fixtures import ScratchDatabase

BY_SMS = "We are still working on it. You will get the result by SMS."


class UssdAgentsCentralCases(CentralLedgerShops):
    def configured(self, config):
        return dataclasses.replace(config, binds=tuple(
            dataclasses.replace(b, ussd_dialect="smpp5") for b in config.binds))

    @defer.inlineCallbacks
    def test_an_agents_menu_redemption_says_the_result_comes_by_sms(self):
        phone = UssdNetwork(self.loop.simulator, "smpp5").phone(SHOP)
        yield phone.dial("*123#")
        yield phone.answer("1")                             # Redeem for a member
        yield phone.answer("0712345678")
        yield phone.answer("2")                             # Rice 5kg
        yield phone.answer("2")
        done = yield phone.answer("1234")                   # the sample shop has no agent PIN
        self.assertEqual((done.text, done.ends), (BY_SMS, True))
        told = yield self.loop.simulator.wait_for_submits(2)
        self.assertEqual(sorted(mt.destination_addr for mt in told), sorted([JANE, SHOP]))
        [row] = self.rows(select(agent_redemptions.c.state))
        self.assertEqual(row.state, "pending")              # the centre holds the points


class UssdAgentsCentralOnSQLite(UssdAgentsCentralCases, ScratchDatabase, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class UssdAgentsCentralOnPostgreSQL(UssdAgentsCentralCases, ScratchDatabase, unittest.TestCase):
    database = "postgresql"
