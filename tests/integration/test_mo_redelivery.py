"""MOs the SMSC delivers again, over loopback TCP, on SQLite and PostgreSQL.

An SMSC redelivers a deliver_sm whose answer it did not get (lost on the wire, or
ESME_RX_T_APPN).  Each delivery is acknowledged; the message runs once; the redelivery is
answered with a copy of the reply the first delivery got.  The simulator's clock is a
`task.Clock` where the order of events matters, so nothing waits on time.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from twisted.internet import defer, task
from twisted.trial import unittest

from gateway import intake
from gateway.smpp.codec import Status
from gateway.store.models import inbox, outbox
from mo_harness import MEMBER, SHORT_CODE, LoopbackCase

OK = Status.OK


class RedeliveryCases(LoopbackCase):

    def inbox_and_keys(self):
        return (self.rows(select(inbox.c.id, inbox.c.duplicate_of).order_by(inbox.c.id)),
                self.rows(select(outbox.c.inbox_id, outbox.c.idempotency_key)
                          .order_by(outbox.c.id)))

    @defer.inlineCallbacks
    def test_lost_answer_redelivered_after_the_reply_gets_the_same_reply_again(self):
        clock = self.simulator.clock = task.Clock()
        self.simulator.redeliver_after = 30.0
        self.simulator.lose_deliver_responses(1)
        delivered = self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        first = yield self.simulator.next_mt()
        self.assertEqual(self.simulator.deliver_responses, [OK])   # answered, then lost
        clock.advance(30)
        status = yield delivered
        second = yield self.simulator.next_mt()
        self.assertEqual((status, self.simulator.deliver_responses), (OK, [OK, OK]))
        self.assertEqual(second.text, first.text)
        self.assertIn("1,350 pts", second.text)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        rows, keys = self.inbox_and_keys()
        (first_id, _), (second_id, duplicate_of) = rows
        self.assertEqual(duplicate_of, first_id)
        self.assertEqual(keys, [(first_id, f"mo:{first_id}:0"), (second_id, f"mo:{second_id}:0")])

    @defer.inlineCallbacks
    def test_redelivery_committed_before_the_first_ran_still_runs_it_once(self):
        # Hold the processor so both deliveries are in before either runs, then
        # hand it the redelivery first: the first delivery must run, once, before it.
        processor = self.gateway.processor
        real_process, held = processor.process, []
        processor.process = lambda ids: held.append(list(ids))
        self.simulator.redeliver_after = 0.0
        self.simulator.lose_deliver_responses(1)
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        self.assertEqual(status, OK)
        self.assertEqual(len(held), 2)
        processor.process = real_process
        for ids in reversed(held):
            yield real_process(ids)
        mts = yield self.simulator.wait_for_submits(2)
        self.assertEqual(mts[0].text, mts[1].text)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(self.count(outbox), 2)

    @defer.inlineCallbacks
    def test_database_trouble_answers_temporary_error_and_the_redelivery_is_run_once(self):
        database = self.gateway.db
        real_run, failed = database.run, []

        def flaky(fn, *args, **kwargs):
            if fn is intake.take and not failed:
                failed.append(fn)
                return defer.fail(RuntimeError("database down"))
            return real_run(fn, *args, **kwargs)

        database.run = flaky
        self.simulator.redeliver_after = 0.0
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        self.assertEqual(status, OK)
        self.assertEqual(self.simulator.deliver_responses, [Status.TEMPORARY_APP_ERROR, OK])
        mt = yield self.simulator.next_mt()
        self.assertIn("1,350 pts", mt.text)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(self.inbox_and_keys()[0], [(1, None)])

    @defer.inlineCallbacks
    def test_a_batch_whose_transaction_failed_is_run_again_and_answered_once(self):
        # Acknowledged already, so the SMSC will not bring it back: the processor must.
        database, processor = self.gateway.db, self.gateway.processor
        real_run, failed = database.run, []

        def flaky(fn, *args, **kwargs):
            if getattr(fn, "__func__", None) is type(processor)._process_batch and not failed:
                failed.append(fn)
                return defer.fail(RuntimeError("database down"))
            return real_run(fn, *args, **kwargs)

        database.run = flaky
        mt = yield self.loop.exchange(MEMBER, "BAL")
        self.assertIn("1,350 pts", mt.text)
        self.assertEqual(len(failed), 1)
        self.assertEqual(self.simulator.deliver_responses, [OK])
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(self.count(outbox), 1)

    @defer.inlineCallbacks
    def test_different_messages_from_one_phone_are_not_redeliveries(self):
        yield self.loop.exchange(MEMBER, "BAL")
        yield self.loop.exchange(MEMBER, "HELP")
        yield self.loop.exchange("254722000111", "BAL")
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL", "HELP", "BAL"])

    @defer.inlineCallbacks
    def test_a_question_asked_again_after_another_is_answered_afresh(self):
        # BAL, LANG SW, BAL: the second BAL must be run (in Swahili), not
        # answered with the first BAL's English reply.
        yield self.loop.exchange(MEMBER, "BAL")
        yield self.loop.exchange(MEMBER, "LANG SW")
        mt = yield self.loop.exchange(MEMBER, "BAL")
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL", "LANG", "BAL"])
        self.assertIn("salio", mt.text.lower())


class RedeliveryOnSQLite(RedeliveryCases, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class RedeliveryOnPostgreSQL(RedeliveryCases, unittest.TestCase):
    database = "postgresql"
