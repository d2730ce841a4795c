"""Long, binary and nameless MOs over loopback TCP, on SQLite and PostgreSQL.

Every part is acknowledged only once it is committed; the parts of one message, in any order
and with repeats, make one execution and one reply; parts that stop coming make one
"incomplete" reply after the timeout, driven here by sweeping at a chosen time, not by waiting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from gateway.smpp.codec import Status
from gateway.store.models import inbox
from gateway.store.tables_mo import mo_parts
from mo_harness import CHINESE_MEMBER, MEMBER, SHORT_CODE, LoopbackCase

OK = Status.OK


class ConcatCases(LoopbackCase):

    @defer.inlineCallbacks
    def test_udh_8bit_parts_out_of_order_make_one_execution_and_one_reply(self):
        # Part 3 first, checked committed at the moment of its acknowledgement.
        seen_at_ack = []
        first = self.simulator.deliver_concatenated(MEMBER, SHORT_CODE, ["B", "A", "L"],
                                                    order=[3])
        first.addCallback(lambda statuses: seen_at_ack.append((statuses, self.count(mo_parts))))
        yield first
        self.assertEqual(seen_at_ack, [([OK], 1)])
        self.assertEqual(self.count(inbox), 0)
        statuses = yield self.simulator.deliver_concatenated(MEMBER, SHORT_CODE, ["B", "A", "L"],
                                                             order=[1, 2])
        self.assertEqual(statuses, [OK, OK])
        mt = yield self.simulator.next_mt()
        self.assertIn("1,350 pts", mt.text)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(len(self.simulator.submitted), 1)

    @defer.inlineCallbacks
    def test_udh_16bit_chinese_parts_in_reverse(self):
        statuses = yield self.simulator.deliver_concatenated(
            CHINESE_MEMBER, SHORT_CODE, ["余", "额"], style="udh16", reference=0x1234,
            order=[2, 1])
        self.assertEqual(statuses, [OK, OK])
        mt = yield self.simulator.next_mt()
        self.assertIn("2,600", mt.text)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(self.rows(inbox.select())[0].text, "余额")

    @defer.inlineCallbacks
    def test_sar_parts_with_redelivered_parts_are_acknowledged_and_run_once(self):
        statuses = yield self.simulator.deliver_concatenated(
            MEMBER, SHORT_CODE, ["B", "A", "L"], style="sar", order=[2, 2, 3, 1, 1])
        self.assertEqual(statuses, [OK] * 5)
        yield self.simulator.next_mt()
        # The whole message once more, as an SMSC that lost our answers would send it.
        statuses = yield self.simulator.deliver_concatenated(
            MEMBER, SHORT_CODE, ["B", "A", "L"], style="sar", order=[1, 2, 3])
        self.assertEqual(statuses, [OK] * 3)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"])
        self.assertEqual(len(self.simulator.submitted), 1)

    @defer.inlineCallbacks
    def test_missing_part_is_answered_incomplete_after_the_timeout(self):
        statuses = yield self.simulator.deliver_concatenated(
            MEMBER, SHORT_CODE, ["Hello ", "dear ", "world"], order=[1, 3])
        self.assertEqual(statuses, [OK, OK])
        timeout = self.gateway.config.mo_parts_timeout
        yield self.gateway.inbox.sweep(at=self.gateway.now() + timedelta(seconds=timeout - 1))
        self.assertEqual(self.count(inbox), 0)
        reply = self.simulator.next_mt()
        yield self.gateway.inbox.sweep(at=self.gateway.now() + timedelta(seconds=timeout + 1))
        mt = yield reply
        self.assertIn("only part of your long message", mt.text)
        [row] = self.rows(inbox.select())
        self.assertEqual((row.kind, row.text), ("incomplete", "Hello world"))
        # The missing part, very late: acknowledged, and nobody is told twice.
        status = yield self.simulator.deliver_concatenated(
            MEMBER, SHORT_CODE, ["Hello ", "dear ", "world"], order=[2])
        self.assertEqual(status, [OK])
        yield self.gateway.inbox.sweep(at=self.gateway.now() + timedelta(seconds=timeout + 1))
        yield self.settled()
        self.assertEqual(self.count(inbox), 1)
        self.assertEqual(len(self.simulator.submitted), 1)

    @defer.inlineCallbacks
    def test_every_text_coding_and_message_payload_reach_the_command(self):
        # Three spellings, or the three would be one message and two redeliveries.
        sends = [dict(short_message=b"BAL", data_coding=0x01),                  # IA5
                 dict(short_message=b"bal\xa0", data_coding=0x03),             # Latin-1
                 dict(message_payload="Bal".encode("utf-16-be"), data_coding=0x08)]
        for params in sends:
            status = yield self.simulator.deliver(MEMBER, SHORT_CODE, **params)
            self.assertEqual(status, OK)
        yield self.simulator.wait_for_submits(3)
        yield self.settled()
        self.assertEqual(self.executed(), ["BAL"] * 3)
        self.assertTrue(all("1,350 pts" in mt.text for mt in self.simulator.submitted))

    @defer.inlineCallbacks
    def test_binary_message_is_acknowledged_and_answered_politely(self):
        status = yield self.simulator.deliver(CHINESE_MEMBER, SHORT_CODE,
                                              short_message=b"\x00\x01\xfe", data_coding=0x04)
        self.assertEqual(status, OK)
        mt = yield self.simulator.next_mt()
        self.assertEqual(mt.text, "抱歉，无法读取您的短信，请以普通文字重新发送。")
        yield self.settled()
        self.assertEqual(self.executed(), [None])

    @defer.inlineCallbacks
    def test_a_udh_that_does_not_fit_is_answered_not_crashed_on(self):
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, esm_class=0x40,
                                              short_message=b"\x09\x00\x03\x01")
        self.assertEqual(status, OK)
        mt = yield self.simulator.next_mt()
        self.assertIn("could not read", mt.text)

    @defer.inlineCallbacks
    def test_a_message_with_no_sender_is_refused_for_good(self):
        status = yield self.simulator.deliver("", SHORT_CODE, "BAL")
        self.assertEqual(status, Status.REJECT_MESSAGE)
        self.assertEqual(self.count(inbox), 0)


class ConcatOnSQLite(ConcatCases, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class ConcatOnPostgreSQL(ConcatCases, unittest.TestCase):
    database = "postgresql"
