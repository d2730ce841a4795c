"""What a caller may type on an input screen, kind by kind: checked and normalised, never trusted.

Start at `KINDS`. Each kind turns the raw answer into the value the dialogue keeps, or None when
the answer is not of that kind (the screen is then shown again with the kind's hint). Answers are
folded first (NFKC: Chinese input methods send full-width digits) and never echoed back.

A PIN is checked for shape only and is never kept in the dialogue: the menu file must let a PIN
screen call its action directly (the loader refuses anything else), so a PIN lives for exactly one
request and never reaches the session row in the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["KINDS", "MAX_ANSWER", "InputKind", "Rules", "fold"]

# A USSD answer is at most 182 characters; anything longer did not come from a phone keypad.
MAX_ANSWER = 182

_DIGITS = re.compile(r"[0-9]+")
_CODE = re.compile(r"[A-Z0-9]{1,16}")
_REFERENCE = re.compile(r"[A-Z0-9]{4,16}")
_PHONE = re.compile(r"\+?[0-9]{7,15}")


@dataclass(frozen=True)
class Rules:
    """The operator's numbers from the menu file that answers are checked against."""

    max_quantity: int = 20
    pin_min: int = 4
    pin_max: int = 6


@dataclass(frozen=True)
class InputKind:
    """One kind of answer: how to read it, and the dialogue values it sets when accepted.

    ``sets`` names the dialogue values an accepted answer sets. "item" gets its name and points
    from the `Actions.item` lookup after `read`; "quantity" also sets "total" (points for the
    lot) once the item's points are known. A secret answer goes straight to its action.
    """

    read: Callable[[str, Rules], str | int | None]
    sets: tuple[str, ...]
    secret: bool = False


def fold(answer: str) -> str:
    """The answer as a keypad meant it: full-width folded, spaces and dashes dropped."""
    folded = unicodedata.normalize("NFKC", answer[: MAX_ANSWER * 2])
    return "".join(char for char in folded if not char.isspace())


def _msisdn(answer: str, rules: Rules) -> str | None:
    digits = answer.replace("-", "")
    return digits if _PHONE.fullmatch(digits) else None


def _item(answer: str, rules: Rules) -> str | None:
    code = answer.upper()
    return code if _CODE.fullmatch(code) else None


def _quantity(answer: str, rules: Rules) -> int | None:
    if not _DIGITS.fullmatch(answer) or len(answer) > 4:
        return None
    quantity = int(answer)
    return quantity if 1 <= quantity <= rules.max_quantity else None


def _pin(answer: str, rules: Rules) -> str | None:
    ok = _DIGITS.fullmatch(answer) and rules.pin_min <= len(answer) <= rules.pin_max
    return answer if ok else None


def _reference(answer: str, rules: Rules) -> str | None:
    reference = answer.upper()
    return reference if _REFERENCE.fullmatch(reference) else None


KINDS: Mapping[str, InputKind] = {
    "msisdn": InputKind(_msisdn, ("msisdn",)),
    "item": InputKind(_item, ("item", "item_name", "item_points")),
    "quantity": InputKind(_quantity, ("quantity",)),
    "pin": InputKind(_pin, ("pin",), secret=True),
    "reference": InputKind(_reference, ("reference",)),
}
