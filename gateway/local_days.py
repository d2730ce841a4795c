"""The operator's calendar days: where today, this week and this month begin, in its time zone.

Daily and monthly caps, SALES periods, the commission plan in force and the dates members see all
follow the operator's clock (`[gateway] timezone`), not UTC: a Kenyan operator's day turns at
midnight in Nairobi, not at 03:00 there.  Instants stay aware UTC datetimes everywhere else (the
database, the clock); this module is the one place that turns them into local days and back.

A day's start is found from its local date, never by stepping a UTC instant back by whole days:
across a daylight-saving change a local day is 23 or 25 hours long.  Midnight that a change skips
(clocks jumping from 00:00 to 01:00) starts its day at the first instant that exists, as zoneinfo
reads a missing wall time with the offset in force before the change (fold=0).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["UTC", "day_start", "local_date", "month_start", "start_of", "week_start", "zone"]

UTC: tzinfo = timezone.utc


def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` ("Africa/Nairobi"); ZoneInfoNotFoundError or ValueError if unknown."""
    return UTC if name == "UTC" else ZoneInfo(name)


def local_date(now: datetime, tz: tzinfo) -> date:
    """The operator's date at the instant ``now`` (aware)."""
    return now.astimezone(tz).date()


def start_of(day: date, tz: tzinfo) -> datetime:
    """The first instant of the local ``day``, as an aware UTC datetime (for the database)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def day_start(now: datetime, tz: tzinfo) -> datetime:
    """The start of the local day containing ``now``."""
    return start_of(local_date(now, tz), tz)


def week_start(now: datetime, tz: tzinfo) -> datetime:
    """The start of the local week containing ``now``: Monday 00:00 (ISO weeks)."""
    today = local_date(now, tz)
    return start_of(today - timedelta(days=today.weekday()), tz)


def month_start(now: datetime, tz: tzinfo) -> datetime:
    """The start of the local month containing ``now``: the 1st, 00:00."""
    return start_of(local_date(now, tz).replace(day=1), tz)
