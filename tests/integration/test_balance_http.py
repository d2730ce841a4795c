"""BAL and HIST with the central ledger (issue #5): the figures come from `jifen ledger serve`
over loopback HTTP, not from the gateway's own embedded tables; with the service stopped BAL is
answered "not available right now" within `[ledger] read_timeout` and nothing is lost; started
again, BAL works (the same text again is a new question, not a redelivery). On SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
import treq
from sqlalchemy import select
from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.models import inbox, outbox
from ledger_client import AccountKind, Transfer
from ledger_client.schema import accounts
from test_member_flows_http import JANE, LI, CentralLedgerGateway

SECRET = "s3cret-s3cret-s3cret"
STRANGER = "254799000999"
UNAVAILABLE = ("Jifen: your points balance is not available right now. "
               "Please try again in a few minutes.")


class CentralFiguresCase(CentralLedgerGateway):
    def _credit_central(self, msisdn: str, points: int, reference: str):
        """Points the central ledger has and the gateway's own tables do not."""
        def credit():
            with self.central_engine.begin() as conn:
                issuer = self.central.open_account(conn, AccountKind.OPERATOR, "issuer",
                                                   no_overdraft=False)
                account = self.central.open_account(conn, AccountKind.MEMBER, msisdn)
                self.central.post(conn, [Transfer(f"bonus:{reference}", issuer, account, points,
                                                  "issue", reference=reference)])
        return threads.deferToThread(credit)

    def inbox_rows(self, msisdn: str):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(select(inbox.c.id, inbox.c.state, inbox.c.command,
                                       inbox.c.duplicate_of)
                                .where(inbox.c.source_addr == msisdn).order_by(inbox.c.id)).all()

    def replies_to(self, msisdn: str) -> list[str]:
        with self.loop.gateway.engine.connect() as conn:
            return list(conn.execute(select(outbox.c.text).where(
                outbox.c.destination_addr == msisdn).order_by(outbox.c.id)).scalars())


class CentralFigures(CentralFiguresCase):
    @defer.inlineCallbacks
    def test_bal_and_hist_show_what_the_central_ledger_holds(self):
        yield self._credit_central(JANE, 500, "BONUS1")
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, "Jifen: your balance is 1,850 pts.")    # local: 1,350
        mt = yield self.loop.exchange(JANE, "HIST")
        self.assertRegex(mt.text, r"^Jifen history: \d+/\d+ \+500 earned BONUS1; "
                                  r"\d+/\d+ \+1,350 earned\. Balance 1,850 pts\.$")
        mt = yield self.loop.exchange(LI, "余额")
        self.assertEqual(mt.text, "积分余额：2,600分。")

    @defer.inlineCallbacks
    def test_with_the_ledger_stopped_bal_says_not_now_then_works_again(self):
        yield self.service.stop()
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, UNAVAILABLE)
        mt = yield self.loop.exchange(JANE, "HIST")
        self.assertEqual(mt.text, UNAVAILABLE)
        self.service.start()
        yield self._credit_central(JANE, 500, "BONUS2")
        history = yield self.loop.exchange(JANE, "HIST")        # the same text as before
        self.assertIn("+500 earned BONUS2", history.text)
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, "Jifen: your balance is 1,850 pts.")
        rows = self.inbox_rows(JANE)
        self.assertEqual([(r.state, r.command, r.duplicate_of) for r in rows],
                         [("done", "BAL", None), ("done", "HIST", None),
                          ("done", "HIST", None), ("done", "BAL", None)])
        self.assertEqual(self.replies_to(JANE), [UNAVAILABLE, UNAVAILABLE,
                                                 history.text,
                                                 "Jifen: your balance is 1,850 pts."])

    @defer.inlineCallbacks
    def test_redeem_waits_for_no_read_with_the_ledger_down(self):
        """Only BAL and HIST read: REDEEM queues its posting and answers with the service down."""
        yield self.service.stop()
        yield self.redeem(JANE, "REDEEM AIR50")
        self.assertEqual(self.postings(), {"queued": 1})

    @defer.inlineCallbacks
    def test_a_strangers_bal_reads_nothing(self):
        """Not a member: told so, and no account is opened in the central ledger for the phone."""
        mt = yield self.loop.exchange(STRANGER, "BAL")
        self.assertIn("is not registered", mt.text)
        with self.central_engine.connect() as conn:
            opened = conn.execute(select(accounts.c.id).where(
                accounts.c.reference == STRANGER)).all()
        self.assertEqual(opened, [])


class CentralFiguresByUssd(CentralFiguresCase):
    """The USSD menus' balance and history screens, over the aggregator's HTTP callback."""

    def configured(self, config):
        return dataclasses.replace(
            config, ussd=dataclasses.replace(config.ussd, http_port=0, http_secret=SECRET),
            binds=tuple(dataclasses.replace(b, ussd_dialect="smpp5") for b in config.binds))

    @defer.inlineCallbacks
    def dial(self, session: str, *answers: str) -> str:
        """The screen after dialling and giving ``answers`` (each step the aggregator's text)."""
        port = self.loop.gateway.ussd.http_service._port.getHost().port
        body = ""
        for n in range(len(answers) + 1):
            form = {"sessionId": session, "serviceCode": "*384*123#", "phoneNumber": f"+{JANE}",
                    "text": "*".join(answers[:n])}
            response = yield treq.post(f"http://127.0.0.1:{port}/ussd", data=form,
                                       headers={"X-Jifen-Secret": SECRET}, persistent=False)
            body = yield response.text()
        return body

    @defer.inlineCallbacks
    def test_the_menus_show_what_the_central_ledger_holds(self):
        yield self._credit_central(JANE, 500, "BONUS1")
        screen = yield self.dial("s1", "1")
        self.assertEqual(screen, "END Jifen: your balance is 1,850 pts.")
        screen = yield self.dial("s2", "4")
        self.assertTrue(screen.startswith("CON Recent points:"), screen)
        self.assertIn("+500 BONUS1", screen)

    @defer.inlineCallbacks
    def test_over_smpp_too(self):
        yield self._credit_central(JANE, 500, "BONUS1")
        phone = UssdNetwork(self.loop.simulator, "smpp5").phone(JANE)
        yield phone.dial("*123#")
        last = yield phone.answer("1")
        self.assertTrue(last.ends)
        self.assertEqual(last.text, "Jifen: your balance is 1,850 pts.")

    @defer.inlineCallbacks
    def test_with_the_ledger_stopped_the_menus_say_not_now(self):
        yield self.service.stop()
        screen = yield self.dial("s1", "1")
        self.assertEqual(screen, f"END {UNAVAILABLE}")
        screen = yield self.dial("s2", "4")
        self.assertTrue(screen.startswith("END Sorry, the service is busy."), screen)
        screen = yield self.dial("s3", "2")                  # what reads nothing is as before
        self.assertTrue(screen.startswith("CON Rewards:"), screen)
        self.service.start()
        screen = yield self.dial("s4", "1")
        self.assertEqual(screen, "END Jifen: your balance is 1,350 pts.")


class CentralFiguresOnSQLite(CentralFigures, unittest.TestCase):
    pass


@pytest.mark.postgres
class CentralFiguresOnPostgreSQL(CentralFigures, unittest.TestCase):
    database = "postgresql"


class CentralFiguresByUssdOnSQLite(CentralFiguresByUssd, unittest.TestCase):
    pass


@pytest.mark.postgres
class CentralFiguresByUssdOnPostgreSQL(CentralFiguresByUssd, unittest.TestCase):
    database = "postgresql"
