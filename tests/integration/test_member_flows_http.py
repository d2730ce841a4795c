"""REDEEM over SMPP with the central ledger: the gateway against `jifen ledger serve`'s resource
over loopback HTTP. The service is stopped in the middle of the run and started again: members
are told their redemption is being processed, every posting posts exactly once, and every member
gets the final SMS (voucher, or not enough points) when it does. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from gateway import catalog
from gateway.config import load
from gateway.store.tables_catalog import ledger_postings
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url
from ledger_client import AccountKind, EmbeddedLedger, Transfer
from ledger_client.schema import transfers as journal
from ledger_client.testing import ServedLedger
from ledger_fixtures import ScratchDatabase, until

JANE, LI, AMINA = "254712345678", "8613800138000", "254722000111"
CENTRAL_POINTS = {JANE: 1350, LI: 2600, AMINA: 40}
PROCESSING = ("is being processed", "处理中")


class CentralLedgerGateway(ScratchDatabase):
    """A gateway with ``[ledger] kind = "http"`` against a served central ledger that holds
    ``central_points`` (the gateway's own embedded tables hold `SAMPLE`'s, unused), seeded by
    `_seed` (the catalogue; agent_cases.CentralLedgerShops adds the shops)."""

    timeout = 90
    central_points = CENTRAL_POINTS

    def setUp(self):
        _, self.central_engine, central_db = self.scratch("ledger")
        self.central = EmbeddedLedger()
        self._fund_central()
        self.service = ServedLedger(self.central, central_db.run, reactor)
        self.service.start()
        self.addCleanup(lambda: self.service.stop())
        base = load()
        config = dataclasses.replace(
            base, ledger=dataclasses.replace(base.ledger, kind="http", url=self.service.url,
                                             timeout=1.0, attempts=2, retry_initial_delay=0.05,
                                             retry_max_delay=0.2, read_timeout=0.5),
            redemption=dataclasses.replace(base.redemption, pin_required=False))
        self.loop = LoopbackGateway(reactor, scratch_url(self), config=self.configured(config))
        self.addCleanup(self.loop.stop)
        return self.loop.start().addCallback(lambda _: threads.deferToThread(self._seed))

    def configured(self, config):
        """The gateway's config: a test case's changes to the one above."""
        return config

    def _fund_central(self):
        with self.central_engine.begin() as conn:
            issuer = self.central.open_account(conn, AccountKind.OPERATOR, "issuer",
                                               no_overdraft=False)
            for msisdn, points in self.central_points.items():
                account = self.central.open_account(conn, AccountKind.MEMBER, msisdn)
                self.central.post(conn, [Transfer(f"open:{msisdn}", issuer, account, points,
                                                  "issue")])

    def _seed(self):
        gateway = self.loop.gateway
        with gateway.engine.begin() as conn:
            path = gateway.config.redemption.catalog_path
            catalog.load(conn, catalog.parse(open(path, encoding="utf-8").read()), gateway.now())

    def mts(self, msisdn: str) -> list[str]:
        return [mt.text for mt in self.loop.simulator.submitted if mt.destination_addr == msisdn]

    @defer.inlineCallbacks
    def redeem(self, msisdn: str, text: str):
        """Send; wait for the "being processed" reply (final SMS may come in between)."""
        before = len(self.mts(msisdn))
        yield self.loop.simulator.deliver(msisdn, self.loop.short_code, text)
        yield until(lambda: any(word in mt for mt in self.mts(msisdn)[before:]
                                for word in PROCESSING))

    def postings(self) -> dict[str, int]:
        with self.loop.gateway.engine.connect() as conn:
            return dict(conn.execute(select(ledger_postings.c.state, func.count())
                                     .group_by(ledger_postings.c.state)).all())


class CentralLedgerFlows(CentralLedgerGateway):
    @defer.inlineCallbacks
    def test_members_get_the_final_sms_after_the_ledger_comes_back(self):
        yield self.redeem(JANE, "REDEEM AIR50")
        yield until(lambda: any("top-up is on its way" in t for t in self.mts(JANE)))
        yield self.service.stop()                               # the central ledger goes away
        yield self.redeem(JANE, "REDEEM MOVIE")
        yield self.redeem(LI, "兑换 MOVIE")
        yield self.redeem(AMINA, "REDEEM AIR50")
        yield task.deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(self.postings().get("queued"), 3)
        self.assertEqual(len(self.mts(AMINA)), 1)               # told "processing", no more yet
        self.service.start()                                    # ... and it comes back
        yield until(lambda: self.postings() == {"posted": 3, "refused": 1}, attempts=3000)
        yield until(lambda: len(self.mts(JANE)) == 4 and len(self.mts(LI)) == 2
                    and len(self.mts(AMINA)) == 2)
        self.assertRegex(self.mts(JANE)[-1], r"^Jifen: R\w+ done\. 1 x Cinema ticket for 600 "
                                             r"pts\. Voucher: \w{10}$")
        self.assertRegex(self.mts(LI)[-1], r"^积分：R\w+兑换成功，1x电影票，600分。券码：\w{10}$")
        self.assertIn("not enough points", self.mts(AMINA)[-1])
        with self.central_engine.connect() as conn:
            posted = conn.execute(select(func.count()).select_from(journal).where(
                journal.c.code == "redeem")).scalar()
            jane = self.central.balance(conn, self.central.open_account(
                conn, AccountKind.MEMBER, JANE))
        self.assertEqual(posted, 3)                             # once each, none for Amina
        self.assertEqual(jane.available, 1350 - 100 - 600)
        yield task.deferLater(reactor, 0.3, lambda: None)
        self.assertEqual(len(self.loop.simulator.submitted), 8)  # no final SMS twice


class CentralLedgerOnSQLite(CentralLedgerFlows, unittest.TestCase):
    pass


@pytest.mark.postgres
class CentralLedgerOnPostgreSQL(CentralLedgerFlows, unittest.TestCase):
    database = "postgresql"
