"""Why a redemption or a PIN change was refused: one enum the SMS commands turn into replies."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Refusal(enum.StrEnum):
    NOT_A_MEMBER = "not_a_member"
    UNKNOWN_ITEM = "unknown_item"
    AGENT_ONLY = "agent_only"                 # goods are handed over by an agent at a shop
    NOT_ON_SALE = "not_on_sale"               # inactive, or outside its sale window
    INVALID_QUANTITY = "invalid_quantity"
    SOLD_OUT = "sold_out"
    OVER_LIMIT = "over_limit"                 # the per-member limit
    INSUFFICIENT_POINTS = "insufficient_points"
    PIN_REQUIRED = "pin_required"             # no PIN given where one is needed
    PIN_NOT_SET = "pin_not_set"
    WRONG_PIN = "wrong_pin"
    PIN_LOCKED = "pin_locked"
    INVALID_PIN = "invalid_pin"               # not 4 to 6 digits
    PIN_ALREADY_SET = "pin_already_set"       # first-time setting when there is one
    LEDGER_REFUSED = "ledger_refused"         # any other refusal of the posting


@dataclass(frozen=True)
class Refused:
    """A refusal and the figures a reply may show (points available, attempts left ...)."""

    reason: Refusal
    details: dict = field(default_factory=dict)
