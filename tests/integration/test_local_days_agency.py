"""Agents on a Nairobi operator's calendar (UTC+3), on SQLite and PostgreSQL: the daily caps,
the per-member day of the commission's fixed fees, SALES periods, the month's volume and report,
and the commission plan in force all turn at local midnight, not at 03:00 local (UTC midnight)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from agent_fixtures import SHOP, Agency
from gateway.agency import aftersales, report
from gateway.commands.agent_values import Refusal, Started
from redeem_fixtures import gateway_engine  # noqa: F401  (fixture)

NAIROBI = ZoneInfo("Africa/Nairobi")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def agency(gateway_engine):  # noqa: F811
    agency = Agency(gateway_engine, zone=NAIROBI)
    daily_count(agency, 1)
    return agency


def daily_count(agency, cap: int) -> None:
    settings = agency.service.settings
    agency.service.settings = dataclasses.replace(
        settings, limits=dataclasses.replace(settings.limits, agent_daily_count=cap))


def approved(agency, at: datetime) -> str:
    agency.now = at
    started = agency.rdm(qty=2)
    assert isinstance(started, Started), started
    assert agency.answer(started.code).outcome == "approved"
    return started.deal.reference


def test_an_rdm_at_0230_local_counts_toward_that_local_days_cap(agency):
    first = approved(agency, utc(2026, 11, 12, 23, 30))      # the 13th, 02:30 in Nairobi
    agency.now = utc(2026, 11, 13, 8, 0)                     # the 13th, 11:00
    assert agency.rdm(qty=1) == Refusal("agent_daily_count")
    # The fixed fee's running total per member and day sees the 02:30 one too.
    daily_count(agency, 50)
    second = approved(agency, utc(2026, 11, 13, 8, 0))
    assert agency.redemption(first).member_points_today == 0
    assert agency.redemption(second).member_points_today == 1_000


def test_an_rdm_at_2330_local_does_not_carry_into_the_next_local_day(agency):
    approved(agency, utc(2026, 11, 12, 20, 30))              # the 12th, 23:30 in Nairobi
    agency.now = utc(2026, 11, 12, 21, 30)                   # the 13th, 00:30: a new day
    assert isinstance(agency.rdm(qty=1), Started)


def test_sales_periods_and_the_report_follow_local_weeks_and_months(agency):
    daily_count(agency, 50)
    sunday = approved(agency, utc(2026, 11, 29, 20, 30))     # Sun 29 Nov, 23:30 local
    monday = approved(agency, utc(2026, 11, 29, 21, 30))     # Mon 30 Nov, 00:30 local
    december = approved(agency, utc(2026, 11, 30, 21, 30))   # Tue 1 Dec, 00:30 local
    agency.now = utc(2026, 11, 30, 22, 0)                    # Tue 1 Dec, 01:00 local
    counts = {period: agency.call(aftersales.figures, SHOP, period).count
              for period in aftersales.PERIODS}
    assert counts == {"today": 1, "week": 2, "month": 1}
    # The month's volume that prices an approval starts on the local 1st as well.
    assert [agency.redemption(ref).month_to_date for ref in (sunday, monday, december)] == [
        0, 1_000, 0]
    with agency.engine.connect() as conn:
        november = report.month(conn, "2026-11", NAIROBI)
        december_report = report.month(conn, "2026-12", NAIROBI)
    assert (november.total.redemptions, december_report.total.redemptions) == (2, 1)


def test_the_plan_in_force_is_chosen_by_the_local_date(agency):
    # config/commissions.toml: plan 2026-07 takes effect on 1 July; 21:30 UTC on 30 June is
    # 00:30 on 1 July in Nairobi.
    reference = approved(agency, utc(2026, 6, 30, 21, 30))
    assert agency.redemption(reference).plan_version == "2026-07"
