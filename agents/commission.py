"""Commission plans: what the chain of agents earns for one redemption, in whole points.

Start at `compute()`. A `Plan` is one version of the operator's rules; `PlanBook` holds every version
from config/commissions.toml, because a redemption records the version it was priced with and must be
re-priced with that version, exactly, for as long as it is kept (disputes, reversals, audits). Plans
are immutable values, and `Plan.digest` lets a caller notice that an operator edited a version in place.

How one redemption is priced, in integers throughout:

1. base: the category's rate, either a percentage of the value (basis points) or a fixed fee by value
   band (mobile-money style: 0-499 pts -> 5, 500-1,999 -> 20, ...);
2. uplift: the base raised by the volume band that the agent's month-to-date redemptions reach with
   this one (+0%, +10%, +25% ...);
3. pool = floor(base x (100% + uplift)), rounded once, down;
4. the pool split across the levels of the chain (shop 60%, sub-agent 25%, master 15% ...): each
   level but the shop gets floor(pool x its share); the shop (the redeeming agent) gets the rest, so
   the remainder of the rounding goes to it and the shares always add up to the pool exactly. A level
   the chain lacks (a shop directly under a master; a sub-agent or master redeeming itself) has its
   share paid to the nearest agent above it in the chain, who does that level's work (supervising
   the shop, or serving the member), so a shop earns the same share wherever it sits.

Splitting earns nothing extra. The guarantee, checked with hypothesis: for one agent and one member,
in one category, one day and one month, n redemptions v1..vn made one after another earn a pool no
larger than one redemption of v1+...+vn made instead. Three rules make it hold:

- A percentage is linear, and floor(a) + floor(b) <= floor(a + b). A fixed fee per band is not:
  499 + 1,500 would earn 5 + 20 where 1,999 earns 20, which is how agents in mobile-money networks
  split transactions. So a fixed fee is charged on the running total this agent has redeemed for
  this member in this category today: fee(before + V) - fee(before). The pieces' fees telescope to
  the whole's exactly; fees may not fall as bands rise (checked), so no piece's fee is negative.
- The uplift is chosen by the month-to-date volume *including* the redemption. The pieces reach at
  most the whole's total and uplifts may not fall as volume rises (checked), so no piece gets more
  uplift than the whole. (Chosen by the volume before it, a split straddling a band edge would be
  paid the higher uplift on its later pieces, and the whole would not.)
- One rounding per redemption, down, after the uplift.

Within the pool, the remainder going to the shop lets a split move less than one point per upline
level per piece from the upline to the shop (its share of the pieces is below its share of the whole
plus n x upline levels); every piece needs the member's YES and counts against the risk limits.
Pieces spread across midnight are not covered: the running total for fixed fees is per day.

The counters (`month_to_date_points`, `member_points_today`) are the caller's: confirmed
redemptions before this one, read in the transaction that posts it.
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agents._toml import Table, parse_toml, read_toml
from agents.network import Level

__all__ = [
    "CommissionResult", "FixedFee", "PercentRate", "Plan", "PlanBook", "UnknownCategory",
    "UnknownPlan", "compute", "load_plans", "plans_from_toml", "split_pool",
]

BP = 10_000  # basis points in 100%
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


class UnknownCategory(ValueError):
    """The plan has no rate for this item category: a catalogue/plan mismatch to fix in config."""


class UnknownPlan(LookupError):
    """No plan of that version, or none in force on that day."""


def _check_bands(bands: tuple[tuple[int, int], ...], start: str, amount: str) -> None:
    """Bands are (from, amount) pairs: from 0, rising starts, amounts never falling."""
    if not bands:
        raise ValueError("needs at least one band")
    if bands[0][0] != 0:
        raise ValueError(f"the first band must start from 0, not {bands[0][0]:,}")
    for i, ((low, low_amount), (high, high_amount)) in enumerate(zip(bands, bands[1:]), 1):
        if high <= low:
            raise ValueError(f"band {i + 1} starts from {high:,}, not above band {i}'s {low:,}")
        if high_amount < low_amount:
            raise ValueError(f"band {i + 1}'s {amount} is less than band {i}'s: a larger {start} must "
                             "never earn less, or splitting a redemption would pay more than the whole")


def _band_value(bands: tuple[tuple[int, int], ...], amount: int) -> int:
    """The value of the last band that starts at or below `amount`."""
    return bands[bisect.bisect_right([low for low, _ in bands], amount) - 1][1]


@dataclass(frozen=True)
class PercentRate:
    """A percentage of the redemption's value, in basis points (250 = 2.5%)."""

    rate_bp: int

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bp <= BP:
            raise ValueError(f"rate must be 0% to 100%, not {self.rate_bp / 100:g}%")

    def base(self, before: int, value: int) -> int:
        """The base for `value` points, in hundredths of a hundredth of a point (exact)."""
        return value * self.rate_bp


@dataclass(frozen=True)
class FixedFee:
    """A fixed fee in points by value band: ((0, 5), (500, 20)) is 1-499 -> 5, 500 and up -> 20."""

    bands: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        _check_bands(self.bands, "value", "fee")
        if self.bands[0][1] < 0:
            raise ValueError("a fee may not be negative")

    def fee(self, total: int) -> int:
        return _band_value(self.bands, total) if total > 0 else 0

    def base(self, before: int, value: int) -> int:
        """The fee on the running total `before` + `value`, less the fee `before` already earned."""
        return (self.fee(before + value) - self.fee(before)) * BP


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One version of the commission rules."""

    version: str
    effective_from: datetime.date
    split_bp: Mapping[Level, int]                  # share of the pool per level, adding up to 100%
    categories: Mapping[str, PercentRate | FixedFee]
    volume_bands: tuple[tuple[int, int], ...] = ((0, 0),)   # (from month-to-date points, uplift bp)

    def __post_init__(self) -> None:
        if not _VERSION.fullmatch(self.version):
            raise ValueError(f"version {self.version!r}: expected 1 to 32 letters, digits, '.', '-', '_'")
        if set(self.split_bp) != set(Level) or any(bp < 0 for bp in self.split_bp.values()):
            raise ValueError("split needs a share of 0% or more for each of: "
                             + ", ".join(level.value for level in Level))
        if sum(self.split_bp.values()) != BP:
            raise ValueError(f"split shares add up to {sum(self.split_bp.values()) / 100:g}%, not 100%")
        if not self.categories:
            raise ValueError("needs at least one category")
        for name in self.categories:
            if not _CATEGORY.fullmatch(name):
                raise ValueError(f"category {name!r}: expected lower-case letters, digits and '_'")
        _check_bands(self.volume_bands, "volume", "uplift")
        if self.volume_bands[0][1] < 0:
            raise ValueError("an uplift may not be negative")

    def rate(self, category: str) -> PercentRate | FixedFee:
        try:
            return self.categories[category]
        except KeyError:
            raise UnknownCategory(f"commission plan {self.version} has no rate for category "
                                  f"{category!r} (it has {', '.join(sorted(self.categories))})") from None

    def uplift_bp(self, month_volume: int) -> int:
        return _band_value(self.volume_bands, month_volume)

    @property
    def digest(self) -> str:
        """A fingerprint of the rules, to record beside the version: equal digests, equal prices."""
        rules = {
            "version": self.version, "effective_from": self.effective_from.isoformat(),
            "split": {level.value: self.split_bp[level] for level in Level},
            "categories": {name: {"rate_bp": rate.rate_bp} if isinstance(rate, PercentRate)
                           else {"fixed": rate.bands} for name, rate in sorted(self.categories.items())},
            "volume_bands": self.volume_bands,
        }
        return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PlanBook:
    """Every plan version, oldest first."""

    plans: tuple[Plan, ...]

    def __post_init__(self) -> None:
        if not self.plans:
            raise ValueError("needs at least one plan")
        for i, plan in enumerate(self.plans):
            for other in self.plans[:i]:
                if plan.version == other.version:
                    raise ValueError(f"version {plan.version!r} is used twice")
                if plan.effective_from == other.effective_from:
                    raise ValueError(f"versions {other.version!r} and {plan.version!r} both take effect "
                                     f"on {plan.effective_from}")
        object.__setattr__(self, "plans", tuple(sorted(self.plans, key=lambda p: p.effective_from)))

    def version(self, version: str) -> Plan:
        """The plan a redemption recorded, to re-price it exactly."""
        for plan in self.plans:
            if plan.version == version:
                return plan
        raise UnknownPlan(f"no commission plan version {version!r}")

    def in_force(self, day: datetime.date) -> Plan:
        """The plan for a redemption made on `day`: the latest that took effect on or before it."""
        started = [plan for plan in self.plans if plan.effective_from <= day]
        if not started:
            raise UnknownPlan(f"no commission plan in force on {day} (the first takes effect on "
                              f"{self.plans[0].effective_from})")
        return started[-1]


class ChainLink(Protocol):
    """What pricing needs of an agent in the chain; `network.Agent` is one."""

    @property
    def code(self) -> str: ...

    @property
    def level(self) -> Level: ...


@dataclass(frozen=True)
class CommissionResult:
    pool: int                                  # points, the whole commission
    shares: dict[str, int] = field(hash=False)  # agent code -> points, lowest agent first; sums to pool
    plan_version: str
    uplift_bp: int                             # the volume uplift applied, for the record and replies


def compute(plan: Plan, category: str, value_points: int, month_to_date_points: int,
            chain: Sequence[ChainLink], *, member_points_today: int) -> CommissionResult:
    """Price one redemption of `value_points` in `category` served by `chain[0]`.

    `month_to_date_points`: the redeeming agent's confirmed redemptions this month before this one.
    `member_points_today`: what this agent already redeemed for this member in this category today
    (confirmed); required, because forgetting it would let split redemptions earn more fixed fees.
    """
    for name, value, low in (("value_points", value_points, 1), ("month_to_date_points",
                             month_to_date_points, 0), ("member_points_today", member_points_today, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number of at least {low}, not {value!r}")
    uplift = plan.uplift_bp(month_to_date_points + value_points)
    pool = plan.rate(category).base(member_points_today, value_points) * (BP + uplift) // (BP * BP)
    return CommissionResult(pool, split_pool(pool, plan.split_bp, chain), plan.version, uplift)


def split_pool(pool: int, split_bp: Mapping[Level, int], chain: Sequence[ChainLink]) -> dict[str, int]:
    """Share `pool` among `chain` (redeeming agent first, rising one or more levels per link)."""
    if not chain:
        raise ValueError("the chain is empty")
    for lower, upper in zip(chain, chain[1:]):
        if upper.level.rank <= lower.level.rank:
            raise ValueError(f"chain must rise level by level: {upper.code} ({upper.level.value}) is "
                             f"above {lower.code} ({lower.level.value})")
    shares = {link.code: 0 for link in chain}
    upline = 0
    for level in Level:
        if level is not Level.SHOP:
            amount = pool * split_bp[level] // BP
            shares[_paid_for(level, chain)] += amount
            upline += amount
    shares[_paid_for(Level.SHOP, chain)] += pool - upline
    return shares


def _paid_for(level: Level, chain: Sequence[ChainLink]) -> str:
    """Who is paid `level`'s share: the agent at that level, else the nearest above it, else the top."""
    for link in chain:
        if link.level.rank >= level.rank:
            return link.code
    return chain[-1].code


# --- config/commissions.toml --------------------------------------------------------------------

def load_plans(path: str | os.PathLike) -> PlanBook:
    """Every plan in the TOML file at `path`; AgentConfigError (file and key) at the first problem."""
    return _book(read_toml(path))


def plans_from_toml(text: str, source: str = "<string>") -> PlanBook:
    return _book(parse_toml(text, source))


def _book(document: Table) -> PlanBook:
    document.only(("plans",))
    plans = [_plan(table) for table in document.tables("plans")]
    try:
        return PlanBook(tuple(plans))
    except ValueError as err:
        document.fail("plans", str(err))


def _plan(table: Table) -> Plan:
    table.only(("version", "effective_from", "split", "categories", "volume_bands"))
    split = table.table("split")
    split.only(level.value for level in Level)
    categories = table.table("categories")
    fields = dict(
        version=table.text("version", _VERSION.pattern, 'a version name such as "2026-01"'),
        effective_from=table.date("effective_from"),
        split_bp={level: split.percent(level.value) for level in Level},
        categories={name: _rate(rate) for name, rate in categories.subtables()},
        volume_bands=_bands(table, "volume_bands", "uplift", [{"from": 0, "uplift": "0%"}]),
    )
    try:
        return Plan(**fields)
    except ValueError as err:
        table.fail(None, str(err))


def _rate(table: Table) -> PercentRate | FixedFee:
    table.only(("rate", "fixed"))
    if ("rate" in table.data) == ("fixed" in table.data):
        table.fail(None, 'expected either rate = "2.5%" or fixed = [{ from = 0, fee = 5 }, ...]')
    if "rate" in table.data:
        return PercentRate(table.percent("rate"))
    return FixedFee(_bands(table, "fixed", "fee"))


def _bands(table: Table, name: str, amount: str, default: list | None = None) -> tuple[tuple[int, int], ...]:
    """[{ from = 0, <amount> = ... }, ...]: a fee is whole points, an uplift a percentage."""
    bands = []
    for band in table.tables(name) if default is None else table.tables(name, default):
        band.only(("from", amount))
        value = band.percent(amount, high_bp=10 * BP) if amount == "uplift" else band.integer(amount)
        bands.append((band.integer("from"), value))
    try:
        _check_bands(tuple(bands), "value" if amount == "fee" else "volume", amount)
    except ValueError as err:
        table.fail(name, str(err))
    return tuple(bands)

