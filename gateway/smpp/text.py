"""SMS text encoding for SMPP: from ``str`` to short_message bytes and back.

Start at :func:`encode` (outgoing text), :func:`split` (outgoing text that may
need several SMS) and :func:`decode` / :func:`strip_udh` (incoming PDUs).

This module is pure: no I/O, no Twisted, no smpplib. smpplib ships its own GSM
table, but it maps 0x5F to a backtick instead of '§' and may split an escape
pair across parts, so we keep our own, checked against 3GPP TS 23.038 §6.2.1.

Conventions, because SMPP leaves them to the SMSC:

* GSM-7 travels *unpacked*: one septet per octet, extension characters as
  0x1B followed by their code. Packing into 7-bit bytes is the SMSC's job.
* ``data_coding`` 0 means "SMSC default alphabet"; which alphabet that is
  varies per SMSC, so :func:`decode` takes it as a parameter.
* Concatenated messages use a 6-byte UDH (IEI 0x00, 8-bit reference). We
  accept IEI 0x08 (16-bit reference) on input, as handsets send both.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DC_SMSC_DEFAULT", "DC_IA5", "DC_LATIN1", "DC_UCS2",
    "SEGMENT_SINGLE", "SEGMENT_PART",
    "TextError", "Encoded", "Concat",
    "is_gsm7", "gsm7_length", "encode", "decode",
    "split", "count_segments", "strip_udh",
]

DC_SMSC_DEFAULT = 0x00
DC_IA5 = 0x01
DC_LATIN1 = 0x03
DC_UCS2 = 0x08

SEGMENT_SINGLE = {DC_SMSC_DEFAULT: 160, DC_UCS2: 70}
SEGMENT_PART = {DC_SMSC_DEFAULT: 153, DC_UCS2: 67}

# A concatenated message carries its part count in one octet.
_MAX_PARTS = 255
_ESC = 0x1B

# 3GPP TS 23.038 §6.2.1, indexed by septet value. 0x1B is the escape to the
# extension table, not a character; it is skipped when building _ENCODE.
_DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_DEFAULT_ALPHABET) == 128

# 3GPP TS 23.038 §6.2.1.1, the default extension table (code after 0x1B).
_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}

_ENCODE: dict[str, bytes] = {
    char: bytes([code]) for code, char in enumerate(_DEFAULT_ALPHABET) if code != _ESC
}
_ENCODE.update({char: bytes([_ESC, code]) for code, char in _EXTENSION.items()})


class TextError(ValueError):
    """Text or payload that cannot be encoded or decoded.

    The only exception this module raises for bad input, so that a caller
    handling untrusted PDUs needs exactly one ``except`` clause.
    """


@dataclass(frozen=True)
class Encoded:
    """Text ready for short_message, with the units SMS length is counted in."""

    data_coding: int
    payload: bytes
    units: int


@dataclass(frozen=True)
class Concat:
    """Concatenation info from a UDH: part ``sequence`` of ``total``."""

    reference: int
    total: int
    sequence: int


def is_gsm7(text: str) -> bool:
    """True if every character is in the default alphabet or its extension."""
    return all(char in _ENCODE for char in text)


def gsm7_length(text: str) -> int:
    """Length in septets; extension characters count two."""
    try:
        return sum(len(_ENCODE[char]) for char in text)
    except KeyError as exc:
        raise TextError(f"not in the GSM 7-bit alphabet: {exc.args[0]!r}") from None


def encode(text: str) -> Encoded:
    """GSM-7 when the whole text fits the default alphabet, else UCS-2.

    UCS-2 here is really UTF-16-BE: astral characters (emoji) become surrogate
    pairs, which every current handset renders.
    """
    if is_gsm7(text):
        payload = b"".join(_ENCODE[char] for char in text)
        return Encoded(DC_SMSC_DEFAULT, payload, len(payload))
    payload = _utf16(text)
    return Encoded(DC_UCS2, payload, len(payload) // 2)


def _utf16(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        # Only a lone surrogate in the str can get here.
        raise TextError(f"cannot encode {text[exc.start:exc.end]!r}") from None


def decode(payload: bytes, data_coding: int, default_alphabet: str = "gsm7") -> str:
    """Text of an incoming short_message (UDH already stripped).

    Lenient by design: a subscriber's garbled SMS should still reach the
    command parser, so undecodable units become '?' (GSM-7) or U+FFFD.
    Only messages that are not text at all raise :class:`TextError`.
    """
    payload = bytes(payload)
    alphabet = _alphabet(data_coding)
    if alphabet == "default":
        if default_alphabet not in _DEFAULT_CHOICES:
            raise TextError(f"unknown default alphabet {default_alphabet!r}")
        alphabet = default_alphabet
    if alphabet == "gsm7":
        return _decode_gsm7(payload)
    if alphabet == "ascii":
        return payload.decode("ascii", "replace")
    if alphabet == "latin1":
        return payload.decode("latin-1")
    # UCS-2. An odd trailing byte is a truncated unit, not a character;
    # unpaired surrogates become U+FFFD through "replace".
    return payload[: len(payload) & ~1].decode("utf-16-be", "replace")


_DEFAULT_CHOICES = ("gsm7", "latin1", "ascii")
# SMPP 3.4 §5.2.19; values below 0x10 missing here (JIS, Cyrillic, ...) are unsupported.
_SMPP_ALPHABETS = {
    DC_SMSC_DEFAULT: "default", DC_IA5: "ascii", 0x02: "binary",
    DC_LATIN1: "latin1", 0x04: "binary", DC_UCS2: "ucs2",
}
_GSM_GENERAL_ALPHABETS = ("gsm7", "binary", "ucs2", "reserved")


def _alphabet(data_coding: int) -> str:
    """Map data_coding to an alphabet name, or raise for non-text.

    0x00-0x0F follow SMPP 3.4. Above that, SMSCs commonly pass the
    3GPP TS 23.038 §4 DCS through unchanged (e.g. 0x18 for a flash UCS-2
    message), so those groups are read as the handset would read them.
    """
    if not isinstance(data_coding, int) or not 0 <= data_coding <= 0xFF:
        raise TextError(f"data_coding out of range: {data_coding!r}")
    if data_coding < 0x10:
        alphabet = _SMPP_ALPHABETS.get(data_coding, "reserved")
    elif data_coding >= 0xF0:
        alphabet = "binary" if data_coding & 0x04 else "gsm7"
    elif data_coding >= 0xE0:
        alphabet = "ucs2"  # message waiting indication, UCS-2 text
    elif data_coding >= 0xC0:
        alphabet = "gsm7"  # message waiting indication, GSM-7 text
    elif data_coding >= 0x80:
        alphabet = "reserved"
    elif data_coding & 0x20:
        raise TextError("compressed message")
    else:  # general data coding group, with or without automatic deletion
        alphabet = _GSM_GENERAL_ALPHABETS[(data_coding >> 2) & 0x03]
    if alphabet == "binary":
        raise TextError("binary message")
    if alphabet == "reserved":
        raise TextError(f"unsupported data_coding 0x{data_coding:02X}")
    return alphabet


def _decode_gsm7(payload: bytes) -> str:
    chars = []
    escaped = False
    for septet in payload:
        if escaped:
            escaped = False
            # TS 23.038: 0x1B 0x1B awaits a future table and shows as a
            # space; any other unknown code shows as its default character.
            if septet == _ESC:
                chars.append(" ")
            else:
                chars.append(_EXTENSION.get(septet) or _default_char(septet))
        elif septet == _ESC:
            escaped = True  # a lone trailing escape is simply dropped
        else:
            chars.append(_default_char(septet))
    return "".join(chars)


def _default_char(septet: int) -> str:
    return _DEFAULT_ALPHABET[septet] if septet < 0x80 else "?"


def split(text: str, reference: int) -> tuple[int, list[bytes]]:
    """Encode ``text`` into one short_message, or several with concat UDHs.

    Returns ``(data_coding, parts)``. A single part has no UDH; the caller
    sets esm_class UDHI (0x40) only when there is more than one part.
    """
    encoded = encode(text)
    data_coding = encoded.data_coding
    if encoded.units <= SEGMENT_SINGLE[data_coding]:
        return data_coding, [encoded.payload]
    bodies = _pack(text, data_coding)
    if len(bodies) > _MAX_PARTS:
        raise TextError(f"message needs {len(bodies)} parts, at most {_MAX_PARTS} allowed")
    total = len(bodies)
    header = bytes([0x05, 0x00, 0x03, reference & 0xFF, total])
    return data_coding, [header + bytes([seq]) + body for seq, body in enumerate(bodies, 1)]


def count_segments(text: str) -> int:
    """Number of SMS the text costs; never raises for long text.

    Agrees with ``len(split(text, ref)[1])`` whenever split succeeds, and
    keeps counting past 255 so callers can report how far over they are.
    """
    encoded = encode(text)
    if encoded.units <= SEGMENT_SINGLE[encoded.data_coding]:
        return 1
    return len(_pack(text, encoded.data_coding))


def _pack(text: str, data_coding: int) -> list[bytes]:
    """Greedily fill parts character by character.

    Working per character rather than per byte is what keeps a GSM escape
    pair or a UTF-16 surrogate pair from straddling two parts.
    """
    if data_coding == DC_UCS2:
        limit = SEGMENT_PART[DC_UCS2] * 2
        pieces = (char.encode("utf-16-be") for char in text)
    else:
        limit = SEGMENT_PART[DC_SMSC_DEFAULT]
        pieces = (_ENCODE[char] for char in text)
    parts: list[bytes] = []
    current = bytearray()
    for piece in pieces:
        if len(current) + len(piece) > limit:
            parts.append(bytes(current))
            current.clear()
        current += piece
    parts.append(bytes(current))
    return parts


def strip_udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """Split a UDHI message into its concat info (if any) and body.

    Call only when esm_class has UDHI (0x40) set. Per TS 23.040 §9.2.3.24.1
    a concat IE with total 0 or sequence outside 1..total is ignored, not
    rejected; a UDH that does not fit the message is malformed.
    """
    short_message = bytes(short_message)
    if not short_message:
        raise TextError("UDHI set but message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise TextError("UDH length beyond end of message")
    concat = None
    offset = 1
    while offset < end:
        if offset + 2 > end:
            raise TextError("truncated UDH information element")
        iei, length = short_message[offset], short_message[offset + 1]
        data = short_message[offset + 2 : offset + 2 + length]
        offset += 2 + length
        if offset > end:
            raise TextError("truncated UDH information element")
        if iei in (0x00, 0x08):
            concat = _concat(iei, data) or concat
    return concat, short_message[end:]


def _concat(iei: int, data: bytes) -> Concat | None:
    expected = 3 if iei == 0x00 else 4
    if len(data) != expected:
        raise TextError(f"concat IE 0x{iei:02X} has length {len(data)}, expected {expected}")
    reference = int.from_bytes(data[:-2], "big")
    total, sequence = data[-2], data[-1]
    if total == 0 or not 1 <= sequence <= total:
        return None
    return Concat(reference, total, sequence)
