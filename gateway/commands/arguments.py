"""The words after a keyword, read as typed values by the grammar in config/keywords.toml.

A command's grammar is a list such as ``args = ["msisdn", "item", "qty?", "pin?"]``: each entry
names a type below, ``?`` makes it optional, and ``name:type`` gives it another name (PIN takes
``["pin", "new_pin:pin?"]``). Start at `read()`.

Reading is greedy, left to right, one pass, because members cannot be asked to learn a grammar
that needs backtracking to explain. Each type looks at the next words and says one of three
things: "these are mine" (a value and how many words it took), "not mine" (None: an optional
argument is then skipped, a required one is wrong) or "mine but wrong" (`Invalid`: "0" is shaped
like a quantity but is not one, "12" is shaped like a PIN but too short). That third answer is what
lets a reply name the real problem instead of complaining about a word further on.

Values come out typed: a phone number as E.164 digits in the configured region, a quantity as an
int ("2", "x2", "2x", "×2", "2个"), an item code or reference upper-cased, a language as its code.
PINs and confirmation codes come out as `Secret`, whose repr never shows the digits, so a log line
or a traceback that prints a command cannot leak them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import phonenumbers

from gateway import msisdn
from gateway.commands.tokens import Word, key

MAX_QUANTITY = 999

_ITEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")
_REFERENCE = re.compile(r"[A-Za-z0-9]{4,12}")
_PHONE_PART = re.compile(r"\+?[0-9()\-.]*[0-9][0-9()\-.]*")
_QUANTITY = re.compile(r"(?:[x×*])?([0-9]+)(?:[x×*]|pcs?|个|件|份|袋|包)?", re.IGNORECASE)
_TIMES = ("x", "×", "*")
_DIGITS = re.compile(r"[0-9]+")
_SPEC = re.compile(r"(?:([a-z][a-z0-9_]*):)?([a-z]+)(\?)?")

# Any of these, in any case, after LANG. Exactly the languages that have reply templates (a test
# keeps the two in step), so a member can only choose a language they will be answered in.
LANGUAGE_NAMES: Mapping[str, tuple[str, ...]] = {
    "en": ("EN", "ENG", "ENGLISH", "英文", "英语", "英語", "KIINGEREZA", "ANGLAIS", "INGLES", "INGLÉS"),
    "zh": ("ZH", "CN", "CHINESE", "中文", "汉语", "漢語", "华语", "普通话", "国语", "KICHINA",
           "CHINOIS", "CHINO"),
    "sw": ("SW", "SWA", "SWAHILI", "KISWAHILI", "斯瓦希里语", "SOUAHILI", "SUAJILI"),
    "fr": ("FR", "FRENCH", "FRANCAIS", "FRANÇAIS", "法语", "法文", "KIFARANSA", "FRANCES", "FRANCÉS"),
    "es": ("ES", "SPANISH", "ESPANOL", "ESPAÑOL", "CASTELLANO", "西班牙语", "KIHISPANIA", "ESPAGNOL"),
}
_LANGUAGE_BY_NAME = {key(name): code for code, names in LANGUAGE_NAMES.items() for name in names}


class Secret(str):
    """A PIN or confirmation code: compares and works as the digits, shows as ****."""

    def __repr__(self) -> str:
        return "'****'"


class Invalid(Exception):
    """The words are this type's shape but not a value it accepts."""


@dataclass(frozen=True)
class Context:
    region: str  # for phone numbers written without a country code
    body: str  # the whole message, for free text


Reader = Callable[[Sequence[Word], int, Context], "tuple[object, int] | None"]


@dataclass(frozen=True)
class ArgType:
    read: Reader
    example: Callable[[str], str | None]  # region -> an example value, None: not shown in examples
    secret: bool = False  # never echoed back, never logged


@dataclass(frozen=True)
class ArgSpec:
    name: str  # the key in Command.args
    type: str  # a key of TYPES
    optional: bool

    def __str__(self) -> str:
        named = self.type if self.name == self.type else f"{self.name}:{self.type}"
        return named + ("?" if self.optional else "")


class ArgumentError(Exception):
    """Why the words after a keyword do not fit its grammar."""

    def __init__(self, problem: str, spec: ArgSpec | None, word: str):
        super().__init__(problem)
        self.problem = problem  # "missing", "invalid" or "extra"
        self.spec = spec  # the argument that is missing or wrong; None for "extra"
        self.word = word  # the word as typed; "" when missing or secret


def parse_spec(text: str) -> ArgSpec:
    """``"qty?"`` -> ArgSpec("qty", "qty", True); ValueError naming the problem otherwise."""
    match = _SPEC.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an argument; write a type such as \"item\", \"qty?\" "
                         f"or \"new_pin:pin?\"")
    name, type_, optional = match.groups()
    if type_ not in TYPES:
        raise ValueError(f"{text!r}: unknown type {type_!r}; types are {', '.join(TYPES)}")
    return ArgSpec(name or type_, type_, optional is not None)


def check_grammar(specs: Sequence[ArgSpec]) -> None:
    names = [spec.name for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"argument {name!r} appears twice; name one, as in \"new_{name}:{name}\"")
    if any(spec.type == "text" for spec in specs[:-1]):
        raise ValueError("free text takes the rest of the message, so \"text\" can only be last")


def read(specs: Sequence[ArgSpec], words: Sequence[Word], context: Context) -> dict[str, object]:
    """The typed values of `words` by `specs`; raises ArgumentError when they do not fit."""
    values: dict[str, object] = {}
    at = 0
    for spec in specs:
        found = _read_one(spec, words, at, context)
        if found is None:
            if not spec.optional:
                word = words[at].text if at < len(words) else ""
                problem = "invalid" if word else "missing"
                raise ArgumentError(problem, spec, "" if TYPES[spec.type].secret else word)
            values[spec.name] = None
            continue
        values[spec.name], at = found
    if at < len(words) and specs:
        # A command without arguments ignores what follows ("BAL pls"); one with arguments
        # would be guessing at what a stray word meant. Where a PIN belongs, a stray word may be
        # one, so it is not echoed.
        hidden = any(TYPES[spec.type].secret for spec in specs)
        raise ArgumentError("extra", None, "" if hidden else words[at].text)
    return values


def example(specs: Sequence[ArgSpec], region: str) -> tuple[str, ...]:
    """Example values for the required arguments and the optional ones worth showing."""
    shown = []
    for spec in specs:
        kind = TYPES[spec.type]
        value = kind.example(region)
        if value is not None and (not spec.optional or not kind.secret):
            shown.append(value)
    return tuple(shown)


def _read_one(spec: ArgSpec, words: Sequence[Word], at: int, context: Context):
    if at >= len(words):
        return None
    try:
        return TYPES[spec.type].read(words, at, context)
    except Invalid:
        word = "" if TYPES[spec.type].secret else words[at].text
        raise ArgumentError("invalid", spec, word) from None


# --- the types -----------------------------------------------------------------------------------


def _msisdn(words: Sequence[Word], at: int, context: Context):
    """A phone number, also spread over words as people write it: "0712 345 678"."""
    parts: list[str] = []
    best = None
    for i in range(at, len(words)):
        part = words[i].text
        if not _PHONE_PART.fullmatch(part) or (parts and part.startswith("+")):
            break
        parts.append(part)
        if sum(char.isdigit() for char in "".join(parts)) > 17:
            break
        number = msisdn.normalize("".join(parts), context.region)
        if number is not None:
            best = (number, i + 1)  # the longest run of words that is a number
    if best is None and parts:
        raise Invalid()
    return best


def _item(words: Sequence[Word], at: int, context: Context):
    """A catalogue code such as RICE5: letters and digits, with at least one letter."""
    word = words[at].text
    if _ITEM.fullmatch(word) and any(char.isalpha() for char in word):
        return word.upper(), at + 1
    return None


def _quantity(words: Sequence[Word], at: int, context: Context):
    word = words[at].text
    if word.lower() in _TIMES and at + 1 < len(words) and _DIGITS.fullmatch(words[at + 1].text):
        return _quantity_value(words[at + 1].text), at + 2  # "x 2"
    match = _QUANTITY.fullmatch(word)
    if match is None:
        return None
    digits = match.group(1)
    if match.group() == digits and len(digits) > 3:
        return None  # four bare digits or more are a PIN or a code, not a quantity
    return _quantity_value(digits), at + 1


def _quantity_value(digits: str) -> int:
    value = int(digits) if len(digits) <= 4 else MAX_QUANTITY + 1
    if not 1 <= value <= MAX_QUANTITY:
        raise Invalid()
    return value


def _digits(low: int, high: int) -> Reader:
    """A secret of `low` to `high` digits; other all-digit words are wrong, others not mine."""

    def read_secret(words: Sequence[Word], at: int, context: Context):
        word = words[at].text
        if not _DIGITS.fullmatch(word):
            return None
        if not low <= len(word) <= high:
            raise Invalid()
        return Secret(word), at + 1

    return read_secret


def _reference(words: Sequence[Word], at: int, context: Context):
    """A redemption reference such as R8K2P: letters and digits, both."""
    word = words[at].text
    if _REFERENCE.fullmatch(word) and any(c.isalpha() for c in word) and any(c.isdigit() for c in word):
        return word.upper(), at + 1
    return None


def _language(words: Sequence[Word], at: int, context: Context):
    code = _LANGUAGE_BY_NAME.get(key(words[at].text))
    return None if code is None else (code, at + 1)


def _text(words: Sequence[Word], at: int, context: Context):
    return context.body[words[at].start:], len(words)


def _example_number(region: str) -> str:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return "0712345678"
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(char for char in national if char.isdigit())


TYPES: Mapping[str, ArgType] = {
    "msisdn": ArgType(_msisdn, _example_number),
    "item": ArgType(_item, lambda region: "RICE5"),
    "qty": ArgType(_quantity, lambda region: "2"),
    "pin": ArgType(_digits(4, 6), lambda region: "1234", secret=True),
    "code": ArgType(_digits(4, 8), lambda region: "4821", secret=True),
    "reference": ArgType(_reference, lambda region: "R8K2P"),
    "language": ArgType(_language, lambda region: "EN"),
    "text": ArgType(_text, lambda region: None),
}
