"""The sender when links drop, binds differ, processes share the outbox, and at shutdown."""

import threading
from collections import Counter
from datetime import timedelta

from gateway.store import outbox as outbox_store
from gateway.store.models import outbox

from sender_harness import FakeBind, harness, later, quick  # noqa: F401 (fixtures)
from test_sender import LONG, started


# -- links that drop ------------------------------------------------------------------------

def test_mts_unanswered_when_the_link_drops_go_after_the_rebind_and_answered_ones_never(harness):
    ids = harness.queue(3)
    smsc = started(harness)
    first = smsc.submits()
    smsc.answer(first[0], message_id="OK1")
    harness.binds[0].drop()
    harness.settle()
    rows = harness.rows(outbox.c.state, outbox.c.attempts, outbox.c.claimed_by)
    assert rows == [("submitted", 1, None), ("queued", 0, None), ("queued", 0, None)]
    smsc = harness.binds[0].connect()
    harness.sender.wake()                           # what SmppBind's ready callback does
    harness.settle()
    again = smsc.submits()
    assert [p["destination_addr"] for p in again] == [p["destination_addr"] for p in first[1:]]
    smsc.answer_all(again)
    harness.settle()
    assert harness.rows(outbox.c.id, outbox.c.state) == [(i, "submitted") for i in ids]


def test_long_mt_cut_by_a_dropped_link_sends_only_its_missing_parts(quick):
    [row_id] = quick.queue(text=LONG)
    smsc = started(quick)
    parts = smsc.submits()
    smsc.answer(parts[0], message_id="P1")
    quick.binds[0].drop()
    quick.settle()
    assert quick.rows(outbox.c.state, outbox.c.smsc_message_ids) == [("queued", "P1 - -")]
    smsc = quick.binds[0].connect()
    quick.sender.wake()
    quick.settle()
    again = smsc.submits()
    assert [p["short_message"] for p in again] == [p["short_message"] for p in parts[1:]]
    smsc.answer(again[0], message_id="P2")
    smsc.answer(again[1], message_id="P3")
    quick.settle()
    assert quick.rows(outbox.c.state, outbox.c.smsc_message_ids) == [("submitted", "P1 P2 P3")]


def test_rows_queued_for_a_bind_that_goes_down_are_handed_back_unclaimed(quick):
    quick.binds[0].config.window = 1
    quick.queue(4)
    smsc = started(quick)
    [pdu] = smsc.submits()
    assert {claim for (claim,) in quick.rows(outbox.c.claimed_by)} == {"test:1"}
    quick.binds[0].drop()
    quick.settle()
    # Free for any process's bind to take at once.
    assert quick.rows(outbox.c.claimed_by) == [(None,)] * 4
    assert quick.rows(outbox.c.state) == [("queued",)] * 4


# -- several binds ---------------------------------------------------------------------------

def test_each_mt_leaves_through_the_bind_of_its_short_code_and_a_down_bind_stops_nobody(quick):
    a = FakeBind(quick.clock, name="a", short_codes=("10655",))
    b = FakeBind(quick.clock, name="b", short_codes=("20655",))
    quick.binds[:] = [a, b]
    quick.sender = quick.new_sender("test")
    quick.queue(2, short_code="10655")
    quick.queue(2, short_code="20655")
    smsc_b = b.connect()                            # a never comes up
    quick.sender.start()
    quick.settle()
    sent = smsc_b.submits()
    assert [p["source_addr"] for p in sent] == ["20655", "20655"]
    smsc_b.answer_all(sent)
    quick.settle(5)
    assert quick.rows(outbox.c.source_addr, outbox.c.state) == [
        ("10655", "queued"), ("10655", "queued"), ("20655", "submitted"), ("20655", "submitted")]
    smsc_a = a.connect()
    quick.sender.wake()
    quick.settle()
    assert [p["source_addr"] for p in smsc_a.submits()] == ["10655", "10655"]


def test_a_receiver_and_transmitter_pair_sends_through_the_transmitter(quick):
    rx = FakeBind(quick.clock, name="rx", mode="receiver")
    tx = FakeBind(quick.clock, name="tx", mode="transmitter")
    quick.binds[:] = [rx, tx]
    quick.sender = quick.new_sender("test")
    quick.queue(2)
    smsc_rx, smsc_tx = rx.connect(), tx.connect()
    quick.sender.start()
    quick.settle()
    assert smsc_rx.submits() == []
    assert len(smsc_tx.submits()) == 2


# -- processes sharing one database ---------------------------------------------------------------

def test_two_processes_on_one_outbox_send_every_mt_exactly_once(harness):
    other_bind = FakeBind(harness.clock, name="other")
    other = harness.new_sender("other", binds=[other_bind])
    ids = harness.queue(30)
    smscs = [harness.binds[0].connect(), other_bind.connect()]
    harness.sender.start()
    other.start()
    for _ in range(10):
        harness.settle()
        for smsc in smscs:
            smsc.answer_all(smsc.submits())
    harness.settle()
    destinations = Counter(p["destination_addr"] for smsc in smscs for p in smsc.received)
    assert len(destinations) == 30 and set(destinations.values()) == {1}
    assert harness.rows(outbox.c.id, outbox.c.state) == [(i, "submitted") for i in ids]


def test_a_live_lease_is_respected_and_an_expired_one_taken_over(harness):
    now = harness.now()
    held, dead = harness.queue(2)
    with harness.engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == held).values(
            claimed_by="elsewhere:1", claimed_until=now + timedelta(seconds=30)))
        conn.execute(outbox.update().where(outbox.c.id == dead).values(
            claimed_by="crashed:1", claimed_until=now - timedelta(seconds=1)))
    smsc = started(harness)
    [pdu] = smsc.submits()
    assert pdu["destination_addr"] == "254700000001"    # the dead process's row
    smsc.answer(pdu)
    harness.settle(31)
    [pdu] = smsc.submits()                              # the other's lease ran out
    assert pdu["destination_addr"] == "254700000000"


def _claim_in_threads(engine, now, workers):
    claimed, start = [], threading.Barrier(workers)

    def claim(n):
        start.wait()
        with engine.begin() as conn:
            claimed.append(outbox_store.claim(conn, ["10655"], now, f"w{n}",
                                              now + timedelta(seconds=60), 10))
    threads = [threading.Thread(target=claim, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return claimed


def test_concurrent_claims_never_share_a_row(harness):
    harness.queue(40)
    batches = _claim_in_threads(harness.engine, later(harness, 1), workers=4)
    ids = [row.id for batch in batches for row in batch]
    assert len(ids) == len(set(ids)) == 40          # every row once, none twice
    assert {row.claimed_by for batch in batches for row in batch} == {"w0", "w1", "w2", "w3"}


# -- shutting down ------------------------------------------------------------------------------

def test_stop_takes_no_new_mts_waits_for_answers_and_hands_back_the_rest(quick):
    quick.binds[0].config.window = 2
    quick.queue(5)
    smsc = started(quick)
    in_flight = smsc.submits()
    stopped = quick.sender.stop()
    quick.settle()
    assert not stopped.called                       # waiting for the two answers
    quick.queue(1)
    quick.sender.wake()
    smsc.answer_all(in_flight)
    quick.settle()
    assert stopped.called
    assert smsc.submits() == []                     # nothing new once stopping
    assert quick.rows(outbox.c.state, outbox.c.claimed_by) == (
        [("submitted", None)] * 2 + [("queued", None)] * 4)


def test_stop_waits_for_answers_only_so_long(quick):
    quick.queue(1)
    smsc = started(quick)
    smsc.submits()
    stopped = quick.sender.stop()
    quick.settle(9.9)
    assert not stopped.called
    quick.settle(0.2)                               # the response timeout bounds the drain
    assert stopped.called
    assert quick.rows(outbox.c.state, outbox.c.claimed_by, outbox.c.error) == [
        ("queued", None, "gateway stopped before the SMSC answered")]


def test_a_stopped_sender_starts_again(quick):
    quick.queue(1)
    smsc = started(quick)
    [unanswered] = smsc.submits()
    quick.sender.stop()
    quick.settle(11)
    quick.queue(1)
    quick.sender.start()
    quick.settle()
    again = smsc.submits()                          # the handed-back one and the new one
    assert [p["destination_addr"] for p in again] == ["254700000000", "254700000000"]
    smsc.answer_all(again)
    quick.settle()
    assert quick.rows(outbox.c.state) == [("submitted",), ("submitted",)]
