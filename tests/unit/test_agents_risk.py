"""Risk limits: each one at its edge and just past it, with time as a parameter."""

import dataclasses
import datetime
from pathlib import Path

import pytest

from agents import (
    Agent, AgentConfigError, Allowed, Counters, Level, PinState, RedemptionRequest, RefusalReason, Refused,
    RiskLimits, Status, check, limits_from_toml, load_limits, pin_failed, pin_succeeded,
)

NOW = datetime.datetime(2026, 11, 3, 10, 0, tzinfo=datetime.timezone.utc)
SECOND, MINUTE = datetime.timedelta(seconds=1), datetime.timedelta(minutes=1)
LIMITS = RiskLimits(agent_daily_count=50, agent_daily_points=100_000, member_daily_points=20_000,
                    velocity_count=5, velocity_window=MINUTE, pin_attempts=3, pin_lockout=30 * MINUTE)
SHOP = Agent(code="A1023", msisdn="254700001023", name="Shop Li", location="Othaya", level=Level.SHOP,
             parent="S10")
MEMBER = "254712345678"


def ask(points=1_000, counters=Counters(), now=NOW, agent=SHOP, member=MEMBER, pin_ok=None):
    return check(LIMITS, counters, RedemptionRequest(agent=agent, member_msisdn=member, points=points,
                                                     pin_ok=pin_ok), now)


def reason(outcome):
    return outcome.reason if isinstance(outcome, Refused) else None


def test_a_fresh_agent_is_allowed():
    assert ask() == Allowed()


@pytest.mark.parametrize("status, expected", [(Status.SUSPENDED, RefusalReason.AGENT_SUSPENDED),
                                              (Status.CLOSED, RefusalReason.AGENT_CLOSED)])
def test_suspended_and_closed_agents_are_refused(status, expected):
    outcome = ask(agent=dataclasses.replace(SHOP, status=status))
    assert reason(outcome) is expected and outcome.detail == f"agent A1023 is {status.value}"


def test_an_agent_may_not_redeem_for_its_own_number():
    assert reason(ask(member=SHOP.msisdn)) is RefusalReason.SELF_REDEMPTION


def test_agent_daily_count_at_the_edge():
    assert ask(counters=Counters(agent_today_count=49)) == Allowed()             # this is the 50th
    outcome = ask(counters=Counters(agent_today_count=50))                      # this would be the 51st
    assert reason(outcome) is RefusalReason.AGENT_DAILY_COUNT
    assert outcome.detail == "agent A1023: redemptions today 50 + 1 would pass the cap of 50"


def test_agent_daily_points_at_the_edge():
    assert ask(1_000, Counters(agent_today_points=99_000)) == Allowed()         # reaches 100,000 exactly
    outcome = ask(1_001, Counters(agent_today_points=99_000))
    assert reason(outcome) is RefusalReason.AGENT_DAILY_POINTS
    assert outcome.detail == "agent A1023: points today 99,000 + 1,001 would pass the cap of 100,000"


def test_member_daily_points_at_the_edge():
    assert ask(5_000, Counters(member_today_points=15_000)) == Allowed()
    outcome = ask(5_001, Counters(member_today_points=15_000))
    assert reason(outcome) is RefusalReason.MEMBER_DAILY_POINTS
    assert MEMBER not in outcome.detail  # ids and figures only


def recent(*seconds_ago):
    return Counters(agent_recent_rdms=tuple(NOW - s * SECOND for s in seconds_ago))


def test_velocity_at_the_edge():
    assert ask(counters=recent(1, 2, 3, 4)) == Allowed()                        # the 5th in a minute
    outcome = ask(counters=recent(1, 2, 3, 4, 59))                              # would be the 6th
    assert reason(outcome) is RefusalReason.VELOCITY
    assert outcome.retry_after == 1 * SECOND                                    # when the oldest leaves
    assert outcome.detail == "agent A1023 sent 5 RDMs within 60 s (limit 5)"


def test_an_rdm_exactly_one_window_ago_has_left_the_window():
    assert ask(counters=recent(1, 2, 3, 4, 60)) == Allowed()
    assert reason(ask(counters=recent(1, 2, 3, 4, 59.999))) is RefusalReason.VELOCITY


def test_velocity_waits_for_enough_rdms_to_leave():
    outcome = ask(counters=recent(1, 2, 10, 20, 30, 40, 50))   # 7 in the window: 3 must leave for room
    assert outcome.retry_after == 30 * SECOND


def test_rdms_in_the_future_or_long_ago_do_not_count():
    assert ask(counters=recent(-5, -1, 1, 2, 3, 61, 3600)) == Allowed()


# --- the wrong-PIN lockout ------------------------------------------------------------------------

def test_a_wrong_pin_is_refused_and_counted():
    outcome = ask(pin_ok=False, counters=Counters(pin=PinState(failures=1)))
    assert reason(outcome) is RefusalReason.WRONG_PIN and "(2 in a row)" in outcome.detail
    assert ask(pin_ok=True) == Allowed()


def test_n_wrong_pins_in_a_row_lock_the_agent_for_m_minutes():
    state = PinState()
    for _ in range(2):
        state = pin_failed(state, LIMITS, NOW)
        assert not state.locked(NOW)
    state = pin_failed(state, LIMITS, NOW)                       # the 3rd
    assert state == PinState(0, NOW + 30 * MINUTE)
    locked = ask(pin_ok=True, counters=Counters(pin=state), now=NOW + 30 * MINUTE - SECOND)
    assert reason(locked) is RefusalReason.AGENT_LOCKED and locked.retry_after == SECOND
    assert ask(pin_ok=True, counters=Counters(pin=state), now=NOW + 30 * MINUTE) == Allowed()


def test_a_locked_agent_is_refused_before_its_pin_is_looked_at():
    locked = PinState(0, NOW + MINUTE)
    assert reason(ask(pin_ok=False, counters=Counters(pin=locked))) is RefusalReason.AGENT_LOCKED
    assert pin_failed(locked, LIMITS, NOW) == locked             # a failure while locked changes nothing


def test_counting_starts_again_after_a_lockout_is_served_or_a_right_pin():
    served = pin_failed(PinState(0, NOW), LIMITS, NOW)           # the lockout ended at NOW
    assert served == PinState(1)
    assert pin_succeeded(PinState(2)) == PinState()


def test_status_comes_before_everything_and_the_pin_before_the_caps():
    everything = Counters(agent_today_count=99, pin=PinState(0, NOW + MINUTE), agent_recent_rdms=(NOW,) * 9)
    assert reason(ask(counters=everything, agent=dataclasses.replace(SHOP, status=Status.SUSPENDED))) is \
        RefusalReason.AGENT_SUSPENDED
    assert reason(ask(counters=everything)) is RefusalReason.AGENT_LOCKED
    assert reason(ask(pin_ok=False, counters=dataclasses.replace(everything, pin=PinState()))) is \
        RefusalReason.WRONG_PIN
    assert reason(ask(counters=dataclasses.replace(everything, pin=PinState()))) is RefusalReason.VELOCITY


def test_a_request_for_no_points_is_a_caller_bug():
    with pytest.raises(ValueError):
        ask(points=0)


def test_every_reason_code_is_a_stable_snake_case_name_for_logs_and_metrics():
    assert {r.value for r in RefusalReason} == {
        "agent_suspended", "agent_closed", "self_redemption", "agent_locked", "wrong_pin", "velocity",
        "agent_daily_count", "agent_daily_points", "member_daily_points"}


# --- config/agents.toml ---------------------------------------------------------------------------

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "agents.toml"


def test_the_shipped_limits_load():
    assert load_limits(SHIPPED) == LIMITS


@pytest.mark.parametrize("old, new, message", [
    ("velocity_count = 5", "velocity_count = 0", "risk.velocity_count: expected a whole number 1 or more, got 0"),
    ("velocity_count = 5", 'velocity_count = "5"', 'velocity_count: expected a whole number 1 or more, got "5"'),
    ("pin_attempts = 3", "pin_attempts = 3.5", "risk.pin_attempts: expected a whole number 1 to 100, got 3.5"),
    ("pin_attempts = 3", "pin_attempts = true", "risk.pin_attempts: expected a whole number 1 to 100, got true"),
    ("pin_attempts = 3", "", "risk.pin_attempts: required key is missing"),
    ("pin_attempts = 3", "pin_attempt = 3", 'risk: unknown key "pin_attempt" (did you mean "pin_attempts"?)'),
    ("velocity_window_seconds = 60", "velocity_window_seconds = 100000",
     "risk.velocity_window_seconds: expected a whole number 1 to 86,400"),
    ("[risk]", "[risks]", 'agents.toml: unknown key "risks" (did you mean "risk"?)'),
])
def test_config_errors_name_the_file_and_the_key(old, new, message):
    text = SHIPPED.read_text()
    assert old in text
    with pytest.raises(AgentConfigError) as caught:
        limits_from_toml(text.replace(old, new, 1), "agents.toml")
    assert str(caught.value).startswith("agents.toml: ") and message in str(caught.value)
