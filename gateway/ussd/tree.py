"""The menu file (config/ussd.toml) as checked, frozen values: `parse()` and `MenuTree`.

Start at `parse()`. Menus are data: screens with titles, numbered options, input prompts and
lists, each leaf naming the action it calls. The structure is written once and every text carries
all the languages beside each other, so a translator sees a screen whole and no language can lose a
screen. The file is hostile input like any other, and the first problem stops start-up with one
line naming the file and the key, e.g.
`config/ussd.toml: screens.member_home.options[1].goto: no screen "member_catlogue" (did you mean
"member_catalogue"?)`.

The ways between screens (every link leads somewhere, every action has what it needs, no role
reaches another's actions) are checked by `flow.check`, and whether each screen fits the phone by
`render.check_fits`; `menu.load` runs all three.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.config import ConfigError
from gateway.ussd.actions import LISTS, ROLES
from gateway.ussd.inputs import KINDS, Rules
from gateway.ussd.screens import Limits, placeholders

__all__ = ["END_TEXTS", "HINTS", "MenuError", "MenuTree", "Option", "Problem", "ScreenSpec", "TEXTS", "parse"]

END_TEXTS = ("expired", "try_later", "by_sms", "answer_by_sms")  # last screens the gateway may need
TEXTS = ("nav", "more", *END_TEXTS)
HINTS = ("choice", "msisdn", "item", "item_unknown", "quantity", "pin", "reference")
MAX_OPTIONS = 9  # one key press each

_SCREEN_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_KIND_KEYS = {
    "menu": ("title", "options"),
    "input": ("input", "prompt", "next", "action"),
    "list": ("list", "title", "entry", "empty", "next"),
}

Text = Mapping[str, str]  # language -> text


class MenuError(ConfigError):
    """The menu file cannot be used; `str()` is one line naming the file and the key."""


@dataclass(frozen=True)
class Option:
    label: Text
    goto: str | None = None
    action: str | None = None
    language: str | None = None  # the argument of set_language


@dataclass(frozen=True)
class ScreenSpec:
    """One screen: a menu (options), an input (prompt, then next screen or action) or a list."""

    id: str
    kind: str
    title: Text  # the prompt of an input screen
    options: tuple[Option, ...] = ()
    input: str | None = None
    list: str | None = None
    entry: Text | None = None
    empty: Text | None = None
    next: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class MenuTree:
    source: str
    languages: tuple[str, ...]
    default_language: str
    limits: Limits
    rules: Rules
    homes: Mapping[str, str]  # role -> screen id
    screens: Mapping[str, ScreenSpec]
    texts: Mapping[str, Text]
    hints: Mapping[str, Text]
    samples: Mapping[str, Mapping[str, str | int]] = field(repr=False)  # language -> name -> value
    push: str | None = None  # the member screen a network-initiated dialogue opens on (menus.push)

    def text(self, name: str, language: str) -> str:
        """A shared text ("expired", "try_later" ...) in `language`, else the default language."""
        texts = self.texts[name]
        return texts.get(language) or texts[self.default_language]

    def constants(self) -> dict[str, int]:
        """The operator's numbers that any text may show, e.g. "1 to {max_quantity}"."""
        return {"max_quantity": self.rules.max_quantity, "pin_min": self.rules.pin_min,
                "pin_max": self.rules.pin_max}


class Problem(Exception):
    """The first problem found, at `key`; parse() and flow.check() make it a MenuError."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message

    def error(self, source: str) -> MenuError:
        return MenuError(f"{source}: {self.key}: {self.message}", source, self.key)


def parse(data: Mapping[str, Any], source: str) -> MenuTree:
    """Check the menu file's TOML document; raise MenuError at the first problem."""
    try:
        return _tree(data, source)
    except Problem as problem:
        raise problem.error(source) from None


def _tree(data: Mapping[str, Any], source: str) -> MenuTree:
    _known(data, ("menus", "text", "hints", "samples", "screens"), "")
    menus = _table(data, "menus", "menus")
    _known(menus, ("languages", "default_language", "home", "push", "limits", "max_quantity",
                   "pin_min", "pin_max"), "menus")
    languages = _languages(menus.get("languages"))
    default = menus.get("default_language", languages[0])
    if default not in languages:
        raise Problem("menus.default_language", f"{show(default)} is not one of menus.languages")
    rules = _rules(menus)
    text_table, hint_table = _table(data, "text", "text"), _table(data, "hints", "hints")
    _known(text_table, TEXTS, "text")
    _known(hint_table, HINTS, "hints")
    texts = {name: _text(text_table.get(name), f"text.{name}", languages) for name in TEXTS}
    hints = {name: _text(hint_table.get(name), f"hints.{name}", languages) for name in HINTS}
    raw_screens = _table(data, "screens", "screens")
    screens = {sid: _screen(sid, table, languages) for sid, table in raw_screens.items()}
    homes = _homes(menus.get("home"), screens)
    push = None if menus.get("push") is None else target(menus["push"], screens, "menus.push")
    if push is not None and screens[push].kind != "menu":
        raise Problem("menus.push", "the push screen is a menu (its options answer the request)")
    return MenuTree(source, languages, default, _limits(menus.get("limits")), rules, homes, screens,
                    texts, hints, _samples(data.get("samples"), languages), push)


# --- the parts of the file ----------------------------------------------------------------------

def _languages(value: Any) -> tuple[str, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and _LANGUAGE.fullmatch(v) for v in value)):
        raise Problem("menus.languages",
                      f'expected a list of language codes such as ["en", "zh"], got {show(value)}')
    if len(set(value)) != len(value):
        raise Problem("menus.languages", "a language is listed twice")
    return tuple(value)


def _rules(menus: Mapping[str, Any]) -> Rules:
    defaults = Rules()
    values = {}
    for name, low, high in (("max_quantity", 1, 999), ("pin_min", 4, 12), ("pin_max", 4, 12)):
        value = menus.get(name, getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Problem(f"menus.{name}", f"expected an integer from {low} to {high}, got {show(value)}")
        values[name] = value
    if values["pin_max"] < values["pin_min"]:
        raise Problem("menus.pin_max", f"must be at least pin_min ({values['pin_min']})")
    return Rules(**values)


def _limits(value: Any) -> Limits:
    if value is None:
        return Limits()
    if not isinstance(value, dict) or set(value) - {"gsm7", "ucs2"}:
        raise Problem("menus.limits", f"expected {{ gsm7 = 182, ucs2 = 80 }}, got {show(value)}")
    try:
        return Limits.checked(value.get("gsm7", 182), value.get("ucs2", 80))
    except ValueError as error:
        raise Problem("menus.limits", str(error)) from None


def _homes(value: Any, screens: Mapping[str, ScreenSpec]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Problem("menus.home",
                      f'expected {{ member = "member_home", agent = "agent_home" }}, got {show(value)}')
    _known(value, ROLES, "menus.home")
    for role in ROLES:
        target(value.get(role), screens, f"menus.home.{role}")
    return {role: value[role] for role in ROLES}


def _samples(value: Any, languages: tuple[str, ...]) -> dict[str, dict[str, str | int]]:
    """[samples] values for every language, with [samples.<language>] overriding them."""
    if not isinstance(value, dict):
        raise Problem("samples", "expected a [samples] table of realistic values, to check screens fit")
    common = {}
    for name, sample in value.items():
        if isinstance(sample, dict):
            if name not in languages:
                raise Problem(f"samples.{name}", "a table here must be named after one of menus.languages")
        elif isinstance(sample, bool) or not isinstance(sample, (str, int)):
            raise Problem(f"samples.{name}", f"expected a string or an integer, got {show(sample)}")
        else:
            common[name] = sample
    return {language: {**common, **value.get(language, {})} for language in languages}


def _screen(sid: str, table: Any, languages: tuple[str, ...]) -> ScreenSpec:
    key = f"screens.{sid}"
    if not _SCREEN_ID.fullmatch(sid):
        raise Problem(key, "a screen id is lower-case letters, digits and _, at most 40")
    if not isinstance(table, dict):
        raise Problem(key, f"expected a [{key}] table, got {show(table)}")
    kinds = [kind for kind, keys in (("menu", "options"), ("input", "input"), ("list", "list"))
             if keys in table]
    if len(kinds) != 1:
        raise Problem(key, "a screen has exactly one of options (a menu), input or list")
    kind = kinds[0]
    _known(table, _KIND_KEYS[kind], key)
    title_key = "prompt" if kind == "input" else "title"
    spec = ScreenSpec(sid, kind, _text(table.get(title_key), f"{key}.{title_key}", languages),
                      next=_optional_str(table, "next", key), action=_optional_str(table, "action", key))
    if kind == "menu":
        return replace(spec, options=_options(table["options"], key, languages))
    if kind == "input":
        return replace(spec, input=choice(table["input"], KINDS, f"{key}.input"))
    return replace(spec, list=choice(table["list"], LISTS, f"{key}.list"),
                 entry=_text(table.get("entry"), f"{key}.entry", languages),
                 empty=_text(table.get("empty"), f"{key}.empty", languages))


def _options(value: Any, key: str, languages: tuple[str, ...]) -> tuple[Option, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_OPTIONS:
        raise Problem(f"{key}.options", f"expected a list of 1 to {MAX_OPTIONS} options, got {show(value)}")
    options = []
    for n, item in enumerate(value):
        where = f"{key}.options[{n}]"
        if not isinstance(item, dict):
            raise Problem(where, f'expected {{ label = ..., goto = "screen" }}, got {show(item)}')
        _known(item, ("label", "goto", "action", "language"), where)
        option = Option(_text(item.get("label"), f"{where}.label", languages),
                        _optional_str(item, "goto", where), _optional_str(item, "action", where),
                        _optional_str(item, "language", where))
        if (option.goto is None) == (option.action is None):
            raise Problem(where, "an option has exactly one of goto (a screen) or action")
        if (option.action == "set_language") != (option.language is not None):
            raise Problem(where, "language goes with action = \"set_language\", and only there")
        if option.language is not None and option.language not in languages:
            raise Problem(f"{where}.language", f"{show(option.language)} is not one of menus.languages")
        options.append(option)
    return tuple(options)


def _text(value: Any, key: str, languages: tuple[str, ...]) -> Text:
    """A text in every language: one string for all, or { en = "...", zh = "..." }."""
    if value is None:
        raise Problem(key, "required key is missing")
    if isinstance(value, str):
        value = dict.fromkeys(languages, value)
    if not isinstance(value, dict):
        raise Problem(key, "expected a text: a string, or a table of one string per language, "
                           f"got {show(value)}")
    _known(value, languages, key)
    for language in languages:
        if language not in value:
            raise Problem(f"{key}.{language}", "no text in this language")
        text = value[language]
        if not isinstance(text, str) or not text.strip() or _has_controls(text):
            raise Problem(f"{key}.{language}", f"expected a non-empty line of text, got {show(text)}")
        try:
            placeholders(text)
        except ValueError as error:
            raise Problem(f"{key}.{language}", str(error)) from None
    return {language: value[language] for language in languages}


# --- small checks -------------------------------------------------------------------------------

def _table(data: Mapping[str, Any], name: str, key: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise Problem(key, f"expected a [{key}] table, got {show(value)}")
    return value


def _known(table: Mapping[str, Any], known: Any, where: str) -> None:
    for name in table:
        if name not in known:
            hint = did_you_mean(name, known) or " (known: " + ", ".join(known) + ")"
            raise Problem(f"{where}.{name}" if where else name, f"unknown key{hint}")


def _optional_str(table: Mapping[str, Any], name: str, where: str) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise Problem(f"{where}.{name}", f"expected a string, got {show(value)}")
    return value


def target(value: Any, screens: Mapping[str, Any], key: str) -> str:
    if value is None:
        raise Problem(key, "required key is missing")
    if not isinstance(value, str) or value not in screens:
        raise Problem(key, f"no screen {show(value)}" + did_you_mean(str(value), screens))
    return value


def choice(value: Any, options: Mapping[str, Any], key: str) -> str:
    if not isinstance(value, str) or value not in options:
        hint = did_you_mean(str(value), options) or " (known: " + ", ".join(options) + ")"
        raise Problem(key, f"unknown {key.rsplit('.', 1)[-1]} {show(value)}{hint}")
    return value


def _has_controls(text: str) -> bool:
    return any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in text)


def did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return repr(value)[:60]
