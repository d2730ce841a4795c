"""Delivery receipts: what an SMSC says became of an MT, read from a deliver_sm.

Start at `parse`: a deliver_sm's params in, a `Receipt` out, or `ReceiptError`
and nothing else, whatever the bytes.  Then `id_format`: the per-bind adapter
that says which SMSC message ids a receipt's id may stand for.  Pure: no I/O,
no Twisted, no database (gateway/delivery.py applies receipts to MTs).

A receipt carries its facts twice, in TLVs (receipted_message_id,
message_state) and in the classic text of SMPP 3.4 Appendix B
(``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…``).
Real SMSCs fill one, the other or both, drop fields, shout or whisper the
keys and pad with spaces, and write the id in hex in one place and decimal in
the other.  So both are read, the TLVs win where they disagree, and every id
found is kept for matching.

Statuses are the seven-letter words of the text form.  Five are final
(`FINAL`); the rest say "not yet", and `supersedes` keeps a final status from
being overwritten by a late or repeated intermediate one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Protocol

__all__ = [
    "FINAL", "FAILED", "INTERMEDIATE", "Receipt", "ReceiptError", "IdFormat", "ID_FORMATS",
    "is_receipt", "parse", "fold", "id_format", "submit_keys", "supersedes", "message_status",
]

FAILED = ("UNDELIV", "EXPIRED", "REJECTD", "DELETED")
FINAL = ("DELIVRD",) + FAILED
INTERMEDIATE = ("UNKNOWN", "ENROUTE", "ACCEPTD")

# esm_class bits 2-5, the message type (SMPP 3.4 §5.2.12): 0x04 SMSC delivery
# receipt, 0x08 SME delivery ack, 0x10 SME manual ack, 0x20 intermediate
# delivery notification.  Anything but 0 is about an MT, never a member's
# message, so all of them take the receipt path and none reaches a command.
_MESSAGE_TYPE = 0x3C

# SMPP 3.4 §5.2.28 message_state; 9 (SKIPPED) is SMPP 5.0's "not delivered".
_TLV_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
               6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD", 9: "UNDELIV"}
# Spellings seen in the text form besides the seven-letter ones.
_STAT_WORDS = {**{s: s for s in FINAL + INTERMEDIATE},
               "DELIVERED": "DELIVRD", "UNDELIVERED": "UNDELIV", "UNDELIVERABLE": "UNDELIV",
               "EXPIRD": "EXPIRED", "REJECTED": "REJECTD", "DELETD": "DELETED",
               "ACCEPTED": "ACCEPTD", "ENROUTED": "ENROUTE", "UNKNWN": "UNKNOWN",
               "SKIPPED": "UNDELIV", "FAILED": "UNDELIV"}
_RANK = {None: 0, "UNKNOWN": 1, "ENROUTE": 2, "ACCEPTD": 3, **{s: 4 for s in FINAL}}

_KEY = re.compile(r"(?<![a-z0-9])(id|sub|dlvrd|submit[ _]*date|done[ _]*date|stat|err|text)"
                  r"\s*:", re.IGNORECASE)
_ID = re.compile(r"[\x21-\x7e]{1,64}")
_HEX = re.compile(r"[0-9a-fA-F]{1,64}")
_DECIMAL = re.compile(r"[0-9]{1,64}")


class ReceiptError(ValueError):
    """A receipt this module cannot read; the one exception `parse` raises."""


@dataclass(frozen=True)
class Receipt:
    """One delivery receipt, as far as it could be read."""

    message_ids: tuple[str, ...]   # as the SMSC wrote them, TLV first, distinct
    status: str                    # one of FINAL or INTERMEDIATE
    error: str | None = None       # the err: field (network specific), if any

    @property
    def final(self) -> bool:
        return self.status in FINAL


def is_receipt(esm_class: int) -> bool:
    """True if a deliver_sm with this esm_class reports on an MT."""
    return bool(esm_class & _MESSAGE_TYPE)


def parse(params: Mapping) -> Receipt:
    """The receipt in a deliver_sm's params (the TLVs and the text)."""
    fields = _text_fields(_body_text(params))
    ids = [_clean_id(params.get("receipted_message_id")), _clean_id(fields.get("id"))]
    message_ids = tuple(dict.fromkeys(i for i in ids if i))
    if not message_ids:
        raise ReceiptError("receipt names no message id")
    status = _TLV_STATES.get(params.get("message_state")) or _stat(fields.get("stat"))
    error = (fields.get("err") or "").split()[:1]
    return Receipt(message_ids, status, error[0][:8] if error else None)


def _body_text(params: Mapping) -> str:
    body = params.get("message_payload") or params.get("short_message") or b""
    if not isinstance(body, (bytes, bytearray)):
        return ""
    if params.get("data_coding") == 0x08:      # UCS-2 receipts exist, rarely
        return bytes(body[: len(body) & ~1]).decode("utf-16-be", "replace")
    return bytes(body).decode("latin-1")


def _text_fields(text: str) -> dict[str, str]:
    """``key: value`` pairs of the text form; ``text:`` runs to the end."""
    fields: dict[str, str] = {}
    found = list(_KEY.finditer(text))
    for match, following in zip(found, found[1:] + [None]):
        key = re.sub(r"[ _]+", " ", match[1].lower())
        if key == "text":
            break          # the MT's own words follow: read no keys in them
        end = following.start() if following is not None else len(text)
        fields.setdefault(key, text[match.end():end].strip())
    return fields


def _clean_id(value) -> str | None:
    if not isinstance(value, str):
        return None
    token = value.strip("\0 \t\r\n").split()[:1]
    return token[0] if token and _ID.fullmatch(token[0]) else None


def _stat(value: str | None) -> str:
    word = (value or "").split()[:1]
    return _STAT_WORDS.get(word[0].upper(), "UNKNOWN") if word else "UNKNOWN"


# -- matching ids -------------------------------------------------------------

def fold(message_id: str) -> str:
    """The form ids are compared in: no case, no spaces, no leading zeros."""
    folded = message_id.strip().lower().lstrip("0")
    return folded or ("0" if message_id.strip() else "")


def _hex_to_decimal(message_id: str) -> str | None:
    return str(int(message_id, 16)) if _HEX.fullmatch(message_id) else None


def _decimal_to_hex(message_id: str) -> str | None:
    return format(int(message_id), "x") if _DECIMAL.fullmatch(message_id) else None


class IdFormat(Protocol):
    """How one bind's receipts write the id that submit_sm_resp gave.

    `keys` returns the folded submit_sm_resp ids that a receipt's id may
    stand for, best first; the exact text always comes first, so a
    conversion only ever decides when the plain reading finds nothing.
    """

    name: str

    def keys(self, receipt_id: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class _Conversions:
    name: str
    conversions: tuple          # functions: receipt id -> the other base's text, or None

    def keys(self, receipt_id: str) -> tuple[str, ...]:
        candidates = [fold(receipt_id)]
        candidates += [fold(c) for c in (f(receipt_id.strip()) for f in self.conversions) if c]
        return tuple(dict.fromkeys(c for c in candidates if c))


#: ``receipt_id_format`` in a bind's config.  "as_is": compare the text only
#: (ids that are not numbers).  "hex"/"decimal": the receipt writes the id in
#: that base, whatever base submit_sm_resp used.  "auto": try both readings.
ID_FORMATS: dict[str, IdFormat] = {
    "auto": _Conversions("auto", (_decimal_to_hex, _hex_to_decimal)),
    "hex": _Conversions("hex", (_hex_to_decimal,)),
    "decimal": _Conversions("decimal", (_decimal_to_hex,)),
    "as_is": _Conversions("as_is", ()),
}


def id_format(name: str) -> IdFormat:
    """The adapter called ``name``; KeyError for a name config.py would refuse."""
    return ID_FORMATS[name]


def submit_keys(submit_id: str) -> tuple[str, ...]:
    """Every folded receipt id that could stand for ``submit_id`` in any format.

    For a receipt that arrived before its submit_sm_resp: the stored receipt
    is found by these, then confirmed with its own bind's `IdFormat`.
    """
    plain = submit_id.strip()
    candidates = (plain, _decimal_to_hex(plain), _hex_to_decimal(plain))
    return tuple(dict.fromkeys(fold(c) for c in candidates if c and fold(c)))


# -- statuses -----------------------------------------------------------------

def supersedes(new: str | None, current: str | None) -> bool:
    """Whether a segment at ``current`` should take ``new``.

    Later states win over earlier ones; a final state is never replaced,
    not even by another final one (a repeated receipt tells nothing new).
    """
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def message_status(segment_statuses) -> str | None:
    """An MT's status from its segments' (in part order, None: no receipt yet).

    A failed part fails the message; otherwise a delivered part says the
    message was delivered (SMSCs that send one receipt per message send it
    for one part only); otherwise the furthest intermediate state.
    """
    statuses = [s for s in segment_statuses if s]
    for status in statuses:
        if status in FAILED:
            return status
    if "DELIVRD" in statuses:
        return "DELIVRD"
    return max(statuses, key=lambda s: _RANK.get(s, 0), default=None)
