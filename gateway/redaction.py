"""Keeping PINs and confirmation codes out of the inbox, while still spotting redeliveries.

An MO is stored as it came (it must be committed before it is acknowledged, and before it is
understood). Once the processor has read it, `redact` gives the text to keep instead when the
command takes a secret: the message as typed with every PIN or code written ****. So the inbox
never holds "PIN 1234 5678" for longer than the transaction that runs it.

Redelivery detection needs to compare a new MO with the sender's latest one, which redaction has
destroyed, and comparing redacted forms would take "PIN 1111 2222" and "PIN 3333 4444" for one
message. So each MO gets `digest`: HMAC-SHA256 under a key, never a plain hash (a 4-digit PIN
hashed without a key is found by trying all 10,000). The key is `[gateway] secret_key`, or, when
that is empty, a random one kept in the `gateway_secrets` table (`stored_key`), made on first use
so the embedded demo needs no setup and processes sharing one database share it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gateway.commands.grammar import KeywordTable, parse
from gateway.commands.masking import MASK, masked, may_be_secret
from gateway.commands.tokens import fold
from gateway.store.tables_secrets import gateway_secrets

__all__ = ["MASK", "redact", "digest", "configured_key", "stored_key"]
_KEY_NAME = "mo_digest"


def redact(text: str, table: KeywordTable, region: str) -> str | None:
    """``text`` with its PINs and codes masked (commands/masking.py); None when it has none."""
    folded = fold(text)
    secret = may_be_secret(parse(text, table, region), folded, table)
    return masked(folded, secret, table) if secret else None


def digest(key: bytes, kind: str, text: str) -> str:
    """What two deliveries of one MO share and two different MOs do not, revealing neither."""
    message = f"{kind}\0{text}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def configured_key(secret_key: str) -> bytes | None:
    """The operator's key from the config; None: use the database's (`stored_key`)."""
    return secret_key.encode("utf-8") if secret_key else None


def stored_key(conn) -> bytes:
    """This database's own digest key, made at random the first time it is asked for."""
    found = _read_key(conn)
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            conn.execute(insert(gateway_secrets).values(name=_KEY_NAME,
                                                        value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process made it first: theirs is the key
    return _read_key(conn)


def _read_key(conn) -> bytes | None:
    value = conn.execute(select(gateway_secrets.c.value)
                         .where(gateway_secrets.c.name == _KEY_NAME)).scalar()
    return bytes.fromhex(value) if value is not None else None
