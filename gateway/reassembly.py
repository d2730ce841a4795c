"""Concatenated MOs: which part of which message a deliver_sm is, and the whole once all are in.

Start at `part_of` (a deliver_sm's params in: its concat info, if any, and its
body) and `assemble` (the stored parts of one message in: its text).  Pure:
the parts table and the timeout live in gateway/intake.py.

A long SMS arrives as parts in any order, each naming its message by a
reference number, the part count and its own sequence number, either in a
UDH (IEI 0x00 with an 8-bit reference, IEI 0x08 with a 16-bit one) or in the
SAR TLVs (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum).  A
reference is only unique per sender and recipient, so a message is keyed by
(source, destination, reference, total).

The bodies are joined as bytes and decoded once, because handsets do split a
GSM-7 escape or a UTF-16 surrogate pair across two parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from gateway.smpp import text as sms_text

__all__ = ["Part", "StoredPart", "part_of", "assemble", "missing"]

_UDHI = 0x40


@dataclass(frozen=True)
class Part:
    """Where one deliver_sm sits in a concatenated message."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True)
class StoredPart:
    """One part as the parts table keeps it."""

    sequence: int
    data_coding: int
    body: bytes


def part_of(params: Mapping) -> tuple[Part | None, bytes]:
    """The concat info of a deliver_sm (None: a whole message) and its body.

    A UDH wins over SAR TLVs when both are present.  Concat info that makes
    no sense (total 0 or 1, sequence outside 1..total) is ignored, as
    TS 23.040 §9.2.3.24.1 asks, and the message read as a whole one.
    Raises `text.TextError` for a UDH that does not fit its message.
    """
    body = params.get("message_payload") or params.get("short_message") or b""
    body = bytes(body)
    concat = None
    if params.get("esm_class", 0) & _UDHI:
        concat, body = sms_text.strip_udh(body)
    if concat is None:
        concat = _sar(params)
    if concat is None or concat.total < 2:
        return None, body
    return Part(concat.reference, concat.total, concat.sequence), body


def _sar(params: Mapping) -> sms_text.Concat | None:
    reference = params.get("sar_msg_ref_num")
    total = params.get("sar_total_segments")
    sequence = params.get("sar_segment_seqnum")
    if None in (reference, total, sequence) or not 1 <= sequence <= total:
        return None
    return sms_text.Concat(reference, total, sequence)


def missing(sequences: Iterable[int], total: int) -> list[int]:
    """The part numbers of 1..total not among ``sequences``."""
    return sorted(set(range(1, total + 1)) - set(sequences))


def assemble(parts: Iterable[StoredPart], default_alphabet: str = "gsm7",
             *, partial: bool = False) -> str:
    """The text of a message from its parts, in sequence order.

    Parts of one data_coding are joined before decoding; mixed ones (which
    no handset sends, but an SMSC might pass on) are decoded one by one.
    ``partial`` says gaps are expected (an incomplete message, kept for the
    record): a part that cannot be decoded is then left out, not raised.
    Raises `text.TextError` for a message that is not text.
    """
    ordered = sorted({p.sequence: p for p in parts}.values(), key=lambda p: p.sequence)
    codings = {p.data_coding for p in ordered}
    if len(codings) == 1 and not partial:
        return sms_text.decode(b"".join(p.body for p in ordered), codings.pop(),
                               default_alphabet)
    pieces = []
    for part in ordered:
        try:
            pieces.append(sms_text.decode(part.body, part.data_coding, default_alphabet))
        except sms_text.TextError:
            if not partial:
                raise
    return "".join(pieces)
