"""The operator's calendar (gateway/local_days.py), `[gateway] timezone`, and HIST's dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gateway import local_days
from gateway.commands.context import Member, Movement
from gateway.config import ConfigError, load, loads
from gateway.ledger_services import LedgerServices
from gateway.redeem import Pins, RedemptionService
from gateway.remote_reads import Snapshot

NAIROBI, SHANGHAI, PARIS = (ZoneInfo("Africa/Nairobi"), ZoneInfo("Asia/Shanghai"),
                            ZoneInfo("Europe/Paris"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- days, weeks, months -------------------------------------------------------------------------

def test_0230_in_nairobi_belongs_to_the_local_day_that_began_at_2100_utc():
    at = utc(2026, 11, 12, 23, 30)                         # 02:30 on the 13th in Nairobi
    assert local_days.local_date(at, NAIROBI) == date(2026, 11, 13)
    assert local_days.day_start(at, NAIROBI) == utc(2026, 11, 12, 21, 0)
    assert local_days.day_start(at, local_days.UTC) == utc(2026, 11, 12)


def test_2330_in_nairobi_is_still_that_day_and_midnight_starts_the_next():
    assert local_days.day_start(utc(2026, 11, 12, 20, 30), NAIROBI) == utc(2026, 11, 11, 21, 0)
    assert local_days.day_start(utc(2026, 11, 12, 21, 0), NAIROBI) == utc(2026, 11, 12, 21, 0)


def test_a_chinese_day_starts_at_1600_utc_the_day_before():
    assert local_days.day_start(utc(2026, 11, 12, 16, 30), SHANGHAI) == utc(2026, 11, 12, 16, 0)
    assert local_days.day_start(utc(2026, 11, 12, 15, 59), SHANGHAI) == utc(2026, 11, 11, 16, 0)


def test_the_week_starts_monday_at_midnight_local():
    # 2026-11-30 is a Monday: it begins at 21:00 UTC on Sunday the 29th in Nairobi.
    monday = utc(2026, 11, 29, 21, 0)
    assert local_days.week_start(utc(2026, 11, 29, 21, 30), NAIROBI) == monday     # Mon 00:30
    assert local_days.week_start(utc(2026, 12, 6, 20, 59), NAIROBI) == monday      # Sun 23:59
    assert local_days.week_start(utc(2026, 11, 29, 20, 30), NAIROBI) == monday - timedelta(days=7)


def test_the_month_starts_on_the_first_at_midnight_local():
    assert local_days.month_start(utc(2026, 11, 30, 21, 30), NAIROBI) == utc(2026, 11, 30, 21, 0)
    assert local_days.month_start(utc(2026, 11, 30, 20, 30), NAIROBI) == utc(2026, 10, 31, 21, 0)
    assert local_days.month_start(utc(2026, 11, 30, 20, 30), local_days.UTC) == utc(2026, 11, 1)


@pytest.mark.parametrize("at, start, hours", [
    # Last Sunday of March: 02:00 CET becomes 03:00 CEST, so the day is 23 hours long.
    (utc(2026, 3, 29, 12, 0), utc(2026, 3, 28, 23, 0), 23),
    (utc(2026, 3, 29, 22, 30), utc(2026, 3, 29, 22, 0), 24),           # Monday 00:30 CEST
    # Last Sunday of October: 03:00 CEST becomes 02:00 CET, so the day is 25 hours long.
    (utc(2026, 10, 25, 12, 0), utc(2026, 10, 24, 22, 0), 25),
    (utc(2026, 10, 25, 23, 30), utc(2026, 10, 25, 23, 0), 24),         # Monday 00:30 CET
])
def test_day_starts_across_daylight_saving_changes(at, start, hours):
    assert local_days.day_start(at, PARIS) == start
    following = local_days.start_of(local_days.local_date(at, PARIS) + timedelta(days=1), PARIS)
    assert following - start == timedelta(hours=hours)
    assert start.astimezone(PARIS).time() == datetime.min.time()


def test_month_and_week_starts_keep_their_own_offset_across_a_change():
    # The 1st of October is summer time in Paris (UTC+2); the 30th is winter time (UTC+1).
    assert local_days.month_start(utc(2026, 10, 30, 12, 0), PARIS) == utc(2026, 9, 30, 22, 0)
    # Monday 30 March, the day after the change, starts at 00:00 CEST.
    assert local_days.week_start(utc(2026, 4, 1, 12, 0), PARIS) == utc(2026, 3, 29, 22, 0)


def test_a_midnight_the_clocks_skip_starts_the_day_at_its_first_real_instant():
    santiago = ZoneInfo("America/Santiago")     # 2026-09-06: 00:00 -04 jumps to 01:00 -03
    start = local_days.day_start(utc(2026, 9, 6, 12, 0), santiago)
    assert start == utc(2026, 9, 6, 4, 0)
    assert start.astimezone(santiago).hour == 1


def test_utc_needs_no_tz_data_and_is_the_default():
    assert local_days.zone("UTC") is local_days.UTC
    assert load().timezone == "UTC"


# --- the config key ------------------------------------------------------------------------------

_CONFIG = """
[gateway]
phone_region = "KE"
{line}
[[smsc.binds]]
name = "a"
host = "127.0.0.1"
port = 2775
system_id = "jifen"
password = "x"
short_codes = ["10655"]
"""


def test_the_timezone_key_takes_an_iana_name():
    assert loads(_CONFIG.format(line='timezone = "Africa/Nairobi"')).timezone == "Africa/Nairobi"
    assert loads(_CONFIG.format(line="")).timezone == "UTC"


@pytest.mark.parametrize("value, hint", [
    ('"Nairobi"', '(did you mean "Africa/Nairobi"?)'),
    ('"Asia/Shangai"', '(did you mean "Asia/Shanghai"?)'),
    ('"+03:00"', ""),
    ('"../../etc/passwd"', ""),
    ("3", ""),
])
def test_an_unknown_zone_is_a_one_line_config_error(value, hint):
    with pytest.raises(ConfigError) as raised:
        loads(_CONFIG.format(line=f"timezone = {value}"), "gateway.toml")
    message = str(raised.value)
    assert message.startswith('gateway.toml: gateway.timezone: expected an IANA time zone name '
                              'such as "Africa/Nairobi"')
    assert "\n" not in message and raised.value.key == "gateway.timezone"
    assert hint in message


# --- HIST: its lines dated on the operator's clock -----------------------------------------------

def _history(zone) -> tuple[Movement, ...]:
    jane = Member(id=1, msisdn="254712345678", name="Jane", language="en", points_account=7)
    at = utc(2026, 11, 12, 23, 30)                         # 02:30 on the 13th in Nairobi
    services = LedgerServices(None, None, lambda: at, RedemptionService(
        ledger=None, pins=Pins(), zone=zone),
        remote=Snapshot(histories={1: (Movement(at, -500, "redeem", "R8K2P"),)}))
    return services.history(jane, 5)


def test_hist_dates_a_movement_by_the_operators_day():
    [moved] = _history(NAIROBI)
    assert (moved.at.day, moved.at.month, moved.at.hour) == (13, 11, 2)
    assert moved.at == utc(2026, 11, 12, 23, 30)           # the same instant
    [moved] = _history(local_days.UTC)
    assert (moved.at.day, moved.at.hour, moved.reference) == (12, 23, "R8K2P")
