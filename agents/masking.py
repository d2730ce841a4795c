"""What an agent may see of a member: enough to catch a mistyped number, not enough to misuse it.

Before the member is asked to approve an RDM, the agent is shown "0712***678 JANE W.": the start and
end of the number the agent typed, and the member's first name and last initial. The member in front
of the counter can say "that's not me" before a prompt goes to a stranger's phone.

The number is taken in the member's national format (the caller formats it with its numbering plan;
agents/ knows no numbering plans), because that is how the agent typed it and reads it.
"""

from __future__ import annotations

import re

__all__ = ["mask_member", "mask_name", "mask_number"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_FIRST_NAME_MAX = 12  # the SMS has other things to say


def mask_number(national: str) -> str:
    """"0712345678" -> "0712***678": at least three digits hidden, at most four shown at the start and
    three at the end; anything but digits is dropped."""
    digits = "".join(ch for ch in national if "0" <= ch <= "9")
    hidden = max(3, len(digits) - 7)
    shown = max(0, len(digits) - hidden)
    tail = min(3, shown // 2)
    return digits[:shown - tail] + "*" * (len(digits) - shown) + digits[len(digits) - tail:]


def mask_name(name: str) -> str:
    """"Jane Wanjiru" -> "JANE W."; a Chinese name "李华" -> "*华" (the given name, as payment apps
    show it); a single word is shown alone."""
    words = "".join(ch if ch.isprintable() else " " for ch in name).split()
    if not words:
        return ""
    if len(words) == 1 and len(words[0]) > 1 and _HAN.match(words[0]):
        return "*" + words[0][1:_FIRST_NAME_MAX]
    first = words[0][:_FIRST_NAME_MAX].upper()
    return f"{first} {words[-1][0].upper()}." if len(words) > 1 else first


def mask_member(national: str, name: str) -> str:
    """The member as the agent's confirmation shows them: "0712***678 JANE W."."""
    return f"{mask_number(national)} {mask_name(name)}".strip()
