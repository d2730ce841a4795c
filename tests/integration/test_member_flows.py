"""Member flows end to end: the simulator delivers each MO over loopback TCP, the gateway runs
CAT, REDEEM, HIST, PIN or BAL against its database and embedded ledger, and the simulator
collects the submit_sm it answers with. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from datetime import datetime, timezone

import pytest
import structlog
from sqlalchemy import select
from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from gateway import catalog
from gateway.cli import main
from gateway.config import load
from gateway.redeem import codes
from gateway.store.models import members
from gateway.store.tables_catalog import vouchers
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url
from ledger_client import Transfer

JANE, LI, AMINA = "254712345678", "8613800138000", "254722000111"   # 1,350 / 2,600 / 40 pts
EXTRA = [catalog.Item(f"TREAT{n}", "treats", "voucher", 150 + n, {"en": f"Tea and cake {n}"},
                      stock=50) for n in range(8)]
GONE = catalog.Item("GONE", "treats", "voucher", 10, {"en": "All gone"}, stock=0)


class FlowCases:
    database = "sqlite"
    pin_required = True
    timeout = 60

    def setUp(self):
        base = load()
        config = dataclasses.replace(base, redemption=dataclasses.replace(
            base.redemption, pin_required=self.pin_required))
        self.url = scratch_url(self)
        self.loop = LoopbackGateway(reactor, self.url, config=config)
        self.addCleanup(self.loop.stop)
        started = self.loop.start()
        return started.addCallback(lambda _: threads.deferToThread(self._catalogue))

    def _catalogue(self):
        gateway = self.loop.gateway
        path = gateway.config.redemption.catalog_path
        with gateway.engine.begin() as conn:
            catalog.load(conn, catalog.parse(open(path, encoding="utf-8").read()), gateway.now())
            for item in [*EXTRA, GONE]:
                catalog.add(conn, item, gateway.now())

    def send(self, msisdn: str, text: str) -> defer.Deferred:
        """The text of the one reply."""
        return self.loop.exchange(msisdn, text).addCallback(lambda mt: mt.text)

    def db(self, fn):
        with self.loop.gateway.engine.begin() as conn:
            return fn(conn)

    @defer.inlineCallbacks
    def pin(self, msisdn: str, pin: str = "2468"):
        reply = yield self.send(msisdn, f"PIN {pin}")
        self.assertTrue("PIN is set" in reply or "密码已设置" in reply, reply)


class PinFlows(FlowCases):
    @defer.inlineCallbacks
    def test_bal_shows_the_points_on_hold(self):
        def hold(conn):
            ledger = self.loop.gateway.ledger
            account = conn.execute(select(members.c.points_account_id).where(
                members.c.msisdn == JANE)).scalar_one()
            shop = ledger.open_account(conn, "operator", "shop-holds")
            ledger.post(conn, [Transfer.hold("hold:1", account, shop, 200, "rdm", timeout=600)])
        self.db(hold)
        self.assertEqual((yield self.send(JANE, "BAL")),
                         "Jifen: your balance is 1,150 pts (200 on hold).")

    @defer.inlineCallbacks
    def test_cat_pages_through_what_is_on_sale_and_in_stock(self):
        first = yield self.send(JANE, "CAT")
        total = int(re.match(r"Jifen rewards 1/(\d+):", first).group(1))
        self.assertGreater(total, 1)
        self.assertTrue(first.endswith("More: CAT 2"))
        pages = [first]
        for n in range(2, total + 1):
            pages.append((yield self.send(JANE, f"cat {n}")))
        listed = [code for page in pages for code in re.findall(r"\b([A-Z][A-Z0-9]+) ", page)
                  if code not in ("CAT", "REDEEM", "More")]
        on_sale = ["AIR200", "AIR50", "MOVIE", "OIL2", "RICE5", *(i.code for i in EXTRA)]
        self.assertEqual(sorted(listed), sorted(on_sale))       # no GONE, no SOLAR, none twice
        self.assertIn("AIR200 Airtime 200 380pts", "".join(pages))
        treats = yield self.send(JANE, "CAT TREATS")
        self.assertTrue(treats.startswith("Jifen rewards 1/"), treats)
        self.assertNotIn("AIR50", treats)
        chinese = yield self.send(LI, "目录")
        self.assertTrue(chinese.startswith("积分礼品1/"), chinese)

    @defer.inlineCallbacks
    def test_redeem_a_voucher_with_a_pin_then_see_it_in_history(self):
        self.assertEqual((yield self.send(JANE, "REDEEM MOVIE")),
                         "Jifen: set a PIN first: send PIN + 4 to 6 digits of your choice.")
        with structlog.testing.capture_logs() as logged:
            yield self.pin(JANE)
            self.assertEqual((yield self.send(JANE, "REDEEM MOVIE")),
                             "Jifen: add your PIN: REDEEM MOVIE 1 + PIN.")
            done = yield self.send(JANE, "REDEEM MOVIE 2468")
        match = re.fullmatch(r"Jifen: (R\w+) done: 1 x Cinema ticket for 600 pts\. "
                             r"Voucher: (\w{10})", done)
        self.assertIsNotNone(match, done)
        reference, code = match.groups()
        self.assertEqual(self.db(lambda c: c.execute(select(vouchers.c.digest)).scalar_one()),
                         codes.digest(code))
        ours = repr([e for e in logged if not e["event"].startswith("simulator.")])
        self.assertNotIn("2468", ours)                          # the SMSC double prints MTs
        self.assertNotIn(code, ours)
        self.assertEqual((yield self.send(JANE, "BAL")), "Jifen: your balance is 750 pts.")
        today = datetime.now(timezone.utc)
        self.assertEqual((yield self.send(JANE, "HIST")),
                         f"Jifen history: {today.day}/{today.month} -600 redeemed {reference}; "
                         f"{today.day}/{today.month} +1,350 earned. Balance 750 pts.")

    @defer.inlineCallbacks
    def test_five_wrong_pins_lock_redemption(self):
        yield self.pin(JANE)
        # Each wrong PIN differs: the same text again within minutes is a redelivery.
        for left in (4, 3, 2, 1):
            self.assertEqual((yield self.send(JANE, f"REDEEM AIR50 000{left}")),
                             f"Jifen: wrong PIN. {left} tries left before redeeming is locked.")
        locked = "Jifen: too many wrong PINs. Redeeming is locked; try again in 30 min."
        self.assertEqual((yield self.send(JANE, "REDEEM AIR50 1111")), locked)
        self.assertEqual((yield self.send(JANE, "REDEEM AIR50 2468")), locked)   # even right
        self.assertEqual((yield self.send(JANE, "PIN 2468 1357")), locked)
        self.assertEqual((yield self.send(JANE, "BAL")), "Jifen: your balance is 1,350 pts.")

    @defer.inlineCallbacks
    def test_a_pin_is_changed_with_the_old_one(self):
        yield self.pin(JANE)
        self.assertEqual((yield self.send(JANE, "PIN 9999")), "Jifen: you already have a PIN. "
                         "To change it send PIN + old PIN + new PIN.")
        self.assertEqual((yield self.send(JANE, "PIN 2468 135790")),
                         "Jifen: your PIN is changed. Keep it secret.")
        self.assertIn("done: 1 x Airtime 50", (yield self.send(JANE, "REDEEM AIR50 135790")))

    @defer.inlineCallbacks
    def test_refusals_in_the_members_language(self):
        for who in (JANE, LI, AMINA):
            yield self.pin(who)
        self.db(lambda conn: catalog.set_stock(conn, "MOVIE", 0, self.loop.gateway.now()))
        self.assertEqual((yield self.send(JANE, "REDEEM NOPE 2468")),
                         "Jifen: there is no reward NOPE. Send CAT for the list.")
        self.assertEqual((yield self.send(JANE, "REDEEM MOVIE 2468")),
                         "Jifen: sorry, Cinema ticket is sold out. Send CAT for other rewards.")
        self.assertEqual((yield self.send(JANE, "REDEEM RICE5 2468")), "Jifen: Rice 5kg is "
                         "handed over at a Jifen shop. Ask the agent there to redeem it for you.")
        self.assertEqual((yield self.send(JANE, "REDEEM AIR200 6 2468")),
                         "Jifen: Airtime 200 is limited to 5 per member. You can redeem 5 more.")
        self.assertEqual((yield self.send(AMINA, "REDEEM AIR50 2468")), "Jifen: 1 x Airtime 50 "
                         "costs 100 pts and you have 40. Nothing was taken.")
        self.assertEqual((yield self.send(LI, "兑换 MOVIE 2468")),
                         "积分：抱歉，电影票已兑完。发目录查看其他礼品。")
        self.assertEqual((yield self.send(AMINA, "BAL")), "Jifen: your balance is 40 pts.")

    @defer.inlineCallbacks
    def test_an_operators_reversal_reaches_the_member(self):
        yield self.pin(JANE)
        done = yield self.send(JANE, "REDEEM MOVIE 2468")
        reference = done.split()[1]
        told = self.loop.simulator.next_mt()
        status = yield threads.deferToThread(
            main, ["--config", self._config_file(), "redemptions", "reverse", reference,
                   "--reason", "wrong item", "--by", "ops"])
        self.assertEqual(status, 0)
        mt = yield told
        self.assertEqual((mt.destination_addr, mt.text), (JANE, f"Jifen: {reference} for "
                         "Cinema ticket was reversed; 600 pts are back in your account."))
        self.assertEqual((yield self.send(JANE, "BAL")), "Jifen: your balance is 1,350 pts.")

    def _config_file(self) -> str:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        path = os.path.join(scratch.name, "gateway.toml")
        bind = self.loop.gateway.config.binds[0]
        with open(path, "w", encoding="utf-8") as out:
            out.write(f'[gateway]\ndatabase = "{self.url}"\nphone_region = "KE"\n'
                      f'keywords = "{self.loop.gateway.config.keywords_path}"\n'
                      f'[[smsc.binds]]\nname = "main"\nhost = "127.0.0.1"\nport = {bind.port}\n'
                      'system_id = "jifen"\npassword = "secret"\nshort_codes = ["10655"]\n')
        return path


class NoPinFlows(FlowCases):
    pin_required = False

    @defer.inlineCallbacks
    def test_redeem_airtime_without_a_pin_where_none_is_needed(self):
        done = yield self.send(JANE, "redeem air50 x2")
        self.assertRegex(done, r"^Jifen: R\w+ done: 2 x Airtime 50 for 200 pts\. The top-up "
                               r"is on its way to this phone\.$")
        self.assertEqual((yield self.send(JANE, "BAL")), "Jifen: your balance is 1,150 pts.")

    @defer.inlineCallbacks
    def test_bal_after_a_redeem_in_the_same_batch_shows_the_new_balance(self):
        # The batch's balances come with its member lookup; a command before BAL that moved
        # one must not leave BAL showing the figure from before it.
        processor = self.loop.gateway.processor
        real_process, held = processor.process, []
        processor.process = lambda ids: held.append(list(ids))
        for text in ("BAL", "redeem air50 x2", "BAL"):
            yield self.loop.simulator.deliver(JANE, self.loop.short_code, text)
        processor.process = real_process
        replies = self.loop.simulator.wait_for_submits(3)
        yield real_process([inbox_id for ids in held for inbox_id in ids])
        texts = [mt.text for mt in (yield replies)]
        self.assertEqual(texts[0], "Jifen: your balance is 1,350 pts.")
        self.assertRegex(texts[1], r"^Jifen: R\w+ done: 2 x Airtime 50 for 200 pts")
        self.assertEqual(texts[2], "Jifen: your balance is 1,150 pts.")


class PinFlowsOnSQLite(PinFlows, unittest.TestCase):
    pass


class NoPinFlowsOnSQLite(NoPinFlows, unittest.TestCase):
    pass


@pytest.mark.postgres
class PinFlowsOnPostgreSQL(PinFlows, unittest.TestCase):
    database = "postgresql"


@pytest.mark.postgres
class NoPinFlowsOnPostgreSQL(NoPinFlows, unittest.TestCase):
    database = "postgresql"
