"""A token bucket: the messages-per-second an operator sells, kept without I/O.

Operators sell a bind a fixed TPS and answer anything faster with
ESME_RTHROTTLED, so the ESME paces itself.  The bucket refills at ``rate``
tokens a second up to ``capacity``; each submit_sm takes one.  The capacity
is a tenth of a second's worth (at least one token), so a burst never goes
far beyond the rate even over short windows.  Time is a parameter, as in
session.py: the caller passes ``now`` (the reactor's seconds).
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]

# Float refills land a hair under a whole token exactly when one is due;
# without this a timer set by `next_token_at` would find none and spin.
_EPSILON = 1e-9
# Reactor times are near 2e9, where a float's step is 2.4e-7 s: `next_token_at`
# adds a few steps so that the time it names, once rounded, is not too early.
_STEPS = 4


class TokenBucket:
    """At most ``rate`` takes a second on average, ``capacity`` at once."""

    def __init__(self, rate: float, now: float, capacity: float | None = None):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = capacity if capacity is not None else max(1.0, self.rate / 10)
        self._tokens = self.capacity
        self._at = now

    def available(self, now: float) -> int:
        """Whole tokens there to take at ``now``."""
        self._refill(now)
        return int(self._tokens + _EPSILON)

    def take(self, now: float) -> bool:
        """Take one token if there is one; False (nothing taken) if not."""
        self._refill(now)
        if self._tokens + _EPSILON < 1:
            return False
        self._tokens = max(0.0, self._tokens - 1)
        return True

    def next_token_at(self, now: float) -> float:
        """When at least one whole token will be there (``now`` if already)."""
        self._refill(now)
        if self._tokens + _EPSILON >= 1:
            return now
        return now + (1 - self._tokens) / self.rate + _STEPS * math.ulp(now)

    def _refill(self, now: float) -> None:
        # A clock that steps back (it should not) must not mint tokens.
        if now > self._at:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
