"""The aggregator's HTTP callback served by the daemon, over loopback, on SQLite and PostgreSQL.

Dialogues (balance; redeem with a PIN), the refusals (a bad secret, an oversize body, a missing
field), a retried step answered with the same screen, and a dialogue whose steps reach two gateway
processes sharing one database (two `Gateway`s in this process stand in for two processes).
"""

from dataclasses import replace
from pathlib import Path

import treq
from sqlalchemy import select
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway import catalog
from gateway.app import Gateway
from gateway.config import load
from gateway.store.models import members
from gateway.store.tables_ussd import ussd_sessions
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url

SECRET = "s3cret-s3cret-s3cret"
MEMBER = "+254712345678"
PIN = "4321"


def _config(url=None):
    base = load()
    return replace(base, ussd=replace(base.ussd, http_port=0, http_secret=SECRET),
                   **({"database_url": url} if url else {}))


class UssdHttpCases:
    database = "sqlite"
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.loop = LoopbackGateway(reactor, scratch_url(self), _config())
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        yield self.loop.gateway.db.run(self._shop)

    def _shop(self, conn):
        gateway = self.loop.gateway
        catalog.load(conn, catalog.parse(Path(gateway.config.redemption.catalog_path).read_text()),
                     gateway.now())
        member_id = conn.execute(select(members.c.id).where(
            members.c.msisdn == MEMBER[1:])).scalar()
        gateway.redemptions.pins.set_first(conn, member_id, PIN, gateway.now())

    def url(self, gateway=None):
        port = (gateway or self.loop.gateway).ussd.http_service._port.getHost().port
        return f"http://127.0.0.1:{port}/ussd"

    @defer.inlineCallbacks
    def post(self, text, session="ATUid_1", secret=SECRET, gateway=None, data=None):
        form = data if data is not None else {"sessionId": session, "serviceCode": "*384*123#",
                                              "phoneNumber": MEMBER, "text": text}
        response = yield treq.post(self.url(gateway), data=form,
                                   headers={"X-Jifen-Secret": secret}, persistent=False)
        body = yield response.text()
        return response.code, body

    @defer.inlineCallbacks
    def test_balance(self):
        code, body = yield self.post("")
        self.assertEqual(code, 200)
        self.assertTrue(body.startswith("CON Jifen Rewards"), body)
        code, body = yield self.post("1")
        self.assertTrue(body.startswith("END "), body)
        self.assertIn("1,350", body)

    @defer.inlineCallbacks
    def test_redeem_with_pin_and_a_retried_step(self):
        for text in ("", "3", "3*AIR50", "3*AIR50*1"):
            code, body = yield self.post(text)
            self.assertTrue(body.startswith("CON "), (text, body))
        again = yield self.post("3*AIR50*1")           # the aggregator retrying: same screen
        self.assertEqual(again[1], body)
        code, done = yield self.post(f"3*AIR50*1*{PIN}")
        self.assertTrue(done.startswith("END "), done)
        self.assertNotIn(PIN, done)
        retried = yield self.post(f"3*AIR50*1*{PIN}")  # a retry of the last step: not twice
        self.assertEqual(retried[1], done)
        with self.loop.gateway.engine.connect() as conn:
            stored = [str(tuple(row)) for row in conn.execute(select(ussd_sessions))]
        self.assertTrue(stored)
        self.assertFalse([row for row in stored if PIN in row], "a PIN was stored")

    @defer.inlineCallbacks
    def test_a_dialled_shortcut_arrives_as_the_first_text(self):
        # *384*123*3*AIR50# comes as text "3*AIR50" on the session's first request.
        code, by_keys = yield self.post("3*AIR50", session="keys-first")
        self.assertIn("Airtime", by_keys)
        for text in ("", "3", "3*AIR50"):
            code, pressed = yield self.post(text, session="pressed")
        self.assertEqual(by_keys, pressed)
        code, screen = yield self.post("3*AIR50*1", session="keys-first")   # goes on from there
        self.assertIn("PIN", screen)
        code, again = yield self.post("3*AIR50", session="keys-first-2")
        code, retried = yield self.post("3*AIR50", session="keys-first-2")  # a retry: same screen
        self.assertEqual(retried, again)
        code, wrong = yield self.post("3*NOSUCH*1", session="wrong-step")
        self.assertTrue(wrong.startswith("CON No reward has that code."), wrong)

    @defer.inlineCallbacks
    def test_bad_secret(self):
        code, body = yield self.post("", secret="wrong")
        self.assertEqual((code, body), (403, "not allowed\n"))

    @defer.inlineCallbacks
    def test_oversize_body(self):
        code, _ = yield self.post("", data={"sessionId": "x", "serviceCode": "*1#",
                                            "phoneNumber": MEMBER, "text": "1" * 5000})
        self.assertEqual(code, 413)

    @defer.inlineCallbacks
    def test_missing_field(self):
        code, body = yield self.post("", data={"sessionId": "x", "serviceCode": "*1#", "text": ""})
        self.assertEqual((code, body), (400, "missing field phoneNumber\n"))

    @defer.inlineCallbacks
    def test_garbage_answers_and_unknown_sessions_get_a_screen(self):
        for session, text in (("never-seen", "1*2*3"), ("ATUid_9", ""), ("ATUid_9", "%%%*é*" * 20),
                              ("ATUid_9", "9" * 500)):
            code, body = yield self.post(text, session=session)
            self.assertEqual(code, 200)
            self.assertTrue(body.startswith(("CON ", "END ")), body)


class SecondProcessCase(UssdHttpCases):
    """A dialogue begun on one gateway and continued on another sharing the database."""

    @defer.inlineCallbacks
    def test_dialogue_continues_on_a_second_gateway(self):
        other = Gateway(_config(self.loop.gateway.config.database_url), reactor)
        yield other.startService()
        self.addCleanup(lambda: other.stopService().addCallback(lambda _: other.engine.dispose()))
        code, body = yield self.post("", session="two-procs")
        self.assertTrue(body.startswith("CON "))
        code, body = yield self.post("1", session="two-procs", gateway=other)
        self.assertTrue(body.startswith("END "), body)
        self.assertIn("1,350", body)


class HttpSqlite(UssdHttpCases, unittest.TestCase):
    database = "sqlite"


class HttpPostgres(SecondProcessCase, unittest.TestCase):
    database = "postgresql"
