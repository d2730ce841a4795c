"""How one config key is checked: field specs, value parsers, ${ENV} substitution.

gateway/config.py says *which* keys there are (its tables of `_Field`s) and
builds the dataclasses; this module says how a table is walked and how each
value is parsed, so that every problem reads the same way: one line naming
the key, what was expected and what was found (never a secret's value).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from phonenumbers import SUPPORTED_REGIONS
from sqlalchemy.engine import make_url

from gateway import local_days

# --- field specs -------------------------------------------------------------------------------

class _Bad(Exception):
    """A problem. A parser gives a `hint` for "expected ..., got ... (hint)", or the whole
    `message`; the walker adds the `key`, and `loads` the source name."""

    def __init__(self, message: str = "", key: str | None = None, hint: str = ""):
        self.message, self.key, self.hint = message, key, hint


class _FromEnv(str):
    """A string that went through ${...} substitution, so a number-valued key may parse it."""


_REQUIRED = object()


@dataclass(frozen=True)
class _Field:
    key: str                        # as written in the TOML file
    expect: str                     # completes "expected ..." in error messages
    parse: Callable[[Any], Any]     # checks and normalises a value, or raises _Bad
    default: Any = _REQUIRED
    attr: str = ""                  # dataclass attribute, when it differs from key
    secret: bool = False            # never echo the value in an error


def _string(min_len: int = 0, max_len: int | None = None, pattern: str = "",
            ascii_only: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or (pattern and not re.fullmatch(pattern, value)):
            raise _Bad()
        if ascii_only and not all(" " <= c <= "~" for c in value):
            raise _Bad(hint="only printable ASCII is allowed")
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            raise _Bad(hint=f"{len(value)} characters")
        return str(value)
    return parse


def _number(kind: type, low: float, high: float = math.inf, above: bool = False) -> Callable[[Any], Any]:
    """int or float in [low, high] (or (low, high] with above=True); a bool is not a number."""
    def parse(value: Any) -> Any:
        if isinstance(value, _FromEnv):
            try:
                value = kind(value.strip())
            except ValueError:
                raise _Bad() from None
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
            raise _Bad()
        if not math.isfinite(value) or value < low or value > high or (above and value == low):
            raise _Bad()
        return kind(value)
    return parse


def _choice(key: str, options: tuple[str, ...], default: Any = _REQUIRED) -> _Field:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad()
        if value not in options:
            raise _Bad(hint=_did_you_mean(value, options))
        return str(value)
    return _Field(key, "one of " + ", ".join(f'"{o}"' for o in options), parse, default)


def _short_codes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad()
    for code in value:
        if not isinstance(code, str) or not re.fullmatch(r"[0-9]{1,20}", code):
            raise _Bad(hint=f"{_show(code)} is not a quoted string of 1 to 20 digits")
        if value.count(code) > 1:
            raise _Bad(hint=f'"{code}" is listed twice')
    return tuple(str(code) for code in value)


def _region(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad()
    region = value.upper()
    if region not in SUPPORTED_REGIONS:
        guess = {"UK": "GB"}.get(region)  # the one everybody trips on
        raise _Bad(hint=f'did you mean "{guess}"?' if guess else _did_you_mean(region, SUPPORTED_REGIONS))
    return region


def _timezone(value: Any) -> str:
    """An IANA zone name that this machine's tz data (or the tzdata package) knows."""
    if not isinstance(value, str):
        raise _Bad()
    try:
        local_days.zone(value)
    except (ValueError, LookupError, OSError):    # malformed, unknown, a directory such as "Africa"
        raise _Bad(hint=_did_you_mean(value, available_timezones())
                   or "not a zone of the tz database") from None
    return str(value)


def _database_url(value: Any) -> str:
    """A SQLAlchemy URL; a relative SQLite path is pinned to the current directory now."""
    if not isinstance(value, str):
        raise _Bad()
    try:
        url = make_url(value)
    except Exception:  # ArgumentError, ValueError; their text would echo a password
        raise _Bad("expected a database URL such as sqlite:///var/jifen.db or "
                   "postgresql://user:password@host/jifen, and this one cannot be parsed") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise _Bad(f'expected a sqlite:// or postgresql:// URL, got "{url.render_as_string()}"'
                   + _in_parens(_did_you_mean(backend, ("sqlite", "postgresql"))))
    path = url.database or ""
    if backend != "sqlite" or path in ("", ":memory:") or path.startswith("file:") or os.path.isabs(path):
        return str(value)  # not a relative file path, so nothing to pin
    return url.set(database=os.path.abspath(path)).render_as_string(hide_password=False)


def _boolean(value: Any) -> bool:
    if isinstance(value, _FromEnv) and value.strip() in ("true", "false"):
        return value.strip() == "true"
    if not isinstance(value, bool):
        raise _Bad()
    return value


def _addresses(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and re.fullmatch(r"[0-9A-Fa-f.:]{2,45}", v) for v in value):
        raise _Bad()
    return tuple(value)


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[A-Za-z0-9._:\[\]-]+(/\S*)?",
                                                      value):
        raise _Bad()
    return str(value)


def _secret_key(value: Any) -> str:
    if not isinstance(value, str) or 0 < len(value) < 16:
        raise _Bad()
    return str(value)


def _table(data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _Bad(f"expected a [{key}] table, got {_show(value)}", key)
    return value


def _section(table: dict, fields: tuple[_Field, ...], path: str, where: str,
             env: Mapping[str, str]) -> dict[str, Any]:
    """Check one TOML table against its field specs; return dataclass keyword arguments."""
    _reject_unknown(table, [spec.key for spec in fields], where)
    values: dict[str, Any] = {}
    for spec in fields:
        key, value = f"{path}.{spec.key}", table.get(spec.key, spec.default)
        if value is _REQUIRED:
            raise _Bad("required key is missing", key)
        # A default may name an environment variable too (secret_key's does).
        if spec.key in table or isinstance(value, str) and "${" in value:
            try:
                value = _substitute(value, env)
                value = spec.parse(value)
            except _Bad as bad:
                got = f"got {_show(value, spec.secret)}{_in_parens(bad.hint)}"
                raise _Bad(bad.message or f"expected {spec.expect}, {got}", key) from None
        values[spec.attr or spec.key] = value
    return values


def _reject_unknown(table: dict, known: Any, where: str) -> None:
    for key in table:
        if key not in known:
            hint = _did_you_mean(key, known) or "known keys: " + ", ".join(known)
            raise _Bad(f"unknown key {json.dumps(key)} in {where}{_in_parens(hint)}")


_ENV_REF = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")


def _substitute(value: Any, env: Mapping[str, str]) -> Any:
    """Fill ${VAR} and ${VAR:-default} (default also when VAR is empty, as in the shell)."""
    if isinstance(value, list):
        return [_substitute(item, env) for item in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def fill(match: re.Match) -> str:
        name, default = match.groups()
        if match.group() == "$${":
            return "${"
        if name is None:
            raise _Bad('malformed "${" (write ${NAME} or ${NAME:-default}, or $${ for a literal "${")')
        if default is not None:
            return env.get(name) or default
        if name not in env:
            raise _Bad(f"environment variable {name} is not set (set it, or write ${{{name}:-default}})")
        return env[name]

    return _FromEnv(_ENV_REF.sub(fill, value))


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f'did you mean "{close[0]}"?' if close else ""


def _in_parens(hint: str) -> str:
    return f" ({hint})" if hint else ""


def _show(value: Any, secret: bool = False) -> str:
    """A value as the operator wrote it, short, and never a secret."""
    if secret or isinstance(value, dict):
        return "a hidden value" if secret else "a table"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[:80]
    if isinstance(value, list):
        return ("[" + ", ".join(_show(item) for item in value) + "]")[:80]
    return str(value)
