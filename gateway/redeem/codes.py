"""Short references (R8K2P) and voucher codes: random, unambiguous, unique.

Both use an alphabet without 0/O and 1/I, which are misread on small screens and misheard
on the phone.  A reference is short because a person reads it out at a shop; it is unique by
a database constraint, so `new_reference` tries a fresh one when it collides, and grows by a
character when the short space is getting full.  Voucher codes are long enough (10 characters,
about 50 bits) to be unguessable, and only their SHA-256 digest is stored: the member holds
the code, and an operator can still verify one that is presented.
"""

from __future__ import annotations

import hashlib
import random
import secrets

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gateway.store.tables_catalog import redemptions

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"       # 32 symbols, no 0 O 1 I
REFERENCE_LENGTH = 4                                # after the leading "R"
VOUCHER_LENGTH = 10
_TRIES_PER_LENGTH = 4
_DIGITS = "".join(c for c in ALPHABET if c.isdigit())


def new_reference(conn: Connection, rng: random.Random | None = None) -> str:
    """A reference that no redemption has yet, such as "R8K2P", always with a digit.

    The digit is what tells a reference from a word where commands read one
    (commands/arguments.py: letters and digits, both), so "RKWMY" could never be named back.
    """
    rng = rng or secrets.SystemRandom()
    length = REFERENCE_LENGTH
    while True:
        for _ in range(_TRIES_PER_LENGTH):
            chars = [rng.choice(ALPHABET) for _ in range(length)]
            if not any(c.isdigit() for c in chars):
                chars[rng.randrange(length)] = rng.choice(_DIGITS)
            candidate = "R" + "".join(chars)
            taken = conn.execute(select(redemptions.c.id).where(
                redemptions.c.reference == candidate)).first()
            if taken is None:
                return candidate
        length += 1          # four collisions in a row: the short space is crowded


def new_voucher_code(rng: random.Random | None = None) -> str:
    rng = rng or secrets.SystemRandom()
    return "".join(rng.choice(ALPHABET) for _ in range(VOUCHER_LENGTH))


def digest(code: str) -> str:
    """How a voucher code is stored and looked up; case and spaces as a person types them."""
    normal = "".join(code.split()).upper()
    return hashlib.sha256(normal.encode("ascii", "replace")).hexdigest()
