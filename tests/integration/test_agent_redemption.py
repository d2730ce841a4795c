"""Assisted redemption beneath the SMS commands, on SQLite and PostgreSQL: RDM, YES/NO, expiry,
wrong codes, risk limits, races and redeliveries, reversal, disputes; the ledger audited after each."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from twisted.internet import defer, task

import agents as rules
from agent_fixtures import CONFIG, JANE, LI, OTHER_SHOP, SHOP, Agency
from gateway.agency import AgencySweeper, aftersales, network
from gateway.commands.agent_values import Answered, Refusal, Reversed, Started
from gateway.store.models import outbox
from gateway.store.tables_agents import agent_disputes
from ledger_client.schema import accounts
from redeem_fixtures import gateway_engine  # noqa: F401  (fixture)


@pytest.fixture
def agency(gateway_engine):  # noqa: F811
    return Agency(gateway_engine)


def started(agency, **kwargs) -> Started:
    result = agency.rdm(**kwargs)
    assert isinstance(result, Started), result
    return result


def posted(agency, kind: str, reference: str, ledger: str = "points") -> int:
    with agency.engine.connect() as conn:
        row = conn.execute(select(accounts.c.credits_posted - accounts.c.debits_posted).where(
            accounts.c.kind == kind, accounts.c.reference == reference,
            accounts.c.ledger == ledger)).first()
    return row[0] if row else 0


def test_rdm_holds_and_yes_posts_points_commissions_and_settlement_at_once(agency):
    rdm = started(agency)
    assert rdm.member_shown == "0712***678 JANE W."
    assert rdm.deal.points == 1_000 and rdm.deal.shop == "Shop Li" and len(rdm.code) == 4
    assert agency.available() == 49_000 and agency.stock("RICE5") == 18
    assert agency.redemption(rdm.deal.reference).code_digest != rdm.code   # stored hashed

    done = agency.answer(rdm.code)
    assert isinstance(done, Answered) and done.outcome == "approved"
    assert done.balance == 49_000
    # 3.5% of 1,000 = 35, split 55/30/15 under the 2026-07 plan: S01 10, M01 5, the shop the rest.
    shares = {"A1023": 20, "S01": 10, "M01": 5}
    assert done.commission == 20
    row = agency.redemption(rdm.deal.reference)
    assert (row.state, row.plan_version, json.loads(row.shares), row.pool) == (
        "approved", "2026-07", shares, 35)
    for code, points in shares.items():
        assert posted(agency, "agent_commission", code) == points
    assert posted(agency, "shop_settlement", "A1023", "KES") == 1_000


def test_recorded_shares_are_reproduced_by_their_plan_version(agency):
    for qty in (1, 3, 2):
        agency.answer(started(agency, qty=qty).code)
    agency.tick(minutes=1)
    lamp = started(agency, item="LAMP", qty=1, agent=OTHER_SHOP)
    agency.answer(lamp.code)
    plans = rules.load_plans(CONFIG / "commissions.toml")    # as an auditor would read them
    with agency.engine.connect() as conn:
        book = network.load_network(conn)
        from gateway.store.tables_agents import agent_redemptions as r
        rows = conn.execute(select(r).where(r.c.state == "approved")).all()
    assert len(rows) == 4
    for row in rows:
        plan = plans.version(row.plan_version)
        assert plan.digest == row.plan_digest
        chain = [rules.Agent(code=c, msisdn="1" * 9, name=c, location="x",
                             level=rules.Level(level)) for c, level in json.loads(row.chain)]
        again = rules.compute(plan, row.category, row.points, row.month_to_date, chain,
                              member_points_today=row.member_points_today)
        assert again.shares == json.loads(row.shares) and again.pool == row.pool
        assert [c for c, _ in json.loads(row.chain)] == [a.code for a in rules.chain(book, row.agent_code)]


def test_no_refuses_and_gives_points_and_stock_back(agency):
    rdm = started(agency)
    assert agency.answer(rdm.code, approve=False).outcome == "refused"
    assert agency.available() == 50_000 and agency.stock("RICE5") == 20
    assert agency.answer(rdm.code).__class__ is Refusal          # nothing left to approve


def test_a_yes_from_another_phone_finds_nothing_and_does_not_count(agency):
    rdm = started(agency)
    for _ in range(5):
        assert agency.answer(rdm.code, phone=LI) == Refusal("nothing_pending")
    assert agency.redemption(rdm.deal.reference).code_attempts == 0
    assert agency.answer(rdm.code).outcome == "approved"


def test_three_wrong_codes_cancel(agency):
    rdm = started(agency)
    wrong = "0000" if rdm.code != "0000" else "1111"
    assert [agency.answer(wrong).outcome for _ in range(2)] == ["wrong_code", "wrong_code"]
    assert agency.answer(wrong).outcome == "cancelled"
    assert agency.answer(rdm.code) == Refusal("nothing_pending")
    assert agency.available() == 50_000 and agency.stock("RICE5") == 20


def test_a_member_confirming_twice_redeems_once(agency):
    rdm = started(agency)
    assert agency.answer(rdm.code).outcome == "approved"
    assert agency.answer(rdm.code) == Refusal("nothing_pending")
    assert agency.available() == 49_000 and agency.states() == ["approved"]


def test_the_same_rdm_again_is_the_same_redemption(agency):
    first = started(agency, key="mo:77")
    again = started(agency, key="mo:77")
    assert again.deal.reference == first.deal.reference and again.code is None
    assert agency.states() == ["pending"] and agency.available() == 49_000


def test_an_unanswered_hold_expires_both_in_the_ledger_and_here(agency):
    rdm = started(agency)
    agency.tick(minutes=10)
    with agency.engine.begin() as conn:
        agency.ledger.expire_holds(conn)                       # the ledger's own sweep came first
        deals = agency.service.expire_due(conn, agency.now)
    assert [d.reference for d in deals] == [rdm.deal.reference]
    assert agency.states() == ["expired"] and agency.stock("RICE5") == 20
    assert agency.available() == 50_000
    assert agency.answer(rdm.code) == Refusal("nothing_pending")


def test_a_yes_after_the_time_but_before_the_sweep_is_expired(agency):
    rdm = started(agency)
    agency.tick(minutes=10, seconds=1)
    assert agency.answer(rdm.code).outcome == "expired"
    assert agency.states() == ["expired"] and agency.stock("RICE5") == 20
    with agency.engine.begin() as conn:          # a hold past its time: the ledger's sweep frees it
        agency.ledger.expire_holds(conn)
    assert agency.available() == 50_000


def test_two_agents_racing_for_the_last_unit_get_one_redemption(agency):
    first = agency.rdm(item="LAMP", qty=1)
    second = agency.rdm(member=LI, item="LAMP", qty=1, agent=OTHER_SHOP)
    assert isinstance(first, Started) and second == Refusal("sold_out")
    assert agency.stock("LAMP") == 0


@pytest.mark.parametrize(("change", "reason"), [
    (lambda a: _status(a, "A1023", "suspended"), "agent_suspended"),
    (lambda a: None, "self_redemption"),
])
def test_agent_status_and_own_number_are_refused(agency, change, reason):
    change(agency)
    member = SHOP if reason == "self_redemption" else JANE
    if member == SHOP:
        from gateway.store.members import add_member
        with agency.engine.begin() as conn:
            add_member(conn, agency.ledger, msisdn=SHOP, name="Li Shop", now=agency.now, points=5_000)
    assert agency.rdm(member=member) == Refusal(reason)
    assert agency.available() == 50_000


def _status(agency, code, status):
    with agency.engine.begin() as conn:
        network.set_status(conn, code, rules.Status(status), agency.now)


def test_velocity_and_daily_caps_have_their_reason_codes(gateway_engine):  # noqa: F811
    agency = Agency(gateway_engine)
    for _ in range(5):
        started(agency, qty=1)
    refused = agency.rdm(qty=1)
    assert isinstance(refused, Refusal) and refused.code == "velocity"
    agency.tick(minutes=2)
    assert agency.rdm(qty=41) == Refusal("member_daily_points")       # 20,500 > 20,000
    with agency.engine.connect() as conn:
        counts = aftersales.refusal_counts(conn, agency.now - timedelta(days=1))
    assert counts == {"held": 5, "velocity": 1, "member_daily_points": 1}


def test_agent_daily_count_and_points(gateway_engine):  # noqa: F811
    agency = Agency(gateway_engine)
    limits = agency.service.settings.limits
    object.__setattr__(limits, "agent_daily_count", 2)
    started(agency, qty=1)
    agency.tick(minutes=1)
    started(agency, qty=1)
    assert agency.rdm(qty=1) == Refusal("agent_daily_count")
    object.__setattr__(limits, "agent_daily_count", 50)
    object.__setattr__(limits, "agent_daily_points", 1_500)
    assert agency.rdm(qty=2) == Refusal("agent_daily_points")


def test_wrong_agent_pins_lock_the_agent_out(agency):
    with agency.engine.begin() as conn:
        from gateway.store.tables_agents import agents as table
        conn.execute(update(table).where(table.c.code == "A1023").values(
            pin_hash=agency.service.hasher.hash("2468")))
    assert agency.rdm() == Refusal("pin_required")
    assert [agency.rdm(pin="1111") for _ in range(2)] == [Refusal("wrong_pin")] * 2
    assert agency.rdm(pin="1111") == Refusal("wrong_pin")
    locked = agency.rdm(pin="2468")
    assert isinstance(locked, Refusal) and locked.code == "agent_locked"
    agency.tick(minutes=31)
    assert isinstance(agency.rdm(pin="2468"), Started)


def test_unknown_member_item_and_not_goods(agency):
    assert agency.rdm(member="254799999999") == Refusal("unknown_member")
    assert agency.rdm(item="NOPE") == Refusal("unknown_item")
    assert agency.rdm(item="AIR50").code == "not_goods"
    assert agency.rdm(member=LI, qty=6) == Refusal("insufficient_points")
    assert agency.stock("RICE5") == 20


def test_reversal_inside_the_window_claws_back_and_outside_is_refused(agency):
    rdm = started(agency)
    agency.answer(rdm.code)
    agency.tick(minutes=29)
    done = agency.call(aftersales.reverse_by_agent, SHOP, rdm.deal.reference)
    assert isinstance(done, Reversed) and done.commission == 35
    assert agency.available() == 50_000 and agency.stock("RICE5") == 20
    assert posted(agency, "agent_commission", "S01") == 0
    assert posted(agency, "shop_settlement", "A1023", "KES") == 0
    assert agency.call(aftersales.reverse_by_agent, SHOP, rdm.deal.reference) == Refusal(
        "already_reversed", {"ref": rdm.deal.reference})
    late = started(agency)
    agency.answer(late.code)
    agency.tick(minutes=31)
    assert agency.call(aftersales.reverse_by_agent, SHOP, late.deal.reference).code == "reversal_window"
    assert agency.call(aftersales.reverse_by_agent, OTHER_SHOP, late.deal.reference).code == (
        "unknown_reference")


def test_a_dispute_upheld_reverses_with_commissions_clawed_back(agency):
    rdm = started(agency)
    agency.answer(rdm.code)
    ref = rdm.deal.reference
    assert agency.call(aftersales.dispute, LI, ref).code == "unknown_reference"   # not hers
    assert agency.call(aftersales.dispute, JANE, ref).reference == ref
    assert agency.call(aftersales.dispute, JANE, ref).code == "already_disputed"
    assert agency.call(aftersales.reverse_by_agent, SHOP, ref).code == "under_review"
    with agency.engine.connect() as conn:
        assert [r.reference for r in aftersales.open_disputes(conn)] == [ref]
    done = agency.call(aftersales.resolve, ref, True, "ops:alice")
    assert isinstance(done, Reversed)
    assert agency.available() == 50_000
    assert all(posted(agency, "agent_commission", c) == 0 for c in ("A1023", "S01", "M01"))
    with agency.engine.connect() as conn:
        assert conn.execute(select(agent_disputes.c.state)).scalar_one() == "upheld"


def test_a_dispute_after_the_window_or_rejected(agency):
    rdm = started(agency)
    agency.answer(rdm.code)
    agency.call(aftersales.dispute, JANE, rdm.deal.reference)
    agency.call(aftersales.resolve, rdm.deal.reference, False, "ops:bob")
    assert agency.states() == ["approved"] and agency.available() == 49_000
    agency.tick(hours=25)
    assert agency.call(aftersales.dispute, JANE, rdm.deal.reference).code == "dispute_window"


def test_agbal_and_sales(agency):
    agency.answer(started(agency).code)
    balance = agency.call(aftersales.figures, SHOP, None)
    assert (balance.commission, balance.settlement, balance.currency) == (20, "10.00", "KES")
    sales = agency.call(aftersales.figures, SHOP, "month")
    assert (sales.count, sales.points, sales.commission) == (1, 1_000, 20)
    upline = agency.call(aftersales.figures, "254700000002", "today")
    assert (upline.count, upline.commission) == (0, 10)
    assert agency.call(aftersales.figures, JANE, None) == Refusal("not_agent")


def test_the_sweeper_expires_on_its_clock_and_tells_both_sides(agency):
    clock = task.Clock()
    told = []

    def run(fn, *args):
        with agency.engine.begin() as conn:
            return defer.succeed(fn(conn, *args))

    sweeper = AgencySweeper(agency.service, run, clock, lambda: agency.now, interval=5,
                            swept=lambda: told.append(True))
    sweeper.startService()
    rdm = started(agency)
    agency.tick(minutes=9, seconds=55)
    clock.advance(5)
    assert agency.states() == ["pending"] and told == []
    agency.tick(seconds=5)
    clock.advance(5)
    clock.advance(5)                                   # a second sweep finds nothing more
    sweeper.stopService()
    assert agency.states() == ["expired"] and told == [True]
    with agency.engine.connect() as conn:
        sent = dict(conn.execute(select(outbox.c.idempotency_key, outbox.c.destination_addr)).all())
    ref = rdm.deal.reference
    assert sent == {f"ardm:{ref}:expired:m": JANE, f"ardm:{ref}:expired:a": SHOP}
