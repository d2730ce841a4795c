"""Reply templates per language, and the arithmetic that keeps each reply to one SMS.

Start at `render()`. Templates are whole sentences keyed by (name, language), so a translator sees
each reply complete and adding a language means adding one block of entries; a unit test checks
that every language has every template and that each, rendered with realistic values, fits.

One SMS holds 160 characters of the GSM 7-bit alphabet, or 70 UTF-16 units once any other
character (any Chinese) forces UCS-2. A reply that spills over becomes two billed parts, so the
only unbounded value, the echoed text of a message we did not understand, is cut to fit.
`gateway/smpp/text.py` does the real encoding; the small count here is kept separate on purpose,
because commands/ and smpp/ do not know each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

FALLBACK_LANGUAGE = "en"
ECHO_LIMIT = 20  # characters of an unknown message echoed back

TEMPLATES: dict[tuple[str, str], str] = {
    ("balance", "en"): "Jifen: your balance is {available} pts ({on_hold} on hold).",
    ("balance.no_hold", "en"): "Jifen: your balance is {available} pts.",
    ("help", "en"): "Jifen: send {menu}.",
    ("menu.BAL", "en"): "{keyword} for your balance",
    ("menu.HELP", "en"): "{keyword} for help",
    ("menu.separator", "en"): ", ",
    ("not_understood", "en"): 'Sorry, we did not understand "{text}". Send {bal} for your balance or {help} for help.',
    ("not_understood.empty", "en"): "Sorry, your message was empty. Send {bal} for your balance or {help} for help.",
    ("not_member", "en"): "This number is not registered with Jifen Rewards. Ask at any Jifen partner shop to join.",
    ("try_later", "en"): "Sorry, the service is busy. Please try again in a few minutes.",
    ("balance", "zh"): "积分余额：{available}分（冻结{on_hold}分）。",
    ("balance.no_hold", "zh"): "积分余额：{available}分。",
    ("help", "zh"): "积分：发送 {menu}。",
    ("menu.BAL", "zh"): "{keyword} 查询积分",
    ("menu.HELP", "zh"): "{keyword} 获取帮助",
    ("menu.separator", "zh"): "，",
    ("not_understood", "zh"): "抱歉，无法识别“{text}”。发送 {bal} 查询积分，{help} 获取帮助。",
    ("not_understood.empty", "zh"): "抱歉，您发送的短信为空。发送 {bal} 查询积分，{help} 获取帮助。",
    ("not_member", "zh"): "本号码尚未加入积分奖励计划。请到任一积分合作商店办理加入。",
    ("try_later", "zh"): "抱歉，服务繁忙，请几分钟后再试。",
}

# A template may have a variant for values that would read badly in the general sentence.
_VARIANTS: dict[str, tuple[Callable[[Mapping[str, object]], bool], str]] = {
    "balance": (lambda values: values.get("on_hold") == 0, "balance.no_hold"),
    "not_understood": (lambda values: values.get("text") == "", "not_understood.empty"),
}
_ECHOED = {"not_understood": "text"}  # template -> the value cut down to fit

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")  # two septets each: an escape, then the character
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def languages() -> tuple[str, ...]:
    return tuple(dict.fromkeys(language for _, language in TEMPLATES))


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
    shown = {key: _format(value) for key, value in values.items()}
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


def _format(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
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
