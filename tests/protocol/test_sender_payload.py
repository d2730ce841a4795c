"""A bind with ``long_messages = "message_payload"``: a long MT leaves as one submit_sm carrying
the whole text in the message_payload TLV, and a short one exactly as on any other bind."""

import pytest

from gateway.smpp import text as sms_text
from gateway.smpp.codec import Status

from sender_harness import FakeBind, SenderHarness

LONG = "Jifen: " + "your balance is 1,350 pts. " * 12      # 331 GSM-7 characters
CHINESE = "积分：" + "您的余额是1,350分。" * 8                 # 107 UCS-2 units


@pytest.fixture
def payload_bind(database_url):
    harness = SenderHarness(database_url)
    harness.binds[:] = [FakeBind(harness.clock, long_messages="message_payload")]
    harness.sender = harness.new_sender("test")
    yield harness
    harness.close()


def started(harness):
    smsc = harness.binds[0].connect()
    harness.sender.start()
    harness.settle()
    return smsc


@pytest.mark.parametrize("text, data_coding, body", [
    (LONG, 0, sms_text.encode(LONG).payload),
    (CHINESE, 8, CHINESE.encode("utf-16-be")),
])
def test_long_mt_goes_whole_in_message_payload(payload_bind, text, data_coding, body):
    [row_id] = payload_bind.queue(text=text)
    smsc = started(payload_bind)
    [pdu] = smsc.submits()
    assert (pdu["esm_class"], pdu["data_coding"], pdu["message_payload"]) == (0, data_coding, body)
    assert not pdu.params.get("short_message")   # never both (SMPP 3.4 section 5.3.2.32)
    smsc.answer(pdu, message_id="M1")
    payload_bind.settle()
    assert payload_bind.rows() == [(row_id, "submitted", 1, "M1", None)]


def test_short_mt_still_goes_in_short_message(payload_bind):
    payload_bind.queue(text="Jifen: your balance is 1,350 pts.")
    smsc = started(payload_bind)
    [pdu] = smsc.submits()
    assert pdu["short_message"] == b"Jifen: your balance is 1,350 pts."
    assert "message_payload" not in pdu.params


def test_a_throttled_payload_goes_again_whole(payload_bind):
    [row_id] = payload_bind.queue(text=LONG)
    smsc = started(payload_bind)
    [first] = smsc.submits()
    smsc.answer(first, Status.THROTTLED)
    payload_bind.settle(1.1)
    [again] = smsc.submits()
    assert again["message_payload"] == first["message_payload"]
    smsc.answer(again, message_id="M2")
    payload_bind.settle()
    assert payload_bind.rows() == [(row_id, "submitted", 1, "M2", None)]


def test_the_length_limit_is_the_same_as_with_segments(payload_bind):
    payload_bind.queue(text="x" * 160 * 300)
    smsc = started(payload_bind)
    assert smsc.submits() == []
    [(_, state, _, _, error)] = payload_bind.rows()
    assert state == "failed" and error.startswith("cannot encode")
