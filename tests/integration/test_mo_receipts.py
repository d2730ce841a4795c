"""Delivery receipts over loopback TCP, on SQLite and PostgreSQL.

Receipts come as text or TLVs or both, with ids in another base than submit_sm_resp gave,
late, twice, out of order, one per part or one per message, even before the submit_sm_resp.
Each is acknowledged, none is ever run as a command, and the MT's final status comes out
right and never goes back.
"""

from __future__ import annotations


import pytest
from sqlalchemy import select
from twisted.internet import defer
from twisted.trial import unittest

from gateway import delivery
from gateway.smpp.codec import Status
from gateway.smpp.simulator import ReceiptPlan, SmscProtocol, Submitted
from gateway.store.models import inbox
from gateway.store.tables_mo import mt_segments, unmatched_receipts
from mo_harness import MEMBER, SHORT_CODE, LoopbackCase, until

OK = Status.OK
LONG = "Jifen news: " + "points never expire while you shop at partner stores. " * 6


class ReceiptCases(LoopbackCase):

    def status(self, outbox_id=1):
        with self.gateway.engine.connect() as conn:
            return delivery.delivery_status(conn, outbox_id)

    def segments(self, outbox_id=1):
        return self.rows(select(mt_segments.c.part, mt_segments.c.status)
                         .where(mt_segments.c.outbox_id == outbox_id)
                         .order_by(mt_segments.c.part))

    @defer.inlineCallbacks
    def reply_recorded(self, message="BAL"):
        """One MO answered, its segment recorded: the MT the receipts are for."""
        mt = yield self.loop.exchange(MEMBER, message)
        yield until(lambda: len(self.segments()) == 1)
        return mt

    @defer.inlineCallbacks
    def receipts(self, mt, *sends):
        statuses = []
        for stat, style in sends:
            statuses.append((yield self.simulator.send_receipt(mt, stat, **style)))
        self.assertEqual(statuses, [OK] * len(sends))

    @defer.inlineCallbacks
    def test_text_receipt_with_decimal_ids_records_delivery(self):
        mt = yield self.reply_recorded()
        yield self.receipts(mt, ("DELIVRD", {}))
        self.assertEqual(self.status(), "DELIVRD")
        self.assertEqual(self.executed(), ["BAL"])

    @defer.inlineCallbacks
    def test_hex_ids_at_submit_decimal_in_receipts_late_twice_and_out_of_order(self):
        self.simulator.message_id_style = "HEX"         # submit_sm_resp: "0000000029" ...
        self.simulator._message_ids = 40                 # ids past 9: hex and decimal differ
        yield self.loop.exchange(MEMBER, "HELP")         # 41 = 0x29, a near miss for ours
        mt = yield self.loop.exchange(MEMBER, "BAL")
        yield until(lambda: len(self.segments(2)) == 1)
        self.assertEqual(mt.message_id, "000000002A")     # 42
        yield self.receipts(
            mt,
            ("ACCEPTD", dict(style="tlv", ids="decimal")),
            ("DELIVRD", dict(style="text", ids="decimal")),
            ("ENROUTE", dict(style="both", ids="decimal", tlv_ids="hex")),   # late
            ("DELIVRD", dict(style="tlv", ids="hex")),                         # twice
            ("UNDELIV", dict(style="text", ids="HEX")))                        # contradicts
        self.assertEqual(self.status(2), "DELIVRD")
        self.assertEqual(self.segments(2), [(1, "DELIVRD")])
        self.assertEqual(self.status(1), None)
        self.assertEqual(self.count(unmatched_receipts), 0)
        self.assertEqual(self.count(inbox), 2)           # receipts are never MOs

    @defer.inlineCallbacks
    def queue_long_mt(self):
        outbox_id = self.queue_mt(LONG)
        yield until(lambda: len(self.segments(outbox_id)) == 3)
        return outbox_id

    @defer.inlineCallbacks
    def test_a_receipt_per_part_and_one_failed_part(self):
        outbox_id = yield self.queue_long_mt()
        parts = self.simulator.submitted[-3:]
        yield self.receipts(parts[2], ("DELIVRD", {}))
        self.assertEqual(self.status(outbox_id), "DELIVRD")
        yield self.receipts(parts[0], ("ENROUTE", {}))
        yield self.receipts(parts[1], ("UNDELIV", dict(style="tlv")))
        yield self.receipts(parts[0], ("DELIVRD", {}))
        self.assertEqual(self.segments(outbox_id), [(1, "DELIVRD"), (2, "UNDELIV"),
                                                    (3, "DELIVRD")])
        self.assertEqual(self.status(outbox_id), "UNDELIV")

    @defer.inlineCallbacks
    def test_one_receipt_per_message_sent_by_the_simulator_itself(self):
        self.simulator.auto_receipts = ReceiptPlan(stats=("DELIVRD", "ENROUTE"), per_part=False,
                                                   style="both", duplicate=True)
        outbox_id = yield self.queue_long_mt()
        yield until(lambda: self.status(outbox_id) == "DELIVRD"
                    and len(self.simulator.deliver_responses) == 3)
        self.assertEqual(self.simulator.deliver_responses, [OK] * 3)
        self.assertEqual(self.segments(outbox_id), [(1, "DELIVRD"), (2, None), (3, None)])

    @defer.inlineCallbacks
    def test_a_receipt_before_its_submit_sm_resp_is_matched_when_the_resp_comes(self):
        held = []
        real_send = SmscProtocol.send

        def send(protocol, pdu):
            if pdu.command == "submit_sm_resp" and not held:
                held.append((protocol, pdu))
            else:
                real_send(protocol, pdu)

        self.patch(SmscProtocol, "send", send)
        reply = self.simulator.next_mt()
        yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        mt = yield reply
        yield self.receipts(mt, ("DELIVRD", dict(style="tlv")))
        [early] = self.rows(select(unmatched_receipts))
        self.assertEqual((early.message_key, early.outbox_id), ("1", None))
        protocol, resp = held[0]
        real_send(protocol, resp)
        yield until(lambda: self.status() == "DELIVRD")
        self.assertEqual(self.rows(select(unmatched_receipts.c.outbox_id)), [(1,)])

    @defer.inlineCallbacks
    def test_unmatched_and_unreadable_receipts_are_acknowledged_and_kept(self):
        stranger = Submitted(message_id="777", source_addr=SHORT_CODE, destination_addr=MEMBER,
                             data_coding=0, short_message=b"", text="", params={},
                             system_id="jifen")
        yield self.receipts(stranger, ("DELIVRD", {}))
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, esm_class=0x04,
                                              short_message=b"\xffnot a receipt\x00")
        self.assertEqual(status, OK)
        kept = self.rows(select(unmatched_receipts.c.message_key, unmatched_receipts.c.reason)
                         .order_by(unmatched_receipts.c.id))
        self.assertEqual(kept, [("777", "no MT with this id"),
                                (None, "receipt names no message id")])
        self.assertEqual(self.count(inbox), 0)


class ReceiptsOnSQLite(ReceiptCases, unittest.TestCase):
    database = "sqlite"


@pytest.mark.postgres
class ReceiptsOnPostgreSQL(ReceiptCases, unittest.TestCase):
    database = "postgresql"
