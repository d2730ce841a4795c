"""intake.py and delivery.py against a real database (SQLite and PostgreSQL), at chosen times.

The loopback tests (test_mo_*.py beside this one) show the behaviour end to end; these pin the
rules down at their edges: the redelivery window, the parts timeout, the order receipts and
segments meet in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from gateway import delivery, intake
from gateway.reassembly import Part
from gateway.receipts import Receipt
from gateway.store.models import inbox, outbox
from gateway.store.tables_mo import mo_parts, mt_deliveries, mt_segments, unmatched_receipts

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)
MEMBER, SHORT_CODE = "254712345678", "10655"


@pytest.fixture
def engine(migrated_engine):
    with migrated_engine.begin() as conn:
        for table in (mo_parts, unmatched_receipts, mt_deliveries, mt_segments, outbox, inbox):
            conn.execute(table.delete())
    return migrated_engine


def run(engine, fn, *args):
    with engine.begin() as conn:
        return fn(conn, *args)


def whole(text="BAL", kind="text", source=MEMBER):
    return intake.Whole(dict(bind="main", source_addr=source, destination_addr=SHORT_CODE,
                             text=text, data_coding=0, kind=kind))


def part(sequence, body, total=3, reference=0x2A, data_coding=0):
    return intake.PartArrival("main", MEMBER, SHORT_CODE, Part(reference, total, sequence),
                              data_coding, body, "gsm7")


def inbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(inbox.c.id, inbox.c.kind, inbox.c.text, inbox.c.duplicate_of)
                            .order_by(inbox.c.id)).all()


# -- redelivery ------------------------------------------------------------------------

def test_a_repeat_within_the_window_is_a_redelivery_and_after_it_is_not(engine):
    [first] = run(engine, intake.take, [whole()], T0, WINDOW)
    [again] = run(engine, intake.take, [whole()], T0 + WINDOW, WINDOW)
    [later] = run(engine, intake.take, [whole()], T0 + WINDOW + timedelta(seconds=1), WINDOW)
    [other] = run(engine, intake.take, [whole("HELP")], T0 + timedelta(seconds=30), WINDOW)
    [stranger] = run(engine, intake.take, [whole(source="254722000111")], T0, WINDOW)
    duplicate_of = {row.id: row.duplicate_of for row in inbox_rows(engine)}
    assert duplicate_of[again] == first
    # Only a first delivery is matched, never a redelivery, so the window does not slide.
    assert duplicate_of[later] is None
    assert duplicate_of[other] is None and duplicate_of[stranger] is None


def test_the_window_is_counted_from_the_first_delivery(engine):
    [first] = run(engine, intake.take, [whole()], T0, WINDOW)
    run(engine, intake.take, [whole()], T0 + timedelta(minutes=10), WINDOW)
    [late] = run(engine, intake.take, [whole()], T0 + timedelta(minutes=16), WINDOW)
    assert {row.id: row.duplicate_of for row in inbox_rows(engine)}[late] is None


def test_a_zero_window_never_deduplicates(engine):
    run(engine, intake.take, [whole(), whole()], T0, timedelta(0))
    assert [row.duplicate_of for row in inbox_rows(engine)] == [None, None]


def test_an_unreadable_message_is_not_the_duplicate_of_an_empty_text(engine):
    run(engine, intake.take, [whole(""), whole("", kind="unreadable")], T0, WINDOW)
    assert [row.duplicate_of for row in inbox_rows(engine)] == [None, None]


def test_copies_of_replies_go_to_the_sender_only(engine):
    first, second = run(engine, intake.take, [whole(), whole()], T0, WINDOW)

    def replies(conn):
        for n, (to, text) in enumerate([(MEMBER, "your balance"), ("254733000000", "to agent")]):
            conn.execute(insert(outbox).values(
                idempotency_key=f"mo:{first}:{n}", inbox_id=first, source_addr=SHORT_CODE,
                destination_addr=to, text=text, language="en", state="submitted",
                attempts=1, created_at=T0, next_attempt_at=T0))
        duplicate = conn.execute(select(inbox).where(inbox.c.id == second)).one()
        return intake.copy_replies(conn, first, duplicate, T0)

    assert run(engine, replies) == 1
    with engine.connect() as conn:
        copies = conn.execute(select(outbox.c.idempotency_key, outbox.c.destination_addr,
                                     outbox.c.text, outbox.c.state)
                              .where(outbox.c.inbox_id == second)).all()
    assert copies == [(f"mo:{second}:0", MEMBER, "your balance", "queued")]


# -- parts -------------------------------------------------------------------------------

def test_parts_in_any_order_with_repeats_make_one_message(engine):
    assert run(engine, intake.take, [part(3, b"L"), part(1, b"B"), part(3, b"L")], T0,
               WINDOW) == [None, None, None]
    [joined] = run(engine, intake.take, [part(2, b"A")], T0, WINDOW)
    assert inbox_rows(engine) == [(joined, "text", "BAL", None)]
    # The whole set delivered again later: every part is known, nothing new.
    assert run(engine, intake.take, [part(n, b"x") for n in (1, 2, 3)],
               T0 + timedelta(minutes=5), WINDOW) == [None, None, None]
    assert len(inbox_rows(engine)) == 1


def test_a_binary_long_message_is_one_unreadable_message(engine):
    run(engine, intake.take, [part(1, b"\x00\xff", total=2, data_coding=4)], T0, WINDOW)
    [joined] = run(engine, intake.take, [part(2, b"\x01", total=2, data_coding=4)], T0, WINDOW)
    assert inbox_rows(engine) == [(joined, "unreadable", "", None)]


def test_parts_that_stop_coming_become_incomplete_after_the_timeout(engine):
    timeout, keep = timedelta(minutes=5), WINDOW
    run(engine, intake.take, [part(1, b"Hello ")], T0, WINDOW)
    run(engine, intake.take, [part(3, b"world")], T0 + timedelta(minutes=2), WINDOW)
    alphabets = {"main": "gsm7"}
    # Measured from the last part that came, not the first.
    assert run(engine, intake.sweep, T0 + timedelta(minutes=6), timeout, keep, alphabets) == []
    [closed] = run(engine, intake.sweep, T0 + timedelta(minutes=7, seconds=1), timeout, keep,
                   alphabets)
    assert inbox_rows(engine) == [(closed, "incomplete", "Hello world", None)]
    # The missing part turns up late: acknowledged, ignored, nobody told twice.
    assert run(engine, intake.take, [part(2, b"dear ")], T0 + timedelta(minutes=8),
               WINDOW) == [None]
    assert run(engine, intake.sweep, T0 + timedelta(minutes=20), timeout, keep, alphabets) == []
    assert len(inbox_rows(engine)) == 1
    # Closed parts are forgotten once a redelivery of them is out of the question.
    run(engine, intake.sweep, T0 + timedelta(hours=1), timeout, keep, alphabets)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mo_parts)).scalar() == 0


def test_references_are_per_sender(engine):
    other = intake.PartArrival("main", "254722000111", SHORT_CODE, Part(0x2A, 2, 1), 0, b"B",
                               "gsm7")
    run(engine, intake.take, [part(1, b"BA", total=2), other], T0, WINDOW)
    [joined] = run(engine, intake.take, [part(2, b"L", total=2)], T0, WINDOW)
    assert inbox_rows(engine) == [(joined, "text", "BAL", None)]


# -- receipts ------------------------------------------------------------------------------

def make_mt(engine, key="mo:1:0"):
    def add(conn):
        return conn.execute(insert(outbox).values(
            idempotency_key=key, source_addr=SHORT_CODE, destination_addr=MEMBER,
            text="hello", language="en", state="queued", attempts=0, created_at=T0,
            next_attempt_at=T0)).inserted_primary_key[0]
    return run(engine, add)


def receipt(engine, message_id, status, id_format="auto", when=T0):
    run(engine, intake.take, [intake.ReceiptArrival("main", id_format,
                                                    Receipt((message_id,), status))],
        when, WINDOW)


def statuses(engine, outbox_id):
    with engine.connect() as conn:
        parts = conn.execute(select(mt_segments.c.status).where(
            mt_segments.c.outbox_id == outbox_id).order_by(mt_segments.c.part)).scalars().all()
        return parts, delivery.delivery_status(conn, outbox_id)


def test_receipts_late_twice_and_out_of_order_never_undo_a_final_status(engine):
    mt = make_mt(engine)
    run(engine, delivery.record_submitted, mt, ["0000002A", "0000002B"], T0)
    receipt(engine, "42", "ENROUTE")             # decimal for hex 2A
    receipt(engine, "2a", "DELIVRD")
    receipt(engine, "42", "ENROUTE")             # late, after the final one
    receipt(engine, "42", "UNDELIV")             # a second final one changes nothing
    receipt(engine, "43", "ACCEPTD")
    assert statuses(engine, mt) == (["DELIVRD", "ACCEPTD"], "DELIVRD")
    receipt(engine, "0000002B", "EXPIRED")
    assert statuses(engine, mt) == (["DELIVRD", "EXPIRED"], "EXPIRED")


def test_a_receipt_before_its_segment_is_kept_then_matched(engine):
    receipt(engine, "5914369", "DELIVRD", id_format="decimal")
    with engine.connect() as conn:
        [kept] = conn.execute(select(unmatched_receipts)).all()
    assert (kept.message_key, kept.outbox_id, kept.status) == ("5914369", None, "DELIVRD")
    mt = make_mt(engine)
    run(engine, delivery.record_submitted, mt, ["5A3F01"], T0 + timedelta(seconds=1))
    assert statuses(engine, mt) == (["DELIVRD"], "DELIVRD")
    with engine.connect() as conn:
        assert conn.execute(select(unmatched_receipts.c.outbox_id)).scalar() == mt


def test_an_early_receipt_of_another_format_is_not_taken(engine):
    receipt(engine, "5914369", "DELIVRD", id_format="hex")     # hex 5914369 is not 5A3F01
    mt = make_mt(engine)
    run(engine, delivery.record_submitted, mt, ["5A3F01"], T0)
    assert statuses(engine, mt) == ([None], None)


def test_an_unknown_id_and_an_unreadable_receipt_are_kept(engine):
    make_mt(engine)
    receipt(engine, "999", "DELIVRD")
    run(engine, intake.take, [intake.ReceiptArrival("main", "auto", None, "receipt names no "
                                                    "message id")], T0, WINDOW)
    with engine.connect() as conn:
        kept = conn.execute(select(unmatched_receipts.c.message_key, unmatched_receipts.c.reason)
                            .order_by(unmatched_receipts.c.id)).all()
    assert kept == [("999", "no MT with this id"), (None, "receipt names no message id")]


def test_the_sender_marks_for_untaken_segments_make_no_segment(engine):
    mt = make_mt(engine)
    run(engine, delivery.record_submitted, mt, ["7", "-", "?", ""], T0)
    with engine.connect() as conn:
        assert conn.execute(select(mt_segments.c.part, mt_segments.c.message_id)).all() == [
            (1, "7")]


# -- batches (one query for the senders' latest MOs, one INSERT, one segment INSERT) -----------

def test_a_batch_judges_each_mo_against_the_ones_before_it_in_the_batch(engine):
    other = "254722000111"
    batch = [whole(), whole(), whole("HELP"), whole("HELP"), whole(source=other), whole(),
             whole(source=other)]
    ids = run(engine, intake.take, batch, T0, WINDOW)
    assert ids == sorted(ids)          # written in the order they came
    bal, bal_again, help_, help_again, theirs, bal_third, theirs_again = ids
    assert {row.id: row.duplicate_of for row in inbox_rows(engine)} == {
        bal: None, bal_again: bal, help_: None, help_again: help_, theirs: None,
        bal_third: None,               # "BAL", "HELP", "BAL": a new question
        theirs_again: theirs}


def test_a_batch_repeating_a_repeat_names_the_first_delivery(engine):
    [first] = run(engine, intake.take, [whole()], T0, WINDOW)
    again = run(engine, intake.take, [whole(), whole()], T0 + timedelta(minutes=1), WINDOW)
    assert again == sorted(again)
    assert [row.duplicate_of for row in inbox_rows(engine)] == [None, first, first]


def test_a_batch_after_the_window_of_the_first_delivery_starts_afresh(engine):
    [first] = run(engine, intake.take, [whole()], T0, WINDOW)
    run(engine, intake.take, [whole()], T0 + timedelta(minutes=10), WINDOW)
    fresh, again = run(engine, intake.take, [whole(), whole()], T0 + timedelta(minutes=16),
                       WINDOW)
    duplicate_of = {row.id: row.duplicate_of for row in inbox_rows(engine)}
    assert (duplicate_of[fresh], duplicate_of[again]) == (None, fresh)


def test_a_long_message_joined_inside_a_batch_keeps_the_order_of_ids(engine):
    ids = run(engine, intake.take, [whole("HELP"), part(1, b"BA", total=2),
                                    whole(source="254722000111"), part(2, b"L", total=2),
                                    whole()], T0, WINDOW)
    assert ids[1] is None and ids[0] < ids[2] < ids[3] < ids[4]
    assert [(row.id, row.text, row.duplicate_of) for row in inbox_rows(engine)] == [
        (ids[0], "HELP", None), (ids[2], "BAL", None), (ids[3], "BAL", None),
        (ids[4], "BAL", ids[3])]       # the joined BAL was its sender's latest


def submitted(outbox_id, ids, token="t"):
    return dict(row_id=outbox_id, token=token, state="submitted", attempts=1,
                next_attempt_at=T0, error=None, smsc_message_ids=ids, submitted_at=T0)


def test_a_batch_of_outcomes_takes_the_receipts_that_came_before_it(engine):
    from gateway.store import outbox as outbox_store

    receipt(engine, "1001", "DELIVRD", id_format="as_is")
    receipt(engine, "2002", "UNDELIV", id_format="as_is")
    receipt(engine, "3e9", "ENROUTE", id_format="decimal")    # 1001 in hex: not this bind's
    mts = [make_mt(engine, f"mo:{n}:0") for n in range(3)]
    run(engine, outbox_store.record, [submitted(mts[0], "1001 1002"),
                                      submitted(mts[1], "- 2002"),
                                      submitted(mts[2], "3003")])
    assert [statuses(engine, mt) for mt in mts] == [
        (["DELIVRD", None], "DELIVRD"), (["UNDELIV"], "UNDELIV"), ([None], None)]
    with engine.connect() as conn:
        kept = conn.execute(select(unmatched_receipts.c.message_key, unmatched_receipts.c.outbox_id)
                            .order_by(unmatched_receipts.c.id)).all()
    assert kept == [("1001", mts[0]), ("2002", mts[1]), ("3e9", None)]


def test_an_early_receipt_goes_to_the_first_of_two_segments_with_its_id(engine):
    receipt(engine, "77", "DELIVRD", id_format="as_is")
    first, second = make_mt(engine, "mo:1:0"), make_mt(engine, "mo:2:0")
    run(engine, delivery.record_submitted_many, [(first, ["77"], T0), (second, ["77"], T0)])
    assert (statuses(engine, first), statuses(engine, second)) == (
        (["DELIVRD"], "DELIVRD"), ([None], None))


def test_a_batch_of_outcomes_writes_only_what_each_claim_still_holds(engine):
    from sqlalchemy import update

    from gateway.store import outbox as outbox_store

    mts = [make_mt(engine, f"mo:{n}:0") for n in range(4)]
    with engine.begin() as conn:
        conn.execute(update(outbox).values(claimed_by="mine", claimed_until=T0))
        conn.execute(update(outbox).where(outbox.c.id.in_(mts[2:])).values(claimed_by="theirs"))
    retry = dict(submitted(0, None), state="queued", attempts=1, error="throttled",
                 submitted_at=None, next_attempt_at=T0 + timedelta(seconds=30), token="mine")
    run(engine, outbox_store.record, [
        dict(retry, row_id=mts[0]), dict(retry, row_id=mts[2]),      # theirs now: left alone
        submitted(mts[1], "11", token="mine"), submitted(mts[3], "33", token="mine")])
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.state, outbox.c.error, outbox.c.claimed_by)
                            .order_by(outbox.c.id)).all()
    # "Submitted" is a fact whoever holds the row; the rest only under the writer's claim.
    assert rows == [("queued", "throttled", None), ("submitted", None, None),
                    ("queued", None, "theirs"), ("submitted", None, None)]


def test_receipts_that_matched_nothing_are_kept_a_week_then_forgotten(engine):
    receipt(engine, "777", "DELIVRD")                # at T0
    alphabets, timeout = {"main": "gsm7"}, timedelta(minutes=5)

    def count():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(unmatched_receipts)).scalar()
    run(engine, intake.sweep, T0 + intake.UNMATCHED_RECEIPTS_KEPT, timeout, WINDOW, alphabets)
    assert count() == 1
    run(engine, intake.sweep, T0 + intake.UNMATCHED_RECEIPTS_KEPT + timedelta(seconds=1),
        timeout, WINDOW, alphabets)
    assert count() == 0
