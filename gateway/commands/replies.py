"""Reply templates per language, and the arithmetic that keeps each reply to one SMS.

Start at `render()`. Templates are whole sentences keyed by (name, language), written one module
per language in locales/, so a translator sees each reply complete; a unit test checks that every
language has every template and that each, rendered with realistic values, fits. Numbers are
written with the digit grouping of the reply's language ("1,350", "1 350", "1.350").

One SMS holds 160 characters of the GSM 7-bit alphabet, or 70 UTF-16 units once any other
character (any Chinese) forces UCS-2. A reply that spills over becomes two billed parts, so the
only unbounded values, the sender's own words echoed back ("we did not understand ..."), are cut
to fit.
`gateway/smpp/text.py` does the real encoding; the small count here is kept separate on purpose,
because commands/ and smpp/ do not know each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

from gateway.commands.locales import LOCALES

FALLBACK_LANGUAGE = "en"
ECHO_LIMIT = 20  # characters of an unknown message echoed back

TEMPLATES: dict[tuple[str, str], str] = {
    (name, language): text
    for language, locale in LOCALES.items()
    for name, text in locale.TEMPLATES.items()
}

# A template may have a variant for values that would read badly in the general sentence.
_VARIANTS: dict[str, tuple[Callable[[Mapping[str, object]], bool], str]] = {
    "balance": (lambda values: values.get("on_hold") == 0, "balance.no_hold"),
    "not_understood": (lambda values: values.get("text") == "", "not_understood.empty"),
    "args.extra": (lambda values: values.get("text") == "", "args.extra.hidden"),
}
# template -> the value cut down to fit: words the sender typed, which may be any length
_ECHOED = {"not_understood": "text", "args.invalid": "text", "args.extra": "text"}

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")  # two septets each: an escape, then the character
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


# Worked out once: dispatch asks for every reply, and TEMPLATES never changes after import.
_LANGUAGES: tuple[str, ...] = tuple(dict.fromkeys(language for _, language in TEMPLATES))


def languages() -> tuple[str, ...]:
    return _LANGUAGES


def render(name: str, language: str, **values: object) -> str:
    """Fill template `name` in `language`; ints get digit grouping ("1,350").

    Raises KeyError for a template or language that does not exist: that is a bug in the caller,
    which should choose among `languages()`.
    """
    echoed = _ECHOED.get(name)
    if echoed is not None:
        values[echoed] = _printable(str(values.get(echoed, "")))
    name = _variant(name, values)
    template = TEMPLATES[(name, language)]
    shown = {key: _format(value, language) for key, value in values.items()}
    if echoed is None or "{" + echoed + "}" not in template:
        return template.format_map(shown)
    return _fit_echo(template, echoed, shown)


def menu(language: str, keywords: Mapping[str, str]) -> str:
    """"BAL for your balance, HELP for help" from {command: keyword to show}, in that order.

    Commands without a menu entry in `language` are left out: a keyword the operator configured
    before its handler or its translation exists is not something to advertise.
    """
    entries = [
        TEMPLATES[(f"menu.{command}", language)].format(keyword=keyword)
        for command, keyword in keywords.items()
        if (f"menu.{command}", language) in TEMPLATES
    ]
    return TEMPLATES[("menu.separator", language)].join(entries)


def sms_length(text: str) -> tuple[int, int]:
    """(units used, units in one SMS) for `text` in the encoding it would be sent in."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        return len(text) + sum(char in _GSM_EXTENDED for char in text), 160
    return len(text.encode("utf-16-le", "surrogatepass")) // 2, 70


def fits(text: str) -> bool:
    used, limit = sms_length(text)
    return used <= limit


def is_gsm(text: str) -> bool:
    return sms_length(text)[1] == 160


def _variant(name: str, values: Mapping[str, object]) -> str:
    rule = _VARIANTS.get(name)
    if rule is not None and rule[0](values):
        return rule[1]
    return name


def _format(value: object, language: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", LOCALES[language].THOUSANDS)
    return str(value)


def _printable(text: str) -> str:
    """Drop control and invisible characters and collapse whitespace before echoing text back."""
    kept = "".join(" " if char.isspace() else char for char in text)
    kept = "".join(char for char in kept if unicodedata.category(char) not in _UNPRINTABLE)
    return re.sub(r" +", " ", kept).strip()


def _fit_echo(template: str, field: str, values: dict[str, str]) -> str:
    """Render with the echoed value shortened until the reply fits one SMS."""
    echo = values[field]
    gsm_template = is_gsm(template.format_map({**values, field: ""}))
    if gsm_template:
        # One emoji would turn a 160-character reply into a 70-character one: keep the alphabet.
        echo = "".join(char if is_gsm(char) else "?" for char in echo)
    ellipsis = "..." if gsm_template else "…"
    for limit in range(ECHO_LIMIT, -1, -1):
        shortened = echo if len(echo) <= limit else echo[: max(limit - len(ellipsis), 0)] + ellipsis
        text = template.format_map({**values, field: shortened})
        if fits(text):
            return text
    return template.format_map({**values, field: ""})
