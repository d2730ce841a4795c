"""Where a USSD dialogue stands between two answers: `MenuState`, a small value kept as JSON.

A dialogue outlives the request that moved it: the state is stored in a database row between
answers, and the next answer may reach another gateway process. So it is plain data (`to_dict` /
`from_dict`, JSON-safe), and `from_dict` treats what it reads as hostile, since a row may be
stale, from an older release, or tampered with: anything unexpected is a `StateError`, which the
menu answers with "dial again", never a traceback.

What it holds is enough to show the screen again and go back: the screen, the way back, the values
gathered so far (item, quantity, the member's number ...), and the list page. A PIN is never among
them (see inputs.py), and `repr()` names the values without showing them, so a state in a log line
says where the dialogue is without saying what anyone typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BACK", "MAX_TEXT", "MenuState", "StateError"]

VERSION = 1
MAX_BACK = 16  # screens remembered for "0 Back"; menus deeper than this lose the oldest
_MAX_VALUES = 16
MAX_TEXT = 64  # a value longer than this is cut before it is kept
_MAX_KEY = 100  # the dialogue id: vendor session id and phone number


class StateError(ValueError):
    """A stored state that cannot be read; the dialogue cannot go on from it."""


@dataclass(frozen=True)
class MenuState:
    role: str
    language: str
    screen: str
    dialogue: str  # the caller's id for the dialogue; idempotency keys are built from it
    step: int = 0  # answers taken so far; with `dialogue`, keys a retried answer to the same call
    back: tuple[str, ...] = ()
    values: Mapping[str, str | int] = field(default_factory=dict)
    page: int = 0  # on a list screen, the page shown
    shown: tuple[str, ...] = ()  # on a list screen, the keys of the entries shown, by number

    def __repr__(self) -> str:
        return (f"MenuState(role={self.role!r}, language={self.language!r}, screen={self.screen!r}, "
                f"step={self.step}, back={list(self.back)!r}, values={sorted(self.values)!r}, "
                f"page={self.page})")

    def to_dict(self) -> dict[str, Any]:
        return {"v": VERSION, "role": self.role, "language": self.language, "screen": self.screen,
                "dialogue": self.dialogue, "step": self.step, "back": list(self.back),
                "values": dict(self.values), "page": self.page, "shown": list(self.shown)}

    @classmethod
    def from_dict(cls, data: Any) -> MenuState:
        if not isinstance(data, Mapping) or data.get("v") != VERSION:
            raise StateError("not a menu state of this version")
        if set(data) != {"v", "role", "language", "screen", "dialogue", "step", "back", "values",
                         "page", "shown"}:
            raise StateError("unexpected or missing fields")
        return cls(
            role=_text(data["role"]), language=_text(data["language"]), screen=_text(data["screen"]),
            dialogue=_text(data["dialogue"], _MAX_KEY), step=_count(data["step"], 2**31),
            back=_texts(data["back"], MAX_BACK), values=_values(data["values"]),
            page=_count(data["page"], 1000), shown=_texts(data["shown"], 9),
        )


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise StateError("a field is not a short string")
    return value


def _count(value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise StateError("a field is not a small count")
    return value


def _texts(value: Any, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > limit:
        raise StateError("a field is not a short list")
    return tuple(_text(item) for item in value)


def _values(value: Any) -> dict[str, str | int]:
    if not isinstance(value, Mapping) or len(value) > _MAX_VALUES or "pin" in value:
        raise StateError("values are not a small table")
    checked: dict[str, str | int] = {}
    for name, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int)) or (
                isinstance(item, int) and abs(item) >= 2**53):
            raise StateError("a value is neither text nor a number JSON keeps exactly")
        checked[_text(name)] = _text(item) if isinstance(item, str) else item
    return checked
