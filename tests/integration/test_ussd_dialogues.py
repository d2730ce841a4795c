"""Whole USSD dialogues over loopback TCP: the simulator's phones against the real gateway.

Every dialect, on SQLite and PostgreSQL: balance, the catalogue, redeem a voucher with a PIN (a
ledger debit, once), a wrong answer that re-shows the screen, a phone that hangs up, and a
dialogue that times out mid-menu. Each step's row is committed before its deliver_sm is answered.
"""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway import catalog
from gateway.config import load
from gateway.smpp.codec import Status
from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.models import members, outbox
from gateway.store.tables_ussd import ussd_sessions
from gateway.testing import LoopbackGateway
from gateway_cases import _until, scratch_url

MEMBER = "254712345678"
PIN = "4321"


class UssdDialogueCases:
    database = "sqlite"
    dialect = "smpp5"
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        base = load()
        config = replace(base, binds=tuple(replace(b, ussd_dialect=self.dialect) for b in base.binds))
        self.loop = LoopbackGateway(reactor, scratch_url(self), config)
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        yield self.loop.gateway.db.run(self._shop)
        self.network = UssdNetwork(self.loop.simulator, self.dialect)
        self.phone = self.network.phone(MEMBER)

    def _shop(self, conn):
        gateway = self.loop.gateway
        catalog.load(conn, catalog.parse(Path(gateway.config.redemption.catalog_path).read_text()),
                     gateway.now())
        member_id = conn.execute(select(members.c.id).where(members.c.msisdn == MEMBER)).scalar()
        gateway.redemptions.pins.set_first(conn, member_id, PIN, gateway.now())

    def rows(self, query):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    def balance(self):
        gateway = self.loop.gateway
        with gateway.engine.connect() as conn:
            account = conn.execute(select(members.c.points_account_id).where(
                members.c.msisdn == MEMBER)).scalar()
            return gateway.ledger.balance(conn, account).available

    @defer.inlineCallbacks
    def test_balance(self):
        home = yield self.phone.dial("*123#")
        self.assertFalse(home.ends)
        self.assertIn("1 My balance", home.text)
        last = yield self.phone.answer("1")
        self.assertTrue(last.ends)
        self.assertIn("1,350", last.text)
        self.assertEqual(self.phone.statuses, [Status.OK, Status.OK])
        [(state, result)] = self.rows(select(ussd_sessions.c.state, ussd_sessions.c.result))
        self.assertIsNone(state)
        yield _until(lambda: self.rows(select(ussd_sessions.c.result))[0][0] == "shown")

    @defer.inlineCallbacks
    def test_catalogue_then_redeem_with_pin_posts_once(self):
        before = self.balance()
        yield self.phone.dial("*123#")
        listing = yield self.phone.answer("2")              # the catalogue
        self.assertIn("Airtime", listing.text)
        bad = yield self.phone.answer("77")                 # not on the page: same screen, a hint
        self.assertIn("Invalid choice", bad.text)
        yield self.phone.answer("00")                       # home
        screen = yield self.phone.answer("3")               # redeem: a code
        screen = yield self.phone.answer("AIR50")
        screen = yield self.phone.answer("1")               # quantity
        self.assertIn("PIN", screen.text)
        done = yield self.phone.answer(PIN)
        self.assertTrue(done.ends)
        self.assertNotIn(PIN, done.text)
        with self.loop.gateway.engine.connect() as conn:
            cost = catalog.find(conn, "AIR50").price
        self.assertEqual(self.balance(), before - cost, done.text)

    @defer.inlineCallbacks
    def test_a_dialled_shortcut_lands_where_the_keys_would(self):
        pressed = self.network.phone(MEMBER)
        yield pressed.dial("*123#")
        yield pressed.answer("2")
        by_keys = yield pressed.answer("1")                 # the catalogue's first reward
        dialled = yield self.phone.dial("*123*2*1#")
        self.assertEqual(dialled.text, by_keys.text)
        self.assertIn("How many?", dialled.text)
        screen = yield self.phone.answer("1")               # and the dialogue goes on from there
        self.assertIn("PIN", screen.text)
        wrong = yield self.network.phone(MEMBER).dial("*123*2*x*1#")
        self.assertTrue(wrong.text.startswith("Invalid choice.\n1 "), wrong.text)  # the list again
        self.assertFalse(wrong.ends)

    @defer.inlineCallbacks
    def test_a_dialled_shortcut_to_an_action_runs_it_and_is_shown(self):
        done = yield self.phone.dial("*123*1#")             # My balance
        self.assertTrue(done.ends)
        self.assertIn("1,350", done.text)
        yield _until(lambda: self.rows(select(ussd_sessions.c.result)) == [("shown",)])

    @defer.inlineCallbacks
    def test_release_mid_menu_ends_the_dialogue(self):
        yield self.phone.dial("*123#")
        status = yield self.phone.release()
        self.assertEqual(status, Status.OK)
        [(state,)] = self.rows(select(ussd_sessions.c.state))
        self.assertIsNone(state)

    @defer.inlineCallbacks
    def test_time_out_mid_menu(self):
        yield self.phone.dial("*123#")
        yield self.phone.answer("2")
        # Past the session timeout: the row is stale, and the sweep removes it.
        with self.loop.gateway.engine.begin() as conn:
            conn.execute(ussd_sessions.update().values(
                expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        late = yield self.phone.answer("1")
        self.assertTrue(late.ends)
        self.assertIn("dial again", late.text)
        yield self.loop.gateway.ussd.sweep(datetime.now(timezone.utc) + timedelta(days=1))
        self.assertEqual(self.rows(select(func.count()).select_from(ussd_sessions)), [(0,)])

    @defer.inlineCallbacks
    def test_unreadable_ussd_is_acknowledged_not_sent_to_the_sms_inbox(self):
        status = yield self.loop.simulator.deliver(MEMBER, "123", "x", service_type="USSD",
                                                   ussd_service_op=7)
        self.assertEqual(status, Status.OK)
        self.assertEqual(self.rows(select(func.count()).select_from(outbox)), [(0,)])

    @defer.inlineCallbacks
    def test_step_is_committed_before_it_is_acknowledged(self):
        seen = []
        screen = self.network._next_screen(MEMBER)
        delivered = self.loop.simulator.deliver(MEMBER, "123", "*123#", service_type="USSD",
                                                **self.phone._tlvs("begin"))
        delivered.addCallback(lambda status: seen.append(
            self.rows(select(ussd_sessions.c.msisdn, ussd_sessions.c.step))))
        yield delivered
        self.assertEqual(seen, [[(MEMBER, 0)]])
        yield screen


def _cases(database, dialect):
    name = f"Ussd_{dialect}_{database}"
    return type(name, (UssdDialogueCases, unittest.TestCase),
                {"database": database, "dialect": dialect})


for _database in ("sqlite", "postgresql"):
    for _dialect in ("smpp5", "umr", "dialogue15"):
        _case = _cases(_database, _dialect)
        globals()[_case.__name__] = _case
del _case

