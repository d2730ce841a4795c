"""The end-to-end cases, written once and run on each database.

Each test is a real exchange: the simulator delivers a deliver_sm over
loopback TCP, the gateway commits, runs the command and submits the reply,
and the simulator collects the submit_sm.
"""

from sqlalchemy import func, select, update
from twisted.internet import defer, reactor
from twisted.trial import unittest

from conftest import POSTGRES_ADMIN_URL, postgres_skip_reason
from gateway.smpp.codec import Status
from gateway.store.models import inbox, outbox
from gateway.testing import LoopbackGateway, scratch_database


class GatewayCases:
    database = "sqlite"
    timeout = 30

    def setUp(self):
        self.url = scratch_url(self)
        self.loop = LoopbackGateway(reactor, self.url)
        self.addCleanup(self.loop.stop)
        return self.loop.start()

    def rows(self, query):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    @defer.inlineCallbacks
    def test_member_gets_balance(self):
        mt = yield self.loop.exchange("254712345678", "BAL")
        self.assertEqual(mt.destination_addr, "254712345678")
        self.assertEqual(mt.source_addr, "10655")
        self.assertEqual(mt.data_coding, 0)
        self.assertIn("1,350 pts", mt.text)

    @defer.inlineCallbacks
    def test_chinese_keyword_gets_chinese_reply_in_ucs2(self):
        mt = yield self.loop.exchange("8613800138000", "余额")
        self.assertEqual(mt.data_coding, 8)
        self.assertIn("2,600", mt.text)
        self.assertIn("积分", mt.text)
        self.assertEqual(mt.short_message, mt.text.encode("utf-16-be"))

    @defer.inlineCallbacks
    def test_unknown_keyword_gets_help(self):
        mt = yield self.loop.exchange("254712345678", "FOO")
        self.assertIn("did not understand", mt.text)
        self.assertIn("BAL", mt.text)
        self.assertIn("HELP", mt.text)

    @defer.inlineCallbacks
    def test_unknown_number_gets_join_message(self):
        mt = yield self.loop.exchange("254799999999", "BAL")
        self.assertEqual(mt.destination_addr, "254799999999")
        self.assertIn("not registered", mt.text)
        self.assertIn("join", mt.text)

    @defer.inlineCallbacks
    def test_national_number_is_the_same_member(self):
        mt = yield self.loop.exchange("0712345678", "bal")
        self.assertEqual(mt.destination_addr, "254712345678")
        self.assertIn("1,350 pts", mt.text)

    @defer.inlineCallbacks
    def test_mo_is_committed_before_it_is_acknowledged(self):
        seen_at_ack = []
        delivered = self.loop.simulator.deliver("254712345678", "10655", "BAL")
        # This callback runs the moment the deliver_sm_resp arrives at the
        # simulator, before the gateway can do anything else.
        delivered.addCallback(lambda status: seen_at_ack.append(
            (status, self.rows(select(inbox.c.text, inbox.c.source_addr)))))
        yield delivered
        status, rows = seen_at_ack[0]
        self.assertEqual(status, Status.OK)
        self.assertEqual(rows, [("BAL", "254712345678")])
        yield self.loop.simulator.wait_for_submits(1)

    @defer.inlineCallbacks
    def test_database_failure_answers_temporary_error_and_loses_nothing(self):
        gateway = self.loop.gateway
        real_run = gateway.db.run
        gateway.db.run = lambda fn, *a, **k: defer.fail(RuntimeError("database down"))
        status = yield self.loop.simulator.deliver("254712345678", "10655", "BAL")
        self.assertEqual(status, Status.TEMPORARY_APP_ERROR)
        self.assertEqual(self.rows(select(func.count()).select_from(inbox)), [(0,)])
        gateway.db.run = real_run
        # The SMSC delivers it again; now it is taken and answered once.
        mt = yield self.loop.exchange("254712345678", "BAL")
        self.assertIn("1,350", mt.text)
        self.assertEqual(self.rows(select(func.count()).select_from(inbox)), [(1,)])

    @defer.inlineCallbacks
    def test_reply_is_recorded_with_the_smsc_message_id(self):
        mt = yield self.loop.exchange("254712345678", "BAL")
        yield _until(lambda: self.rows(select(outbox.c.state))[0][0] == "submitted")
        [(state, ids, key)] = self.rows(select(outbox.c.state, outbox.c.smsc_message_ids,
                                               outbox.c.idempotency_key))
        self.assertEqual((state, ids), ("submitted", mt.message_id))
        self.assertTrue(key.startswith("mo:"))

    @defer.inlineCallbacks
    def test_committed_but_unprocessed_mo_is_answered_after_restart(self):
        yield self.loop.exchange("254712345678", "BAL")
        # As if the process died between committing an MO and running it.
        with self.loop.gateway.engine.begin() as conn:
            conn.execute(update(inbox).values(state="received"))
            conn.execute(outbox.delete())
        yield self.loop.gateway.stopService()
        mt_after_restart = self.loop.simulator.next_mt()
        yield self.loop.gateway.startService()
        mt = yield mt_after_restart
        self.assertIn("1,350", mt.text)


def scratch_url(case) -> str:
    """An empty database of `case.database` for one test, dropped after it; skips without PostgreSQL."""
    if case.database == "postgresql":
        reason = postgres_skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
    scratch = scratch_database(case.database, _tmpdir(case), POSTGRES_ADMIN_URL)
    url = scratch.__enter__()
    case.addCleanup(scratch.__exit__, None, None, None)
    return url


def _tmpdir(case):
    import os
    import tempfile
    path = tempfile.mkdtemp(prefix="jifen-test-")
    case.addCleanup(lambda: __import__("shutil").rmtree(path, ignore_errors=True))
    return path


@defer.inlineCallbacks
def _until(predicate, attempts=200):
    from twisted.internet import task
    for _ in range(attempts):
        if predicate():
            return
        yield task.deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("condition never held")
