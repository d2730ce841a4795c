"""Long MTs in message_payload over loopback TCP, on SQLite and PostgreSQL: a bind configured
``long_messages = "message_payload"`` sends the whole text in one submit_sm, the SMSC reads it
whole, and its one receipt settles the MT."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from twisted.internet import defer
from twisted.trial import unittest

from gateway import delivery
from gateway.config import load
from gateway.store.models import outbox
from gateway.store.tables_mo import mt_segments
from mo_harness import LoopbackCase, until

NOTICE = ("Jifen: your points never expire while you shop at partner stores. Visit any shop "
          "with the Jifen sign and ask the agent to redeem for you. Reply HELP for the menu.")
CHINESE = "积分：您的积分在合作商店购物期间永不过期。请到任何有积分标志的商店，请店主为您兑换。回复帮助查看菜单。" * 2


class PayloadCases(LoopbackCase):
    settings = {"binds": tuple(dataclasses.replace(bind, long_messages="message_payload")
                               for bind in load().binds)}

    @defer.inlineCallbacks
    def sent(self, text):
        mt = self.simulator.next_mt()
        outbox_id = self.queue_mt(text)
        submitted = yield mt
        yield until(lambda: self.rows(select(outbox.c.state).where(
            outbox.c.id == outbox_id)) == [("submitted",)])
        return outbox_id, submitted

    @defer.inlineCallbacks
    def test_a_long_text_goes_in_one_submit_sm(self):
        for text, data_coding in ((NOTICE, 0), (CHINESE, 8)):
            outbox_id, mt = yield self.sent(text)
            self.assertGreater(len(mt.params["message_payload"]), 140)   # more than one SMS
            self.assertEqual((mt.text, mt.data_coding, mt.short_message), (text, data_coding, b""))
            self.assertEqual(self.rows(select(mt_segments.c.part).where(
                mt_segments.c.outbox_id == outbox_id)), [(1,)])

    @defer.inlineCallbacks
    def test_its_one_receipt_delivers_it(self):
        outbox_id, mt = yield self.sent(NOTICE)
        yield self.simulator.send_receipt(mt, "DELIVRD")
        with self.gateway.engine.connect() as conn:
            self.assertEqual(delivery.delivery_status(conn, outbox_id), "DELIVRD")


class PayloadOnSQLite(PayloadCases, unittest.TestCase):
    pass


class PayloadOnPostgreSQL(PayloadCases, unittest.TestCase):
    database = "postgresql"
