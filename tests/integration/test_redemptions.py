"""Member self-redemption through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.redeem import Refusal, Refused, State
from gateway.redeem import codes
from gateway.redeem.postings import find as find_posting
from gateway.store.models import outbox
from gateway.store.tables_catalog import ledger_postings, redemptions, vouchers
from ledger_client import InsufficientFunds
from redeem_fixtures import Shop, gateway_engine, shop  # noqa: F401  (fixtures)


def test_a_voucher_is_redeemed_once_with_codes_stored_only_as_digests(shop: Shop):
    [jane] = shop.members(1, 2000)
    done = shop.redeem(jane, "movie", 2, key="mo:7")
    assert done.state is State.COMPLETED and done.created
    assert done.reference[0] == "R" and len(done.reference) == 5
    assert set(done.reference[1:]) <= set(codes.ALPHABET)
    assert len(done.voucher_codes) == 2 and len(set(done.voucher_codes)) == 2
    assert (shop.available(jane), shop.item("MOVIE").stock) == (800, 3)
    stored = shop.rows(select(vouchers.c.digest, vouchers.c.last_chars))
    assert sorted(d for d, _ in stored) == sorted(codes.digest(c) for c in done.voucher_codes)
    assert all(code not in repr(stored) for code in done.voucher_codes)
    again = shop.redeem(jane, "MOVIE", 2, key="mo:7")        # the same message again
    assert (again.reference, again.created, again.voucher_codes) == (done.reference, False, ())
    assert (shop.available(jane), shop.item("MOVIE").stock) == (800, 3)


def test_airtime_has_no_stock_to_run_out_and_no_code(shop: Shop):
    [jane] = shop.members(1, 1000)
    done = shop.redeem(jane, "AIR50", 3)
    assert (done.state, done.voucher_codes, done.points) == (State.COMPLETED, (), 300)
    assert shop.item("AIR50").stock is None


REFUSALS = [
    ("NOPE", 1, Refusal.UNKNOWN_ITEM),
    ("RICE5", 1, Refusal.AGENT_ONLY),
    ("SOLAR", 1, Refusal.NOT_ON_SALE),
    ("AIR50", 0, Refusal.INVALID_QUANTITY),
    ("AIR50", 11, Refusal.INVALID_QUANTITY),
    ("MOVIE", 3, Refusal.OVER_LIMIT),
    ("MOVIE", 2, Refusal.INSUFFICIENT_POINTS),
]


def test_refusals_leave_nothing_behind(shop: Shop):
    [jane] = shop.members(1, 1000)
    for code, quantity, reason in REFUSALS:
        refused = shop.redeem(jane, code, quantity)
        assert isinstance(refused, Refused) and refused.reason is reason, (code, refused)
    assert shop.available(jane) == 1000
    assert shop.item("MOVIE").stock == 5
    assert shop.rows(select(func.count()).select_from(redemptions)) == [(0,)]
    assert shop.rows(select(func.count()).select_from(ledger_postings)) == [(0,)]


def test_a_sale_window_opens_and_closes(shop: Shop):
    [jane] = shop.members(1, 5000)
    shop.now += timedelta(hours=1)
    assert shop.redeem(jane, "SOLAR").state is State.COMPLETED
    shop.now += timedelta(hours=1)
    assert shop.redeem(jane, "SOLAR").reason is Refusal.NOT_ON_SALE


def test_the_per_member_limit_counts_earlier_redemptions(shop: Shop):
    [jane, li] = shop.members(2, 5000)
    assert shop.redeem(jane, "MOVIE").state is State.COMPLETED
    assert shop.redeem(jane, "MOVIE").state is State.COMPLETED
    refused = shop.redeem(jane, "MOVIE")
    assert (refused.reason, refused.details["left"]) == (Refusal.OVER_LIMIT, 0)
    assert shop.redeem(li, "MOVIE").state is State.COMPLETED


def test_sold_out(shop: Shop):
    people = shop.members(4, 5000)
    for person in people[:2]:
        shop.redeem(person, "MOVIE", 2)
    assert shop.redeem(people[2], "MOVIE", 2).reason is Refusal.SOLD_OUT
    assert shop.redeem(people[2], "MOVIE", 1).state is State.COMPLETED
    assert shop.redeem(people[3], "MOVIE", 1).reason is Refusal.SOLD_OUT
    assert shop.item("MOVIE").stock == 0


def test_every_reference_has_a_digit_so_commands_can_name_it_back(gateway_engine):
    class Letters(random.Random):
        def choice(self, seq):              # draws only letters where it may
            letters = [c for c in seq if not c.isdigit()]
            return super().choice(letters or seq)
    with gateway_engine.connect() as conn:
        drawn = {codes.new_reference(conn, Letters(n)) for n in range(200)}
    assert all(any(c.isdigit() for c in ref) and len(ref) == 5 for ref in drawn)


def test_history_shows_the_redemption_with_its_reference(shop: Shop):
    [jane] = shop.members(1, 1000)
    done = shop.redeem(jane, "AIR50", 2)
    with shop.engine.connect() as conn:
        lines = shop.service.history(conn, jane, limit=5)
    assert [(line["points"], line["what"], line["reference"]) for line in lines] == [
        (-200, "redeem", done.reference), (1000, "issue", None)]


def test_a_flash_sale_sells_exactly_its_stock_to_concurrent_members(gateway_engine):
    shop = Shop(gateway_engine)
    with gateway_engine.begin() as conn:
        from gateway import catalog
        catalog.add(conn, catalog.Item("FLASH", "vouchers", "voucher", 10, {"en": "Flash"},
                                       stock=100), shop.now)
    people = shop.members(1000, 50)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda person: shop.redeem(person, "FLASH", key=f"mo:{person}"),
                                 people))
    completed = [o for o in outcomes if getattr(o, "state", None) is State.COMPLETED]
    sold_out = [o for o in outcomes if getattr(o, "reason", None) is Refusal.SOLD_OUT]
    assert (len(completed), len(sold_out)) == (100, 900), {type(o) for o in outcomes}
    assert shop.item("FLASH").stock == 0
    assert len({o.reference for o in completed}) == 100
    assert shop.rows(select(func.count()).select_from(vouchers)) == [(100,)]


# --- PINs ------------------------------------------------------------------------------------

def test_pins_lock_redemption_after_five_wrong_and_unlock_after_thirty_minutes(gateway_engine):
    shop = Shop(gateway_engine, pin_required=True)
    [jane] = shop.members(1, 5000)
    assert shop.redeem(jane, "AIR50", pin="1234").reason is Refusal.PIN_NOT_SET
    with shop.engine.begin() as conn:
        assert shop.pins.set_first(conn, jane, "12a4", shop.now).reason is Refusal.INVALID_PIN
        assert shop.pins.set_first(conn, jane, "2468", shop.now) is None
        assert shop.pins.set_first(conn, jane, "1357", shop.now).reason is Refusal.PIN_ALREADY_SET
    assert shop.redeem(jane, "AIR50").reason is Refusal.PIN_REQUIRED
    for left in (4, 3, 2, 1):
        refused = shop.redeem(jane, "AIR50", pin="0000")
        assert (refused.reason, refused.details["attempts_left"]) == (Refusal.WRONG_PIN, left)
    assert shop.redeem(jane, "AIR50", pin="0000").reason is Refusal.PIN_LOCKED
    assert shop.redeem(jane, "AIR50", pin="2468").reason is Refusal.PIN_LOCKED   # even right
    shop.now += timedelta(minutes=29, seconds=59)
    assert shop.redeem(jane, "AIR50", pin="2468").reason is Refusal.PIN_LOCKED
    shop.now += timedelta(seconds=1)
    assert shop.redeem(jane, "AIR50", pin="2468").state is State.COMPLETED
    with shop.engine.connect() as conn:
        assert shop.pins.state(conn, jane, shop.now).attempts_left == 5


def test_changing_a_pin_needs_the_old_one(gateway_engine):
    shop = Shop(gateway_engine, pin_required=True)
    [jane] = shop.members(1, 5000)
    with shop.engine.begin() as conn:
        shop.pins.set_first(conn, jane, "2468", shop.now)
        assert shop.pins.change(conn, jane, "1111", "8642", shop.now).reason is Refusal.WRONG_PIN
        assert shop.pins.change(conn, jane, "2468", "86", shop.now).reason is Refusal.INVALID_PIN
        assert shop.pins.change(conn, jane, "2468", "864200", shop.now) is None
    assert shop.redeem(jane, "AIR50", pin="2468").reason is Refusal.WRONG_PIN
    assert shop.redeem(jane, "AIR50", pin="864200").state is State.COMPLETED


# --- reversal ----------------------------------------------------------------------------------

def test_a_reversal_gives_points_and_stock_back_and_tells_the_member_once(shop: Shop):
    [jane] = shop.members(1, 2000)
    done = shop.redeem(jane, "MOVIE", 2)
    for _ in range(2):
        with shop.engine.begin() as conn:
            state = shop.service.reverse(conn, done.reference.lower(), reason="wrong item",
                                         by="ops:alice", now=shop.now)
        assert state is State.REVERSED
    assert (shop.available(jane), shop.item("MOVIE").stock) == (2000, 5)
    [(text, to, key)] = shop.rows(select(outbox.c.text, outbox.c.destination_addr,
                                         outbox.c.idempotency_key))
    assert done.reference in text and "reversed" in text and "1,200 pts" in text
    assert (to, key) == ("254700000000", f"rdm:{done.reference}:reversed")
    [(state, by, reason)] = shop.rows(select(redemptions.c.state, redemptions.c.reversed_by,
                                             redemptions.c.reversal_reason))
    assert (state, by, reason) == ("reversed", "ops:alice", "wrong item")


def test_only_a_completed_redemption_can_be_reversed(shop: Shop):
    with shop.engine.begin() as conn:
        with pytest.raises(LookupError):
            shop.service.reverse(conn, "RZZZZ", reason="x", by="ops", now=shop.now)


# --- queued for the central ledger -------------------------------------------------------------

def test_a_queued_redemption_completes_when_its_posting_does(gateway_engine):
    shop = Shop(gateway_engine, queued=True)
    [jane] = shop.members(1, 2000)
    pending = shop.redeem(jane, "MOVIE", 1)
    assert pending.state is State.PROCESSING and pending.voucher_codes == ()
    assert shop.item("MOVIE").stock == 4
    [(posting_id,)] = shop.rows(select(ledger_postings.c.id))
    with shop.engine.begin() as conn:
        posting = find_posting(conn, posting_id)
        shop.ledger.post(conn, _resolved(shop, conn, posting))    # as the poster would
        shop.service.settle(conn, posting, None, shop.now)
        shop.service.settle(conn, posting, None, shop.now)         # recorded once
    [(text,)] = shop.rows(select(outbox.c.text))
    assert pending.reference in text and "Voucher:" in text
    assert shop.rows(select(redemptions.c.state)) == [("completed",)]
    assert shop.available(jane) == 1400


def test_a_queued_redemption_refused_by_the_ledger_gives_the_stock_back(gateway_engine):
    shop = Shop(gateway_engine, queued=True)
    [jane] = shop.members(1, 100)
    pending = shop.redeem(jane, "MOVIE", 1)
    [(posting_id,)] = shop.rows(select(ledger_postings.c.id))
    with shop.engine.begin() as conn:
        posting = find_posting(conn, posting_id)
        shop.service.settle(conn, posting, InsufficientFunds(1, 600), shop.now)
    assert shop.rows(select(redemptions.c.state, redemptions.c.refusal)) == [
        ("failed", "insufficient_points")]
    assert shop.item("MOVIE").stock == 5
    [(text,)] = shop.rows(select(outbox.c.text))
    assert pending.reference in text and "not enough points" in text


def _resolved(shop: Shop, conn, posting):
    from gateway.redeem import postings
    return postings.resolve(posting, lambda kind, reference, ledger: shop.ledger.open_account(
        conn, kind, reference, ledger=ledger))
