"""What the simulated SMSC sends besides a plain MO: long MOs in parts, and delivery receipts.

Pure builders of deliver_sm params, used by `Simulator.deliver_concatenated`,
`Simulator.send_receipt` and the automatic receipts of `ReceiptPlan`.  They
write what real SMSCs write, including their habits: the classic receipt
text of SMPP 3.4 Appendix B or the TLVs or both, ids in decimal or in hex
(either case, zero-padded) whatever base the submit_sm_resp used.

This is the SMSC side, so it shares nothing with the gateway's receipt
parser (gateway/receipts.py): each is tested against the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from twisted.internet import defer, task

from gateway.smpp import text as smstext

__all__ = ["MoTraffic", "ReceiptPlan", "concatenated", "receipt", "render_id"]

log = structlog.get_logger(__name__)

_UDHI = 0x40
_SMSC_DELIVERY_RECEIPT = 0x04
# SMPP 3.4 §5.2.28
_MESSAGE_STATE = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5,
                  "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8}
STYLES = ("udh8", "udh16", "sar")


@dataclass(frozen=True)
class ReceiptPlan:
    """Receipts the simulator sends by itself for every MT it takes.

    ``stats`` are sent in that order (("DELIVRD", "ENROUTE") is out of
    order), each ``delay`` seconds after the one before; ``per_part`` False
    sends them for the first part of a long MT only; ``duplicate`` sends the
    last one twice.
    """

    stats: tuple[str, ...] = ("DELIVRD",)
    style: str = "text"             # "text", "tlv" or "both"
    ids: str = "decimal"            # how the receipt writes the id: see render_id
    per_part: bool = True
    delay: float = 0.0
    duplicate: bool = False


def render_id(number: int, style: str) -> str:
    """A message id as an SMSC might write it: "decimal", "hex", "HEX" (padded to 10)."""
    if style == "decimal":
        return str(number)
    if style == "hex":
        return format(number, "x")
    if style == "HEX":
        return format(number, "010X")
    raise ValueError(f"unknown id style {style!r}")


def concatenated(parts: list[str], style: str = "udh8", reference: int = 0x2A) -> list[dict]:
    """deliver() keywords for each part of one long MO, in sequence order.

    The parts share one data_coding: GSM-7 if all of the text fits it, else
    UCS-2.  ``style``: "udh8" (IEI 0x00), "udh16" (IEI 0x08) or "sar" (TLVs).
    """
    if style not in STYLES:
        raise ValueError(f"unknown concatenation style {style!r}")
    ucs2 = smstext.encode("".join(parts)).data_coding == smstext.DC_UCS2
    total = len(parts)
    built = []
    for sequence, text in enumerate(parts, 1):
        body = text.encode("utf-16-be") if ucs2 else smstext.encode(text).payload
        params = dict(data_coding=smstext.DC_UCS2 if ucs2 else smstext.DC_SMSC_DEFAULT)
        if style == "udh8":
            udh = bytes([0x05, 0x00, 0x03, reference & 0xFF, total, sequence])
            params.update(esm_class=_UDHI, short_message=udh + body)
        elif style == "udh16":
            udh = bytes([0x06, 0x08, 0x04, (reference >> 8) & 0xFF, reference & 0xFF, total,
                         sequence])
            params.update(esm_class=_UDHI, short_message=udh + body)
        else:
            params.update(short_message=body, sar_msg_ref_num=reference & 0xFFFF,
                          sar_total_segments=total, sar_segment_seqnum=sequence)
        built.append(params)
    return built


def receipt(number: int, stat: str = "DELIVRD", *, style: str = "text", ids: str = "decimal",
            tlv_ids: str | None = None, err: str = "000", when: float = 0.0) -> dict:
    """deliver_sm params (besides the addresses) of a receipt for message ``number``.

    ``tlv_ids`` writes receipted_message_id in another style than the text,
    as some SMSCs do; by default both agree.
    """
    stamp = time.strftime("%y%m%d%H%M", time.gmtime(when))
    delivered = "001" if stat == "DELIVRD" else "000"
    params: dict = dict(esm_class=_SMSC_DELIVERY_RECEIPT, data_coding=0)
    if style in ("text", "both"):
        params["short_message"] = (
            f"id:{render_id(number, ids)} sub:001 dlvrd:{delivered} submit date:{stamp} "
            f"done date:{stamp} stat:{stat} err:{err} text:").encode("ascii")
    else:
        params["short_message"] = b""
    if style in ("tlv", "both"):
        params.update(receipted_message_id=render_id(number, tlv_ids or ids),
                      message_state=_MESSAGE_STATE[stat])
    return params


class MoTraffic:
    """The `Simulator` methods that send long MOs and receipts (a mixin).

    Uses the simulator's `deliver`, `clock`, `message_id_style` and
    `auto_receipts`.
    """

    def deliver_concatenated(self, source_addr: str, destination_addr: str, parts: list[str],
                             *, style: str = "udh8", reference: int = 0x2A,
                             order: list[int] | None = None) -> defer.Deferred:
        """Send one long MO as ``parts`` ("udh8", "udh16" or "sar" style).

        ``order`` lists the part numbers (from 1) to send, in sending order:
        shuffled, repeated or with some left out.  Fires with their statuses.
        """
        built = concatenated(parts, style, reference)
        order = order or list(range(1, len(parts) + 1))
        return defer.gatherResults([self.deliver(source_addr, destination_addr, **built[n - 1])
                                    for n in order], consumeErrors=True)

    def send_receipt(self, mt, stat: str = "DELIVRD", **style) -> defer.Deferred:
        """Send a delivery receipt for the `Submitted` ``mt``; ``style`` as `receipt` takes it."""
        number = int(mt.message_id, 10 if self.message_id_style == "decimal" else 16)
        params = receipt(number, stat, when=self.clock.seconds(), **style)
        return self.deliver(mt.destination_addr, mt.source_addr, **params)

    def _send_auto_receipts(self, mt) -> None:
        plan = self.auto_receipts
        if plan is None or (not plan.per_part and _later_part(mt)):
            return
        stats = plan.stats + plan.stats[-1:] if plan.duplicate else plan.stats
        for n, stat in enumerate(stats, 1):
            sent = task.deferLater(self.clock, plan.delay * n, self.send_receipt, mt, stat,
                                   style=plan.style, ids=plan.ids)
            sent.addErrback(lambda f: log.warning("simulator.receipt_failed",
                                                  error=f.getErrorMessage()))


def _later_part(mt) -> bool:
    """True for part 2 or later of a long MT (its UDH says so)."""
    if not mt.params.get("esm_class", 0) & _UDHI:
        return False
    try:
        concat, _ = smstext.strip_udh(mt.short_message)
    except smstext.TextError:
        return False
    return concat is not None and concat.sequence > 1
