"""The token bucket behind a bind's TPS cap, driven by plain float times."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp.rate import TokenBucket


def test_starts_full_with_a_tenth_of_a_second_and_refills_at_the_rate():
    bucket = TokenBucket(100, now=0.0)
    assert bucket.available(0.0) == 10
    assert all(bucket.take(0.0) for _ in range(10))
    assert not bucket.take(0.0)
    assert bucket.available(0.05) == 5
    assert bucket.available(10.0) == 10            # never more than the capacity


def test_slow_rates_hold_at_least_one_token():
    bucket = TokenBucket(2, now=0.0)
    assert bucket.capacity == 1
    assert bucket.take(0.0) and not bucket.take(0.0)
    assert bucket.next_token_at(0.0) == pytest.approx(0.5)
    assert not bucket.take(0.49) and bucket.take(0.5)


def test_next_token_at_is_now_when_one_is_there():
    bucket = TokenBucket(10, now=5.0)
    assert bucket.next_token_at(5.0) == 5.0


def test_a_token_is_there_exactly_when_next_token_at_says():
    # Floats land a hair short of a whole token; a timer set to next_token_at must find one.
    bucket = TokenBucket(3, now=0.1)
    now = 0.1
    for _ in range(100):
        while bucket.take(now):
            pass
        now = bucket.next_token_at(now)
        assert bucket.available(now) >= 1


@pytest.mark.parametrize("rate", [3, 10, 500, 5000])
def test_next_token_at_holds_at_reactor_sized_times(rate):
    # Near 1.8e9 seconds a float moves in steps of 2.4e-7 s: the named time must still do.
    now = 1_800_000_000.0
    bucket = TokenBucket(rate, now=now)
    for _ in range(200):
        while bucket.take(now):
            pass
        later = bucket.next_token_at(now)
        assert later > now
        assert bucket.available(later) >= 1
        now = later


def test_a_clock_stepping_back_mints_nothing():
    bucket = TokenBucket(10, now=10.0)
    assert bucket.take(10.0)
    assert bucket.available(5.0) == 0
    assert bucket.available(10.0) == 0


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket(0, now=0.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.5, 2000), st.lists(st.floats(0, 0.05), min_size=1, max_size=300))
def test_takes_never_exceed_capacity_plus_rate_times_elapsed(rate, steps):
    bucket = TokenBucket(rate, now=0.0)
    now, taken = 0.0, 0
    for step in steps:
        now += step
        while bucket.take(now):
            taken += 1
    assert taken <= bucket.capacity + rate * now + 1e-6
