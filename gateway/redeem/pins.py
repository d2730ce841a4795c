"""Member PINs: set, change, verify; hashed with argon2; too many wrong ones lock redemption.

The wrong-PIN count lives in the database and is written in the transaction of the message
that carried the PIN, so it survives a restart and counts across gateway processes.  While
locked, a PIN is not even checked (no oracle for a guesser).  A correct PIN clears the count.

argon2id with modest costs (the PIN space is tiny: the lock-out, not the hash, is what stops
guessing, and verifying runs on a database thread that other messages wait for); tests pass a
cheaper `PasswordHasher`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from gateway.redeem.refusals import Refusal, Refused
from gateway.store.tables_catalog import member_pins
from ledger_client import as_utc

_PIN = re.compile(r"[0-9]{4,6}")


def default_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class PinState:
    is_set: bool
    locked_until: datetime | None
    attempts_left: int


class Pins:
    def __init__(self, *, attempts: int = 5, lockout: timedelta = timedelta(minutes=30),
                 hasher: PasswordHasher | None = None):
        self._attempts = attempts
        self._lockout = lockout
        self._hasher = hasher or default_hasher()

    def state(self, conn: Connection, member_id: int, now: datetime) -> PinState:
        row = self._row(conn, member_id)
        if row is None:
            return PinState(False, None, self._attempts)
        locked = as_utc(row.locked_until)
        locked = locked if locked and locked > now else None
        return PinState(True, locked, 0 if locked else self._attempts - row.failed_attempts)

    def verify(self, conn: Connection, member_id: int, pin: str | None,
               now: datetime) -> Refused | None:
        """None when ``pin`` is the member's PIN; else why not (and the attempt is counted)."""
        row = self._row(conn, member_id)
        if row is None:
            return Refused(Refusal.PIN_NOT_SET)
        locked = as_utc(row.locked_until)
        if locked and locked > now:
            return Refused(Refusal.PIN_LOCKED, {"locked_until": locked})
        if pin is None:
            return Refused(Refusal.PIN_REQUIRED)
        if self._matches(row.pin_hash, pin):
            if row.failed_attempts or row.locked_until:
                conn.execute(update(member_pins).where(member_pins.c.member_id == member_id)
                             .values(failed_attempts=0, locked_until=None))
            return None
        return self._wrong(conn, member_id, now)

    def set_first(self, conn: Connection, member_id: int, new_pin: str,
                  now: datetime) -> Refused | None:
        """A member's first PIN; refused if they have one (they change it with the old one)."""
        if not _PIN.fullmatch(new_pin or ""):
            return Refused(Refusal.INVALID_PIN)
        if self._row(conn, member_id) is not None:
            return Refused(Refusal.PIN_ALREADY_SET)
        conn.execute(insert(member_pins).values(
            member_id=member_id, pin_hash=self._hasher.hash(new_pin), failed_attempts=0,
            locked_until=None, updated_at=now))
        return None

    def change(self, conn: Connection, member_id: int, old_pin: str, new_pin: str,
               now: datetime) -> Refused | None:
        if not _PIN.fullmatch(new_pin or ""):
            return Refused(Refusal.INVALID_PIN)
        refused = self.verify(conn, member_id, old_pin, now)
        if refused is not None:
            return refused
        conn.execute(update(member_pins).where(member_pins.c.member_id == member_id).values(
            pin_hash=self._hasher.hash(new_pin), updated_at=now))
        return None

    def _wrong(self, conn: Connection, member_id: int, now: datetime) -> Refused:
        count = conn.execute(update(member_pins).where(member_pins.c.member_id == member_id)
                             .values(failed_attempts=member_pins.c.failed_attempts + 1)
                             .returning(member_pins.c.failed_attempts)).scalar_one()
        if count < self._attempts:
            return Refused(Refusal.WRONG_PIN, {"attempts_left": self._attempts - count})
        until = now + self._lockout
        conn.execute(update(member_pins).where(member_pins.c.member_id == member_id)
                     .values(failed_attempts=0, locked_until=until))
        return Refused(Refusal.PIN_LOCKED, {"locked_until": until})

    def _matches(self, stored: str, pin: str) -> bool:
        if not _PIN.fullmatch(pin):
            return False
        try:
            return self._hasher.verify(stored, pin)
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _row(conn: Connection, member_id: int):
        return conn.execute(select(member_pins).where(
            member_pins.c.member_id == member_id)).first()
