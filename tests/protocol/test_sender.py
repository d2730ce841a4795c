"""The sender against hand-driven SMSCs on both databases: what every kind of answer does
to an MT, and that nothing the SMSC took is ever sent again."""

import pytest

from gateway.outcomes import RETRY_LIMIT
from gateway.smpp.codec import Status
from gateway.smpp.session import LATE_ANSWER_GRACE
from gateway.store.models import outbox

from sender_harness import TIMEOUT, harness, later, quick  # noqa: F401 (fixtures)

LONG = "Jifen: " + "your balance is 1,350 pts. " * 12      # 331 GSM-7 characters: 3 parts


def due_in(harness, row_id) -> float:
    """Seconds from now to the row's next_attempt_at (SQLite hands back naive UTC)."""
    due = harness.row(row_id).next_attempt_at.replace(tzinfo=None)
    return (due - harness.now().replace(tzinfo=None)).total_seconds()


def started(harness):
    smsc = harness.binds[0].connect()
    harness.sender.start()
    harness.settle()
    return smsc


def test_queued_mt_is_submitted_and_recorded_with_its_message_id(harness):
    [row_id] = harness.queue()
    smsc = started(harness)
    [pdu] = smsc.submits()
    assert (pdu["source_addr"], pdu["destination_addr"], pdu["data_coding"]) == (
        "10655", "254700000000", 0)
    assert pdu["short_message"] == b"Jifen: your balance is 1,350 pts."
    assert harness.rows(outbox.c.state, outbox.c.claimed_by) == [("queued", "test:1")]
    smsc.answer(pdu, message_id="A7")
    harness.settle()
    assert harness.rows() == [(row_id, "submitted", 1, "A7", None)]
    assert harness.rows(outbox.c.claimed_by, outbox.c.claimed_until) == [(None, None)]


def test_no_more_than_the_window_is_in_flight(quick):
    quick.binds[0].config.window = 3
    quick.queue(5)
    smsc = started(quick)
    first = smsc.submits()
    assert len(first) == 3
    smsc.answer(first[0])
    quick.settle()
    assert len(smsc.submits()) == 1
    smsc.answer_all(first[1:])
    quick.settle()
    assert len(smsc.submits()) == 1
    assert len(smsc.received) == 5


def test_throttled_mt_waits_out_the_pause_and_goes_again_without_counting_a_try(quick):
    [row_id] = quick.queue()
    smsc = started(quick)
    [pdu] = smsc.submits()
    smsc.answer(pdu, Status.THROTTLED)
    quick.settle(0.9)
    assert smsc.submits() == []                     # paused for 1 s
    quick.settle(0.2)
    [again] = smsc.submits()
    assert again["short_message"] == pdu["short_message"]
    smsc.answer(again, message_id="B1")
    quick.settle()
    assert quick.rows() == [(row_id, "submitted", 1, "B1", None)]


def test_temporary_error_retries_with_backoff(harness):
    [row_id] = harness.queue()
    smsc = started(harness)
    [pdu] = smsc.submits()
    smsc.answer(pdu, Status.SYSTEM_ERROR)
    harness.settle()
    assert harness.rows() == [(row_id, "queued", 1, "-", "ESME_RSYSERR (0x08)")]
    assert due_in(harness, row_id) == pytest.approx(2.0, abs=0.05)
    harness.settle(1.5)
    assert smsc.submits() == []
    harness.settle(1.0)                             # the poll finds it due
    [again] = smsc.submits()
    smsc.answer(again, message_id="C")
    harness.settle()
    assert harness.rows() == [(row_id, "submitted", 2, "C", None)]


def test_temporary_errors_give_up_after_the_retry_limit(quick):
    [row_id] = quick.queue()
    smsc = started(quick)
    for attempt in range(RETRY_LIMIT):
        [pdu] = smsc.submits()
        smsc.answer(pdu, Status.TEMPORARY_APP_ERROR)
        quick.settle(2.0 * 2 ** attempt + 1.0)
    assert smsc.submits() == []
    [(_, state, attempts, _, error)] = quick.rows()
    assert (state, attempts) == ("failed", RETRY_LIMIT)
    assert error == f"gave up after {RETRY_LIMIT} tries: ESME_RX_T_APPN (0x64)"


def test_permanent_error_fails_the_mt_with_the_status_name_and_number(harness):
    [row_id] = harness.queue()
    smsc = started(harness)
    [pdu] = smsc.submits()
    smsc.answer(pdu, 0x0B)
    harness.settle(60)
    assert smsc.submits() == []
    assert harness.rows() == [(row_id, "failed", 0, "-", "ESME_RINVDSTADR (0x0b)")]


def test_late_answer_within_the_grace_is_recorded_and_the_mt_not_sent_again(harness):
    [row_id] = harness.queue()
    smsc = started(harness)
    [pdu] = smsc.submits()
    harness.settle(TIMEOUT * 2)                     # timed out, still within the grace
    assert smsc.submits() == []
    smsc.answer(pdu, message_id="LATE")
    harness.settle(120)
    assert smsc.submits() == []
    assert harness.rows() == [(row_id, "submitted", 1, "LATE", None)]


def test_no_answer_at_all_sends_it_again_after_the_grace_and_counts_a_try(quick):
    [row_id] = quick.queue()
    smsc = started(quick)
    [pdu] = smsc.submits()
    quick.settle(TIMEOUT * (1 + LATE_ANSWER_GRACE) + 0.1)
    assert quick.rows() == [(row_id, "queued", 1, "-", "no answer")]
    quick.settle(2.5)
    [again] = smsc.submits()
    smsc.answer(again)
    smsc.answer(pdu)                                # far too late: unmatched, changes nothing
    quick.settle()
    assert quick.rows(outbox.c.state, outbox.c.smsc_message_ids) == [
        ("submitted", f"id{again.sequence}")]


def test_long_mt_goes_as_parts_and_only_the_throttled_part_again(quick):
    [row_id] = quick.queue(text=LONG)
    smsc = started(quick)
    parts = smsc.submits()
    assert len(parts) == 3 and all(p["esm_class"] == 0x40 for p in parts)
    assert [p["short_message"][:6] for p in parts] == [
        bytes([5, 0, 3, row_id & 0xFF, 3, n]) for n in (1, 2, 3)]
    smsc.answer(parts[0], message_id="P1")
    smsc.answer(parts[1], Status.THROTTLED)
    smsc.answer(parts[2], message_id="P3")
    quick.settle(1.1)
    [again] = smsc.submits()
    assert again["short_message"] == parts[1]["short_message"]
    smsc.answer(again, message_id="P2")
    quick.settle()
    assert quick.rows() == [(row_id, "submitted", 1, "P1 P2 P3", None)]


def test_long_mt_with_a_part_refused_keeps_the_taken_ids_and_resends_only_the_rest(harness):
    [row_id] = harness.queue(text=LONG)
    smsc = started(harness)
    parts = smsc.submits()
    smsc.answer(parts[0], message_id="P1")
    smsc.answer(parts[1], Status.SYSTEM_ERROR)
    smsc.answer(parts[2], message_id="P3")
    harness.settle()
    assert harness.rows() == [(row_id, "queued", 1, "P1 - P3", "ESME_RSYSERR (0x08)")]
    harness.settle(2.5)
    [again] = smsc.submits()
    assert again["short_message"] == parts[1]["short_message"]
    smsc.answer(again, message_id="P2")
    harness.settle()
    assert harness.rows() == [(row_id, "submitted", 2, "P1 P2 P3", None)]


def test_text_that_cannot_be_sent_fails_without_a_submit(quick):
    [row_id] = quick.queue(text="x" * 160 * 300)
    smsc = started(quick)
    assert smsc.submits() == []
    [(_, state, _, _, error)] = quick.rows()
    assert state == "failed" and error.startswith("cannot encode")


def test_a_row_due_later_waits(quick):
    quick.queue(next_attempt_at=later(quick, 5))
    smsc = started(quick)
    assert smsc.submits() == []
    quick.settle(5.5)
    assert len(smsc.submits()) == 1


def test_tps_paces_the_outbox(quick):
    quick.binds[0].config.tps = 10
    quick.queue(30)
    smsc = started(quick)
    sent = len(smsc.submits())
    for _ in range(10):                             # one second
        quick.settle(0.1)
        new = smsc.submits()
        smsc.answer_all(new)
        sent += len(new)
    assert 10 <= sent <= 12                         # one token at once, then ten a second


def test_a_database_that_fails_to_record_keeps_the_row_claimed_and_retries(harness):
    [row_id] = harness.queue()
    smsc = started(harness)
    [pdu] = smsc.submits()
    real = harness.db.transaction
    harness.db.transaction = lambda fn, *a, **k: (_ for _ in ()).throw(
        RuntimeError("database down"))
    smsc.answer(pdu, message_id="D")
    harness.settle(3)
    harness.db.transaction = real
    harness.settle(1.1)
    assert smsc.submits() == []                     # not sent twice meanwhile
    assert harness.rows() == [(row_id, "submitted", 1, "D", None)]


def test_retry_delay_doubles_with_each_try(quick):
    [row_id] = quick.queue(attempts=3)
    smsc = started(quick)
    [pdu] = smsc.submits()
    smsc.answer(pdu, Status.SYSTEM_ERROR)
    quick.settle()
    assert due_in(quick, row_id) == pytest.approx(2.0 * 2 ** 3, abs=0.05)
