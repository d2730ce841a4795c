"""Risk limits on assisted redemption: who may start an RDM, how often, for how much.

Start at `check()`. It is a pure function of the limits (config/agents.toml, [risk]), the counters
the database layer reads for this agent and member, the request, and the time, which is always a
parameter: nothing here reads a clock. It answers `Allowed()` or `Refused(reason, detail)`; every
refusal has a `RefusalReason` for the caller to log and count, and a `detail` for the log that holds
ids and figures only (never a PIN, a code or the member's number).

The checks, in the order they apply (the first that fails answers):
  the agent's status (suspended, closed); a redemption for the agent's own number; the wrong-PIN
  lockout; the PIN; velocity (RDMs per agent within a window); the agent's daily count and points;
  the member's daily points.

Caps are inclusive: with agent_daily_count = 50 the 50th RDM of the day is allowed, the 51st refused.
The wrong-PIN lockout is a small state, `PinState`, that the caller keeps per agent and moves on with
`pin_failed` and `pin_succeeded`: N wrong PINs in a row lock the agent for M minutes, after which
counting starts again.
"""

from __future__ import annotations

import datetime
import enum
import os
from dataclasses import dataclass

from agents._toml import Table, parse_toml, read_toml
from agents.network import Agent, Status

__all__ = [
    "Allowed", "Counters", "PinState", "RedemptionRequest", "RefusalReason", "Refused", "RiskLimits",
    "check", "limits_from_toml", "load_limits", "pin_failed", "pin_succeeded",
]


class RefusalReason(enum.Enum):
    AGENT_SUSPENDED = "agent_suspended"
    AGENT_CLOSED = "agent_closed"
    SELF_REDEMPTION = "self_redemption"      # an agent redeeming its own number's points
    AGENT_LOCKED = "agent_locked"            # too many wrong PINs, for now
    WRONG_PIN = "wrong_pin"
    VELOCITY = "velocity"                    # too many RDMs in the velocity window
    AGENT_DAILY_COUNT = "agent_daily_count"
    AGENT_DAILY_POINTS = "agent_daily_points"
    MEMBER_DAILY_POINTS = "member_daily_points"


@dataclass(frozen=True, kw_only=True)
class RiskLimits:
    agent_daily_count: int
    agent_daily_points: int
    member_daily_points: int
    velocity_count: int                   # at most this many RDMs by one agent ...
    velocity_window: datetime.timedelta   # ... within this long
    pin_attempts: int                     # this many wrong PINs in a row ...
    pin_lockout: datetime.timedelta       # ... lock the agent this long


@dataclass(frozen=True)
class PinState:
    """An agent's wrong-PIN streak, kept by the caller between RDMs."""

    failures: int = 0
    locked_until: datetime.datetime | None = None

    def locked(self, now: datetime.datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def pin_failed(state: PinState, limits: RiskLimits, now: datetime.datetime) -> PinState:
    """The state after a wrong PIN at `now`: the Nth in a row locks the agent until now + lockout."""
    if state.locked(now):
        return state  # check() refuses a locked agent before its PIN is looked at
    failures = 0 if state.locked_until is not None else state.failures  # a lockout served: start again
    if failures + 1 >= limits.pin_attempts:
        return PinState(0, now + limits.pin_lockout)
    return PinState(failures + 1)


def pin_succeeded(state: PinState) -> PinState:
    return PinState()


@dataclass(frozen=True, kw_only=True)
class Counters:
    """What the database says about this agent and member, before this request.

    "Today" is the operator's calendar day. Redemptions count from the moment their hold is placed
    (pending or confirmed; not voided, refused or reversed), so holds in flight cannot slip past a cap.
    """

    agent_today_count: int = 0
    agent_today_points: int = 0
    member_today_points: int = 0
    agent_recent_rdms: tuple[datetime.datetime, ...] = ()  # when this agent's recent RDMs arrived,
                                                           # refused ones too; at least the window's
    pin: PinState = PinState()


@dataclass(frozen=True, kw_only=True)
class RedemptionRequest:
    agent: Agent
    member_msisdn: str                 # E.164 digits, as Agent.msisdn
    points: int
    pin_ok: bool | None = None         # None: no PIN was asked for


@dataclass(frozen=True)
class Allowed:
    pass


@dataclass(frozen=True)
class Refused:
    reason: RefusalReason
    detail: str                                    # ids and figures, for the log
    retry_after: datetime.timedelta | None = None  # when waiting is the cure (lockout, velocity)


def check(limits: RiskLimits, counters: Counters, request: RedemptionRequest,
          now: datetime.datetime) -> Allowed | Refused:
    """May `request.agent` start this redemption at `now`?"""
    agent, code = request.agent, request.agent.code
    if request.points < 1:
        raise ValueError(f"points must be at least 1, not {request.points}")
    if agent.status is not Status.ACTIVE:
        reason = {Status.SUSPENDED: RefusalReason.AGENT_SUSPENDED, Status.CLOSED: RefusalReason.AGENT_CLOSED}
        return Refused(reason[agent.status], f"agent {code} is {agent.status.value}")
    if request.member_msisdn == agent.msisdn:
        return Refused(RefusalReason.SELF_REDEMPTION, f"agent {code} asked to redeem for its own number")
    if counters.pin.locked(now):
        return Refused(RefusalReason.AGENT_LOCKED, f"agent {code} is locked after wrong PINs",
                       counters.pin.locked_until - now)
    if request.pin_ok is False:
        return Refused(RefusalReason.WRONG_PIN, f"agent {code} gave a wrong PIN "
                                                f"({counters.pin.failures + 1} in a row)")
    too_fast = _velocity(limits, counters, code, now)
    return too_fast if too_fast is not None else _caps(limits, counters, request)


def _velocity(limits: RiskLimits, counters: Counters, code: str, now: datetime.datetime) -> Refused | None:
    # An RDM exactly one window ago has left the window: (now - window, now].
    recent = sorted(t for t in counters.agent_recent_rdms if now - limits.velocity_window < t <= now)
    if len(recent) < limits.velocity_count:
        return None
    # Allowed again once enough of them have left the window to make room for one more.
    leaves = recent[len(recent) - limits.velocity_count] + limits.velocity_window
    return Refused(RefusalReason.VELOCITY, f"agent {code} sent {len(recent)} RDMs within "
                   f"{_seconds(limits.velocity_window)} (limit {limits.velocity_count})", leaves - now)


def _caps(limits: RiskLimits, counters: Counters, request: RedemptionRequest) -> Allowed | Refused:
    code, points = request.agent.code, request.points
    for reason, before, adding, cap, what in (
        (RefusalReason.AGENT_DAILY_COUNT, counters.agent_today_count, 1, limits.agent_daily_count,
         f"agent {code}: redemptions today"),
        (RefusalReason.AGENT_DAILY_POINTS, counters.agent_today_points, points, limits.agent_daily_points,
         f"agent {code}: points today"),
        (RefusalReason.MEMBER_DAILY_POINTS, counters.member_today_points, points,
         limits.member_daily_points, f"member points today via agent {code}"),
    ):
        if before + adding > cap:
            return Refused(reason, f"{what} {before:,} + {adding:,} would pass the cap of {cap:,}")
    return Allowed()


def _seconds(span: datetime.timedelta) -> str:
    return f"{span.total_seconds():g} s"


# --- config/agents.toml ---------------------------------------------------------------------------

#: Top-level tables of config/agents.toml; later agent settings add theirs here.
AGENTS_FILE_TABLES = ("risk",)


def load_limits(path: str | os.PathLike) -> RiskLimits:
    """The [risk] table of the agents config at `path`; AgentConfigError (file and key) if bad."""
    return _limits(read_toml(path))


def limits_from_toml(text: str, source: str = "<string>") -> RiskLimits:
    return _limits(parse_toml(text, source))


def _limits(document: Table) -> RiskLimits:
    document.only(AGENTS_FILE_TABLES)
    risk = document.table("risk")
    risk.only(("agent_daily_count", "agent_daily_points", "member_daily_points", "velocity_count",
               "velocity_window_seconds", "pin_attempts", "pin_lockout_minutes"))
    return RiskLimits(
        agent_daily_count=risk.integer("agent_daily_count", 1),
        agent_daily_points=risk.integer("agent_daily_points", 1),
        member_daily_points=risk.integer("member_daily_points", 1),
        velocity_count=risk.integer("velocity_count", 1),
        velocity_window=datetime.timedelta(seconds=risk.integer("velocity_window_seconds", 1, 86_400)),
        pin_attempts=risk.integer("pin_attempts", 1, 100),
        pin_lockout=datetime.timedelta(minutes=risk.integer("pin_lockout_minutes", 1, 7 * 24 * 60)),
    )
