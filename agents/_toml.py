"""Reading the operator's agents config files (commission plans, risk limits) as hostile input.

agents/ may not import gateway/, so it has its own small walker rather than gateway/config.py's; the
contract is the same: the first problem stops loading with one line naming the file and the dotted
key, e.g. `commissions.toml: plans[1].categories.airtime.fixed[2].from: expected ...`.
`Table` wraps one TOML table and knows its own key path, so every check reports where it failed.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["AgentConfigError", "Table", "read_toml", "parse_toml"]

_MISSING = object()
_PERCENT = re.compile(r"([0-9]{1,4})(?:\.([0-9]{1,2}))?\s*%")


class AgentConfigError(ValueError):
    """An agents config file cannot be used; `str()` is the one line to show the operator."""

    def __init__(self, source: str, key: str | None, message: str):
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")
        self.source, self.key = source, key


def read_toml(path: str | os.PathLike) -> Table:
    """The top-level table of the TOML file at `path`, or AgentConfigError naming the file."""
    source = os.fspath(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")  # -sig: tolerate a BOM
    except FileNotFoundError:
        raise AgentConfigError(source, None, "file not found") from None
    except UnicodeDecodeError as err:
        raise AgentConfigError(source, None, f"not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise AgentConfigError(source, None, f"cannot read file ({err.strerror or err})") from None
    return parse_toml(text, source)


def parse_toml(text: str, source: str = "<string>") -> Table:
    try:
        return Table(tomllib.loads(text), source, "")
    except tomllib.TOMLDecodeError as err:
        raise AgentConfigError(source, None, f"invalid TOML: {err}") from None


class Table:
    """One TOML table, with the checks the agents config needs; each names its dotted key on failure."""

    def __init__(self, data: dict, source: str, path: str):
        self.data, self.source, self.path = data, source, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str | None, message: str) -> NoReturn:
        raise AgentConfigError(self.source, self.key(name) if name else (self.path or None), message)

    def only(self, known: Iterable[str]) -> None:
        """Refuse keys this table does not define: a misspelt key must not silently mean a default."""
        known = list(known)
        for name in self.data:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f'did you mean "{close[0]}"?' if close else "known keys: " + ", ".join(known)
                self.fail(None, f"unknown key {json.dumps(name, ensure_ascii=False)} ({hint})")

    def _get(self, name: str, default: Any) -> Any:
        value = self.data.get(name, default)
        if value is _MISSING:
            self.fail(name, "required key is missing")
        return value

    def integer(self, name: str, low: int = 0, high: int | None = None, default: Any = _MISSING) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
                high is not None and value > high):
            upper = f" to {high:,}" if high is not None else " or more"
            self.fail(name, f"expected a whole number {low:,}{upper}, got {_show(value)}")
        return value

    def percent(self, name: str, high_bp: int = 10_000, default: Any = _MISSING) -> int:
        """A percentage written as a string such as "2.5%", in basis points (integers: 250)."""
        if name not in self.data and default is not _MISSING:
            return default  # already in basis points
        value = self._get(name, default)
        found = _PERCENT.fullmatch(value.strip()) if isinstance(value, str) else None
        basis_points = int(found[1]) * 100 + int((found[2] or "0").ljust(2, "0")) if found else -1
        if not 0 <= basis_points <= high_bp:
            self.fail(name, f'expected a percentage from "0%" to "{high_bp / 100:g}%" with at most two '
                            f'decimals, such as "2.5%", got {_show(value)}')
        return basis_points

    def text(self, name: str, pattern: str, expect: str, default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            self.fail(name, f"expected {expect}, got {_show(value)}")
        return value

    def date(self, name: str) -> datetime.date:
        value = self._get(name, _MISSING)
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            self.fail(name, f"expected a date such as 2026-01-01 (no quotes), got {_show(value)}")
        return value

    def table(self, name: str, default: Any = _MISSING) -> Table:
        value = self._get(name, default)
        if not isinstance(value, dict):
            self.fail(name, f"expected a table, got {_show(value)}")
        return Table(value, self.source, self.key(name))

    def tables(self, name: str, default: Any = _MISSING) -> list[Table]:
        """An array of tables, [[name]] or `name = [{...}, ...]`, at least one."""
        value = self._get(name, default)
        if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
            self.fail(name, f"expected one or more tables, got {_show(value)}")
        return [Table(item, self.source, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def subtables(self) -> list[tuple[str, Table]]:
        """Every key of this table, each of whose values must itself be a table."""
        return [(name, self.table(name)) for name in self.data]


def _show(value: Any) -> str:
    """A value as the operator wrote it, short."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, list)):
        return json.dumps(value, ensure_ascii=False, default=str)[:80]
    return "nothing" if value is None else str(value)
