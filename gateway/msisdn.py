"""Phone numbers as the gateway keeps them: E.164 digits without the '+'.

SMSCs send source addresses as international digits ("254712345678"), with
a '+', or in national form ("0712345678") depending on TON and the operator;
members and operators type them every way there is.  One normal form means
one member row per phone.  phonenumbers carries the numbering plans of every
region, which no hand-written rule would keep up with.
"""

from __future__ import annotations

import functools

import phonenumbers

TON_INTERNATIONAL = 1


def normalize(raw: str, region: str, ton: int | None = None) -> str | None:
    """E.164 digits for ``raw``, or None when it is not a phone number.

    Short codes and alphanumeric senders are not phone numbers; callers keep
    those as they came.
    """
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+").lstrip()
    if not digits or len(digits) > 17:
        return None
    if ton == TON_INTERNATIONAL and not digits.startswith("+"):
        digits = "+" + digits
    candidates = [digits]
    if not digits.startswith("+"):
        candidates.append("+" + digits)     # international digits without their '+'
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    return None


@functools.lru_cache(maxsize=16_384)
def address_of(raw: str, region: str, ton: int | None = None) -> str:
    """The normal form of a number when it is one, else ``raw`` unchanged.

    Remembered for the most recent phones: every MO and USSD step asks, phones come back, and
    phonenumbers costs as much as reading the PDU.
    """
    return normalize(raw, region, ton) or raw.strip()
