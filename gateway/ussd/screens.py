"""USSD screens: lines of text in, one string that fits the phone out.

Start at `compose()`. A USSD string carries at most 182 characters of the GSM 7-bit alphabet (160
octets packed), or 80 once any other character forces UCS-2; a channel may allow less, so the
budget is a `Limits` value handed in, never a constant. Screens are assembled from lines (a hint,
a title, numbered options, the navigation line) and checked here, in the units the network counts:
GSM-7 extension characters (``€ [ ] { } ^ ~ | \\``) take two septets, and a character outside the
Basic Multilingual Plane two UTF-16 units.

Nothing here raises for a long value: `fill()` shortens the longest value in a template with an
ellipsis until the line fits, and `compose()` cuts a whole screen as a last resort and says so in
`Screen.shortened`, so a long item name from the catalogue costs a few letters, not a dead session.
The menu loader checks every screen with sample values at start-up, so shortening is for values
that outgrow their samples.

The GSM table is a copy of the one in gateway/smpp/text.py (as gateway/commands/replies.py keeps
its own), because the menus do not import the SMPP layer; tests/unit/test_ussd_screens.py checks
the two agree.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["DEFAULT_LIMITS", "End", "Limits", "Screen", "compose", "fill", "fits", "is_gsm", "overflow",
           "paginate", "placeholders", "shorten", "show", "units"]

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")  # an escape septet, then the character

# Shortened values keep at least this many characters: "Coo..." still says which item.
_KEEP = 3
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Limits:
    """How much one screen may hold on a channel: characters in GSM-7, and in UCS-2."""

    gsm7: int = 182
    ucs2: int = 80

    @classmethod
    def checked(cls, gsm7: object, ucs2: object) -> Limits:
        """Limits from a config file; ValueError unless they are what a USSD string can hold."""
        if not (type(gsm7) is int and type(ucs2) is int and 20 <= gsm7 <= 182 and 10 <= ucs2 <= 91):
            raise ValueError(f"USSD limits are 20 to 182 GSM-7 and 10 to 91 UCS-2 characters, "
                             f"got {gsm7!r} and {ucs2!r}")
        return cls(gsm7, ucs2)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Screen:
    """A screen to show, after which the dialogue waits for the caller's answer.

    ``secret``: the answer to this screen is a PIN; the caller must not log, store or echo it.
    ``shortened``: a value was cut to fit (worth a log line: a sample in the menu file is too short).
    ``hint``: the hint shown above it, i.e. the last answer was not taken (a dialled shortcut stops
    there).
    """

    text: str
    secret: bool = False
    shortened: bool = False
    hint: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class End:
    """The last screen: show it and close the dialogue."""

    text: str
    shortened: bool = False


def is_gsm(text: str) -> bool:
    return all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text)


def units(text: str) -> tuple[int, bool]:
    """(units used, whether the text goes as GSM-7): septets, or UTF-16 units for UCS-2."""
    if is_gsm(text):
        return len(text) + sum(char in _GSM_EXTENDED for char in text), True
    return len(text.encode("utf-16-le", "surrogatepass")) // 2, False


def fits(text: str, limits: Limits) -> bool:
    used, gsm = units(text)
    return used <= (limits.gsm7 if gsm else limits.ucs2)


def overflow(text: str, limits: Limits) -> int:
    """Units over the budget (0 or less: it fits)."""
    used, gsm = units(text)
    return used - (limits.gsm7 if gsm else limits.ucs2)


def shorten(value: str, length: int) -> str:
    """`value` in at most `length` characters, the cut marked with an ellipsis."""
    if len(value) <= length:
        return value
    ellipsis = "..." if is_gsm(value) else "…"
    if length <= len(ellipsis):
        return value[:max(length, 0)]
    return value[:length - len(ellipsis)] + ellipsis


def show(value: object) -> str:
    """A value as screens show it: integers with digit grouping ("1,350"), like SMS replies."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def placeholders(template: str) -> list[str]:
    """The names a template fills in; raises ValueError for a malformed template."""
    names = []
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}}} is not a plain {{name}} placeholder")
        names.append(name)
    return names


def fill(template: str, values: Mapping[str, object],
         room: Callable[[str], int] = lambda text: 0) -> tuple[str, bool]:
    """`template` filled in, with the longest values cut until `room(text)` is 0 or less.

    `room` tells how many units the text is over its budget (see `overflow`). Returns the text and
    whether anything was cut. A missing value shows as empty rather than failing a live screen.
    """
    shown = {name: show(values.get(name, "")) for name in placeholders(template)}
    text = template.format_map(shown)
    shortened = False
    while (over := room(text)) > 0:
        name = max(shown, key=lambda key: len(shown[key]), default=None)
        if name is None or len(shown[name]) <= _KEEP:
            break
        shown[name] = shorten(shown[name], max(len(shown[name]) - over, _KEEP))
        text, shortened = template.format_map(shown), True
    return text, shortened


def compose(lines: Sequence[str], limits: Limits) -> tuple[str, bool]:
    """The lines of one screen joined; cut at the end if nothing else made them fit."""
    text = "\n".join(line for line in lines if line)
    if fits(text, limits):
        return text, False
    whole, length = text, len(text)
    while text and not fits(text, limits):
        length -= max(overflow(text, limits), 1)  # a character is at least one unit
        text = shorten(whole, length)
    return text, True


def paginate(entries: Sequence[str], page_fits: Callable[[Sequence[str], bool], bool],
             per_page: int = 9) -> list[tuple[int, int]]:
    """Split numbered entry lines into pages: [(start, end), ...], at least one page.

    `page_fits(lines, more)` says whether a page holding `lines` fits, with the "More" line when
    `more`. Each page takes as many entries as fit; an entry too long to fit even alone gets a
    page of its own (the caller shortens it when it renders).
    """
    pages: list[tuple[int, int]] = []
    start = 0
    while start < len(entries):
        end = start + 1
        while end < len(entries) and end - start < per_page:
            if not page_fits(entries[start:end + 1], end + 1 < len(entries)):
                break
            end += 1
        pages.append((start, end))
        start = end
    return pages or [(0, 0)]
