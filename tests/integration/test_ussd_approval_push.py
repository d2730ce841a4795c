"""A shop's request pushed to the member's phone, over loopback TCP on SQLite and PostgreSQL.

The shop sends RDM by SMS; with `[ussd] push_bind` on a bind whose dialect can start a session
(smpp5, dialogue15) the member's phone also gets a network-initiated USSD screen with the request,
answers 1 (or 2), and the YES (NO) handler runs with the prompt's code, which is never on the
screen nor in the session row; the shop is told by SMS. The prompt SMS goes in every case, so when
the phone refuses the push (busy, Cancel) or is in a USSD session already, the member answers by
SMS as before.
"""

import json
import random
import re
from dataclasses import replace

from sqlalchemy import select
from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from agent_cases import AgentExchangeCases
from agent_fixtures import JANE, SHOP
from gateway.config import load
from gateway.smpp.codec import Pdu
from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.tables_agents import agent_redemptions
from gateway.store.tables_ussd import ussd_sessions
from gateway.testing import LoopbackGateway
from gateway.ussd.actions import PUSHED
from gateway_cases import _until, scratch_url


class UssdPushCases:
    database = "sqlite"
    dialect = "smpp5"
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        base = load()
        binds = tuple(replace(b, ussd_dialect=self.dialect) for b in base.binds)
        config = replace(base, binds=binds,
                         ussd=replace(base.ussd, push_bind=binds[0].name))
        self.loop = LoopbackGateway(reactor, scratch_url(self), config)
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        self.loop.gateway.agency.rng = random.Random(20261202)   # a code the texts cannot hold
        yield threads.deferToThread(self._seed)
        self.network = UssdNetwork(self.loop.simulator, self.dialect)
        self.addCleanup(self.network.close)

    _seed = AgentExchangeCases._seed    # the goods and the sample agent network

    def states(self):
        with self.loop.gateway.engine.connect() as conn:
            return [row.state for row in conn.execute(select(agent_redemptions.c.state))]

    def sessions(self):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(select(ussd_sessions)).all()

    @defer.inlineCallbacks
    def shop_asks(self):
        """The shop's RDM by SMS; fires with the code of the member's prompt SMS."""
        yield self.loop.simulator.deliver(SHOP, self.loop.short_code, "RDM 0712345678 RICE5 2")
        asked = yield self.loop.simulator.wait_for_submits(2)
        prompt = next(mt.text for mt in asked if mt.destination_addr == JANE)
        return re.search(r"YES (\d{4})", prompt).group(1)

    @defer.inlineCallbacks
    def agent_told(self, word):
        told = yield self.loop.simulator.wait_for_submits(3)
        self.assertEqual(told[2].destination_addr, SHOP)
        self.assertIn(word, told[2].text)

    @defer.inlineCallbacks
    def test_member_approves_the_pushed_request_with_one_key(self):
        code = yield self.shop_asks()
        push = yield self.network.next_push(JANE)
        self.assertFalse(push.ends)
        for shown in ("Shop Li", "A1023", "2 x Rice 5kg", "1,000 pts", "1 Approve", "2 Refuse",
                      "Never share your PIN"):
            self.assertIn(shown, push.text)
        self.assertNotIn(code, push.text)
        [row] = self.sessions()
        [reference] = [r.reference for r in self._requests()]
        self.assertEqual(json.loads(row.state)["values"]["approval"], reference)
        self.assertEqual(set(json.loads(row.state)["values"]), set(PUSHED))
        self.assertNotIn(code, row.state + row.screen + row.session)
        done = yield self.network.phone(JANE).accept(push).answer("1")
        self.assertTrue(done.ends)
        self.assertIn("Balance 350", done.text)
        self.assertNotIn(code, done.text)
        self.assertEqual(self.states(), ["approved"])
        yield self.agent_told("Approved")
        yield _until(lambda: self.sessions()[0].result == "shown")

    @defer.inlineCallbacks
    def test_member_refuses_the_pushed_request(self):
        yield self.shop_asks()
        push = yield self.network.next_push(JANE)
        done = yield self.network.phone(JANE).accept(push).answer("2")
        self.assertTrue(done.ends)
        self.assertEqual(self.states(), ["refused"])
        yield self.agent_told("refused")

    @defer.inlineCallbacks
    def test_a_refused_push_leaves_the_sms_to_answer(self):
        self.network.refuse_pushes.add(JANE)       # the phone is busy, or Cancel was pressed
        code = yield self.shop_asks()
        yield _until(lambda: [r.state for r in self.sessions()] == [None])
        self.assertEqual(self.states(), ["pending"])
        yield self.loop.simulator.deliver(JANE, self.loop.short_code, f"YES {code}")
        yield _until(lambda: self.states() == ["approved"])
        told = yield self.loop.simulator.wait_for_submits(4)
        self.assertTrue(any(mt.destination_addr == SHOP and "Approved" in mt.text for mt in told))

    @defer.inlineCallbacks
    def test_no_push_to_a_member_already_in_a_ussd_session(self):
        phone = self.network.phone(JANE)
        yield phone.dial("*123#")                  # Jane is in the menus when the shop asks
        code = yield self.shop_asks()
        yield _until(lambda: "in a USSD session" in self._skipped)
        self.assertEqual(len(self.sessions()), 1)  # hers only
        yield self.loop.simulator.deliver(JANE, self.loop.short_code, f"YES {code}")
        yield _until(lambda: self.states() == ["approved"])

    @defer.inlineCallbacks
    def test_a_push_the_smsc_refuses_is_closed_and_the_sms_answers(self):
        push = self.loop.gateway.agency.push_approval
        push._screens._binds = {name: _Refusing() for name in push._screens._binds}  # an error
        code = yield self.shop_asks()
        yield _until(lambda: [r.state for r in self.sessions()] == [None])
        self.assertEqual(list(push.sent), [])
        yield self.loop.simulator.deliver(JANE, self.loop.short_code, f"YES {code}")
        yield _until(lambda: self.states() == ["approved"])

    def _requests(self):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(select(agent_redemptions)).all()

    @property
    def _skipped(self):
        return self.loop.gateway.agency.push_approval.skipped


class _Refusing:
    """A bind whose SMSC answers every submit_sm with ESME_RSUBMITFAIL."""

    class protocol:
        @staticmethod
        def submit_slots():
            return 1

        @staticmethod
        def submit(params):
            return defer.succeed(Pdu("submit_sm_resp", 1, 0x45))


def _cases(database, dialect):
    name = f"UssdPush_{dialect}_{database}"
    return type(name, (UssdPushCases, unittest.TestCase),
                {"database": database, "dialect": dialect})


for _database in ("sqlite", "postgresql"):
    for _dialect in ("smpp5", "dialogue15"):
        _case = _cases(_database, _dialect)
        globals()[_case.__name__] = _case
del _case
