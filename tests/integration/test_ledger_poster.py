"""Redemptions queued for the central ledger, posted by the `LedgerPoster` over loopback HTTP
against `jifen ledger serve`'s resource; the service is stopped in the middle of the run and
started again: every posting posts exactly once and every member gets the final SMS."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway import catalog
from gateway.ledger_poster import LedgerPoster
from gateway.redeem import Pins, RedemptionService, State
from gateway.store.models import members, outbox
from gateway.store.tables_catalog import ledger_postings, redemptions
from ledger_client import AccountKind, EmbeddedLedger, HttpLedger, Transfer
from ledger_client.schema import transfers as journal
from ledger_client.testing import ServedLedger
from ledger_fixtures import ScratchDatabase, until
from redeem_fixtures import CHEAP_HASHER

MEMBERS = 24
PRICE = 600


class PosterCases(ScratchDatabase):
    schema = "all"
    timeout = 90

    def setUp(self):
        self.open_database()                                  # the gateway's database
        _, self.central_engine, central_db = self.scratch("ledger")
        self.central = EmbeddedLedger()
        self.service = ServedLedger(self.central, central_db.run, reactor)
        self.service.start()
        self.addCleanup(lambda: self.service.stop())
        self.redemptions = RedemptionService(ledger=None, pins=Pins(hasher=CHEAP_HASHER),
                                             pin_required=False, namespace="gw1")
        self.client = HttpLedger(self.service.url, reactor, timeout=1.0, attempts=2,
                                 backoff=0.02, max_backoff=0.05)
        self.addCleanup(self.client.close)
        self.poster = LedgerPoster(self.db, self.client, self.redemptions.settle, reactor,
                                   lambda: datetime.now(timezone.utc), interval=0.05,
                                   initial_delay=0.05, max_delay=0.2)
        self.members = self._members()

    def _members(self) -> list[int]:
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            catalog.add(conn, catalog.Item("MOVIE", "vouchers", "voucher", PRICE,
                                           {"en": "Cinema ticket"}, stock=100), now)
            ids = [conn.execute(members.insert().values(
                msisdn=f"25470000{n:04d}", name=f"M{n}", language="en", points_account_id=0,
                status="active", created_at=now)).inserted_primary_key[0]
                for n in range(MEMBERS)]
        with self.central_engine.begin() as conn:
            issuer = self.central.open_account(conn, AccountKind.OPERATOR, "issuer",
                                               no_overdraft=False)
            for n in range(MEMBERS):
                account = self.central.open_account(conn, AccountKind.MEMBER,
                                                    f"25470000{n:04d}")
                # The last member cannot afford it: that posting is refused, not retried.
                points = 100 if n == MEMBERS - 1 else 1000
                self.central.post(conn, [Transfer(f"open:{n}", issuer, account, points,
                                                  "issue")])
        return ids

    def redeem(self, member_id: int):
        with self.engine.begin() as conn:
            return self.redemptions.redeem(
                conn, member_id=member_id, item_code="MOVIE", quantity=1,
                key=f"mo:{member_id}", now=datetime.now(timezone.utc), short_code="10655",
                language="en")

    def waiting_out_the_outage(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(ledger_postings.c.last_error).where(
                ledger_postings.c.state == "queued",
                ledger_postings.c.last_error == "LedgerUnavailable")).first() is not None

    def count(self, engine, query) -> int:
        with engine.connect() as conn:
            return conn.execute(query).scalar()

    def states(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(ledger_postings.c.state, func.count())
                                     .group_by(ledger_postings.c.state)).all())

    @defer.inlineCallbacks
    def test_postings_wait_out_an_outage_and_post_exactly_once(self):
        first, later = self.members[:MEMBERS // 2], self.members[MEMBERS // 2:]
        for member_id in first:
            self.assertIs(self.redeem(member_id).state, State.PROCESSING)
        self.poster.startService()
        self.addCleanup(self.poster.stopService)
        yield until(lambda: self.states().get("posted", 0) >= 4)
        yield self.service.stop()                             # the ledger goes away
        for member_id in later:                               # members keep redeeming
            self.assertIs(self.redeem(member_id).state, State.PROCESSING)
        yield until(self.waiting_out_the_outage)      # its tries take their own time
        self.assertGreater(self.states().get("queued", 0), 0)
        self.service.start()                                  # ... and comes back
        yield until(lambda: self.states().get("queued", 0) == 0)

        self.assertEqual(self.states(), {"posted": MEMBERS - 1, "refused": 1})
        self.assertEqual(self.count(self.central_engine, select(func.count()).select_from(
            journal).where(journal.c.code == "redeem")), MEMBERS - 1)
        with self.engine.connect() as conn:
            finals = conn.execute(select(outbox.c.destination_addr, outbox.c.text)).all()
            states = dict(conn.execute(select(redemptions.c.state, func.count())
                                       .group_by(redemptions.c.state)).all())
            stock = catalog.find(conn, "MOVIE").stock
        self.assertEqual(stock, 100 - MEMBERS + 1)
        self.assertEqual(states, {"completed": MEMBERS - 1, "failed": 1})
        self.assertEqual(len(finals), MEMBERS)                # every member told, once
        self.assertEqual(sum("Voucher:" in text for _, text in finals), MEMBERS - 1)
        self.assertEqual(sum("not enough points" in text for _, text in finals), 1)
        with self.central_engine.connect() as conn:
            balance = self.central.balance(conn, self.central.open_account(
                conn, AccountKind.MEMBER, "254700000000"))
        self.assertEqual(balance.available, 1000 - PRICE)

    @defer.inlineCallbacks
    def test_a_reversal_is_queued_and_posted_like_a_redemption(self):
        done = self.redeem(self.members[0])
        self.poster.startService()
        self.addCleanup(self.poster.stopService)
        yield until(lambda: self.states() == {"posted": 1})
        with self.engine.begin() as conn:
            state = self.redemptions.reverse(conn, done.reference, reason="duplicate",
                                             by="ops", now=datetime.now(timezone.utc))
        self.assertIs(state, State.REVERSING)
        yield self.poster.wake()
        yield until(lambda: self.states() == {"posted": 2})
        with self.central_engine.connect() as conn:
            balance = self.central.balance(conn, self.central.open_account(
                conn, AccountKind.MEMBER, "254700000000"))
        self.assertEqual(balance.available, 1000)
        with self.engine.connect() as conn:
            self.assertEqual(conn.execute(select(redemptions.c.state)).scalar(), "reversed")


class PosterOnSQLite(PosterCases, unittest.TestCase):
    pass


@pytest.mark.postgres
class PosterOnPostgreSQL(PosterCases, unittest.TestCase):
    database = "postgresql"

