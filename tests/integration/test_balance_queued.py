"""BAL and the USSD balance screen with redemptions still queued for the central ledger.

A member redeems while the central ledger is away: the posting waits in ``ledger_postings``.
When the ledger is back (its reads answer) but the poster has not yet sent the posting, BAL shows
the centre's balance less the queued points, as on hold; once the posting lands the points are
simply gone, never taken off twice, also when the centre got the posting before the gateway
recorded it (the answer lost). The poster is paused while the ledger is away, so that the test,
not the poster's timer, says when a posting lands. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses

import pytest
import treq
from sqlalchemy import select
from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.ledger_poster import LedgerPoster
from gateway.redeem import postings
from gateway.store.tables_catalog import ledger_postings
from ledger_fixtures import until
from test_balance_http import CentralFiguresCase
from test_member_flows_http import AMINA, JANE

SECRET = "s3cret-s3cret-s3cret"
BEFORE = "Jifen: your balance is 1,350 pts."
QUEUED = "Jifen: your balance is 1,250 pts (100 on hold)."       # REDEEM AIR50: 100 pts
LANDED = "Jifen: your balance is 1,250 pts."


class QueuedRedemptionCase(CentralFiguresCase):
    def queue(self) -> list:
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(select(ledger_postings)).all()

    def poster(self) -> LedgerPoster:
        [poster] = [s for s in self.loop.gateway if isinstance(s, LedgerPoster)]
        return poster

    @defer.inlineCallbacks
    def redeem_while_away(self, msisdn: str, text: str):
        """Redeem with the ledger stopped, then start it again: the posting stays queued, as
        the poster (paused here, so that the test says when) has not sent it yet."""
        yield self.poster().stopService()
        yield self.service.stop()
        mt = yield self.loop.exchange(msisdn, text)
        self.assertIn("is being processed", mt.text)
        self.assertEqual([r.state for r in self.queue()], ["queued"])
        self.service.start()

    @defer.inlineCallbacks
    def land(self):
        """The poster sends the queued posting now; its answer recorded, the member's SMS."""
        yield self.poster().wake()
        yield until(lambda: all(r.state != "queued" for r in self.queue()))
        final = yield self.loop.simulator.next_mt()
        return final.text

    def post_at_the_centre(self):
        """The queued posting, posted at the centre by hand: the answer the poster never got."""
        def post():
            with self.loop.gateway.engine.connect() as conn:
                [posting] = [postings.find(conn, r.id) for r in self.queue()]
            with self.central_engine.begin() as conn:
                def account(kind, reference, ledger):
                    return self.central.open_account(
                        conn, kind, reference, ledger=ledger,
                        no_overdraft=not postings.may_overdraw(kind))
                self.central.post(conn, postings.resolve(posting, account))
        return threads.deferToThread(post)


class QueuedBySms(QueuedRedemptionCase):
    @defer.inlineCallbacks
    def test_bal_shows_the_queued_redemption_on_hold_then_spent_once(self):
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, BEFORE)
        yield self.redeem_while_away(JANE, "REDEEM AIR50")
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, QUEUED)
        mt = yield self.loop.exchange(JANE, "HIST")             # marked, and in the balance
        self.assertRegex(mt.text, r"^Jifen history: \d+/\d+ -100 processing R\w+; "
                                  r"\d+/\d+ \+1,350 earned\. Balance 1,250 pts\.$")
        final = yield self.land()
        self.assertIn("top-up is on its way", final)
        self.assertEqual([r.state for r in self.queue()], ["posted"])
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, LANDED)

    @defer.inlineCallbacks
    def test_a_posting_the_centre_has_and_the_gateway_not_yet_is_taken_off_once(self):
        yield self.redeem_while_away(JANE, "REDEEM AIR50")
        yield self.post_at_the_centre()
        self.assertEqual([r.state for r in self.queue()], ["queued"])
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, LANDED)                       # not 1,150 (100 on hold)
        mt = yield self.loop.exchange(JANE, "HIST")             # and not "processing"
        self.assertRegex(mt.text, r"^Jifen history: \d+/\d+ -100 redeemed R\w+; ")
        final = yield self.land()                               # sent again: posts once
        self.assertIn("top-up is on its way", final)
        # BALANCE, not HIST again: the same text twice in a row is taken for a redelivery.
        mt = yield self.loop.exchange(JANE, "BALANCE")
        self.assertEqual(mt.text, LANDED)

    @defer.inlineCallbacks
    def test_more_than_the_member_has_shows_nothing_left_not_below_zero(self):
        yield self.redeem_while_away(AMINA, "REDEEM AIR50")     # 100 of her 40 pts
        mt = yield self.loop.exchange(AMINA, "BAL")
        self.assertEqual(mt.text, "Jifen: your balance is 0 pts (40 on hold).")
        final = yield self.land()                               # refused at the centre
        self.assertIn("not enough points", final)
        self.assertEqual([r.state for r in self.queue()], ["refused"])
        mt = yield self.loop.exchange(AMINA, "HIST")
        self.assertTrue(mt.text.endswith("Balance 40 pts."), mt.text)


class QueuedByUssd(QueuedRedemptionCase):
    """The USSD menu's balance screen, over the aggregator's HTTP callback."""

    def configured(self, config):
        return dataclasses.replace(
            config, ussd=dataclasses.replace(config.ussd, http_port=0, http_secret=SECRET),
            binds=tuple(dataclasses.replace(b, ussd_dialect="smpp5") for b in config.binds))

    def balance_screen(self, session: str):
        return self.screen(session, "1")

    @defer.inlineCallbacks
    def screen(self, session: str, choice: str) -> str:
        """The screen the member's ``choice`` on the home menu leads to."""
        port = self.loop.gateway.ussd.http_service._port.getHost().port
        body = ""
        for text in ("", choice):
            form = {"sessionId": session, "serviceCode": "*384*123#", "phoneNumber": f"+{JANE}",
                    "text": text}
            response = yield treq.post(f"http://127.0.0.1:{port}/ussd", data=form,
                                       headers={"X-Jifen-Secret": SECRET}, persistent=False)
            body = yield response.text()
        return body

    @defer.inlineCallbacks
    def test_the_balance_screen_shows_the_queued_redemption_then_spent_once(self):
        yield self.redeem_while_away(JANE, "REDEEM AIR50")
        screen = yield self.balance_screen("s1")
        self.assertEqual(screen, f"END {QUEUED}")
        final = yield self.land()
        self.assertIn("top-up is on its way", final)
        screen = yield self.balance_screen("s2")
        self.assertEqual(screen, f"END {LANDED}")

    @defer.inlineCallbacks
    def test_the_history_list_says_processing_until_it_lands(self):
        yield self.redeem_while_away(JANE, "REDEEM AIR50")
        listed = yield self.screen("s3", "4")                 # History
        self.assertRegex(listed, r"\n\d\d/\d\d -100 R\w+ processing\n")
        yield self.land()
        listed = yield self.screen("s4", "4")
        self.assertNotIn("processing", listed)
        self.assertRegex(listed, r"\n\d\d/\d\d -100 R\w+\n")


class QueuedBySmsOnSQLite(QueuedBySms, unittest.TestCase):
    pass


@pytest.mark.postgres
class QueuedBySmsOnPostgreSQL(QueuedBySms, unittest.TestCase):
    database = "postgresql"


class QueuedByUssdOnSQLite(QueuedByUssd, unittest.TestCase):
    pass


@pytest.mark.postgres
class QueuedByUssdOnPostgreSQL(QueuedByUssd, unittest.TestCase):
    database = "postgresql"
