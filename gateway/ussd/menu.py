"""USSD menus as a state machine: `load()` the menu file, then `Menus.start` and `Menus.advance`.

Start at `Menus.advance`: (state, what the caller typed) -> (next state, `Screen` or `End`). It is
pure apart from the `Actions` it is given, so the pipeline runs it on a database thread beside the
SMS commands, and tests drive it with a fake. For any state and any text it returns a screen or a
clean end; the only exceptions that leave it are bugs in an `Actions` implementation.

Navigation is the same on every screen, and answers that are not a choice never dead-end:

    1..9   the numbered options of a menu, or the entries of a list page (numbered from 1 per page)
    0      back: the previous page of a list, else the previous screen (on a home, the home again)
    00     home, forgetting what was gathered
    98     the next page of a list
    other  on an input screen, the answer; anywhere else, the same screen again with a short hint

Each answer is one step; a call that changes something gets the key "<dialogue>:<step>", so the
network retrying an answer from the same stored state cannot post twice.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from gateway.ussd.actions import (ACTIONS, LISTS, PUSHED, VALUE_TYPES, Actions, ActionUnavailable,
                                  Caller, Entry)
from gateway.ussd.inputs import KINDS, MAX_ANSWER, fold
from gateway.ussd.render import Painter, check_fits
from gateway.ussd.screens import End, Limits, Screen, compose
from gateway.ussd.state import MAX_BACK, MAX_TEXT, MenuState, StateError
from gateway.ussd.flow import answer_sets, reachable
from gateway.ussd.flow import check as check_flow
from gateway.ussd.tree import MenuError, MenuTree, ScreenSpec, parse

__all__ = ["Menus", "default_menu_path", "dialled_steps", "from_mapping", "load", "loads"]

BACK, HOME, MORE = "0", "00", "98"
MAX_PATH = 8  # answers taken from a dialled shortcut; deeper is not a shortcut anyone types

Outcome = tuple[MenuState | None, Screen | End]


def default_menu_path() -> Path:
    return Path(__file__).resolve().parents[2] / "config" / "ussd.toml"


def load(path: str | os.PathLike | None = None, limits: Limits | None = None) -> MenuTree:
    """Read and check the menu file (None: config/ussd.toml); MenuError names file and key."""
    file = default_menu_path() if path is None else Path(path)
    source = os.fspath(file)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MenuError(f"{source}: not UTF-8 text (bad byte at offset {error.start})", source) from None
    except OSError as error:
        raise MenuError(f"{source}: cannot read the menu file ({error.strerror or error})", source) from None
    return loads(text, source, limits)


def loads(text: str, source: str = "<string>", limits: Limits | None = None) -> MenuTree:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MenuError(f"{source}: invalid TOML: {error}", source) from None
    return from_mapping(data, source, limits)


def from_mapping(data: Mapping, source: str = "<mapping>", limits: Limits | None = None) -> MenuTree:
    """Check a menu document already read: its parts, the ways through it, and that it fits."""
    tree = parse(data, source)
    check_flow(tree)
    check_fits(tree, limits)
    return tree


class Menus:
    """The dialogues of one menu tree on one channel, calling one `Actions`."""

    def __init__(self, tree: MenuTree, actions: Actions, limits: Limits | None = None):
        self.tree, self.actions = tree, actions
        self.limits = limits or tree.limits
        if limits is not None:
            check_fits(tree, limits)
        self._screens_of = {role: reachable(tree, role) for role in tree.homes}

    def bound(self, actions: Actions) -> "Menus":
        """The same menus calling `actions` (one request's, in its transaction), unchecked again."""
        other = copy.copy(self)
        other.actions = actions
        return other

    def start(self, msisdn: str, role: str, language: str | None, dialogue: str,
              path: Sequence[str] = ()) -> Outcome:
        """The home screen for `role`, in `language` when the menus have it.

        `path`: the answers dialled with the code (`*123*2*1#`: "2", "1", see `dialled_steps`),
        taken one by one as if typed; an answer that is not taken stops the walk on the screen
        it was typed at, under its hint, and the rest is ignored.
        """
        if role not in self.tree.homes:
            raise ValueError(f"no menu for role {role!r}")
        if language not in self.tree.languages:
            language = self.tree.default_language
        home = self.tree.homes[role]
        state = MenuState(role, language, home, dialogue[-100:])
        outcome = self._guarded(Caller(msisdn, role, language), state, lambda c: self._show(c, state))
        for answer in path[:MAX_PATH]:
            if outcome[0] is None or outcome[1].hint is not None:
                break
            outcome = self.advance(msisdn, outcome[0], answer)
        return outcome

    def pushed(self, msisdn: str, language: str | None, request: Mapping[str, str | int],
               dialogue: str) -> tuple[MenuState, Screen]:
        """The first screen of a dialogue the gateway starts: the push screen (menus.push) showing
        a shop's request, whose values (`PUSHED`) become the dialogue's. ValueError if the menu
        file has no push screen or a value is missing."""
        if self.tree.push is None:
            raise ValueError("the menu file has no push screen (menus.push)")
        missing = [name for name in PUSHED if not isinstance(
            request.get(name), VALUE_TYPES.get(name, str))]
        if missing:
            raise ValueError(f"a pushed request needs {', '.join(missing)}")
        if language not in self.tree.languages:
            language = self.tree.default_language
        values = _entry_values(Entry(str(request["approval"]), request), PUSHED)  # cut to size
        state = MenuState("member", language, self.tree.push, dialogue[-100:], values=values)
        shown, screen = self._show(Caller(msisdn, "member", language), state)
        assert isinstance(screen, Screen) and shown is not None  # a menu screen calls nothing
        return shown, screen

    def advance(self, msisdn: str, state: MenuState | Mapping, answer: str) -> Outcome:
        """Take one answer. `state` as returned before, or as its `to_dict()` came back from storage."""
        try:
            state = state if isinstance(state, MenuState) else MenuState.from_dict(state)
        except StateError:
            return None, self.end(self.tree.default_language, "expired")
        if not self._fits_tree(state):
            return None, self.end(self.tree.default_language, "expired")
        spec = self.tree.screens[state.screen]
        state = replace(state, step=state.step + 1)
        caller = Caller(msisdn, state.role, state.language)
        return self._guarded(caller, state, lambda c: self._answer(c, state, spec, answer))

    def _fits_tree(self, state: MenuState) -> bool:
        """Whether a stored state belongs to this tree (a row may outlive a change of the file)."""
        screens = self._screens_of.get(state.role, frozenset())
        return (state.language in self.tree.languages and state.screen in screens
                and all(screen in screens for screen in state.back))

    # --- answers --------------------------------------------------------------------------------

    def _answer(self, caller: Caller, state: MenuState, spec: ScreenSpec, answer: str) -> Outcome:
        answer = fold(answer) if isinstance(answer, str) else ""
        if answer == HOME:
            home = self.tree.homes[state.role]
            return self._show(caller, replace(state, screen=home, back=(), values={}, page=0, shown=()))
        if answer == BACK:
            return self._back(caller, state, spec)
        if len(answer) > MAX_ANSWER:
            answer = ""  # not something a keypad sends: shown the hint like any other bad answer
        if spec.kind == "menu":
            return self._chose_option(caller, state, spec, answer)
        if spec.kind == "input":
            return self._answered(caller, state, spec, answer)
        return self._chose_entry(caller, state, spec, answer)

    def _back(self, caller: Caller, state: MenuState, spec: ScreenSpec) -> Outcome:
        if spec.kind == "list" and state.page > 0:
            return self._show(caller, replace(state, page=state.page - 1))
        if not state.back:
            return self._show(caller, replace(state, page=0))
        return self._show(caller, replace(state, screen=state.back[-1], back=state.back[:-1], page=0))

    def _chose_option(self, caller: Caller, state: MenuState, spec: ScreenSpec, answer: str) -> Outcome:
        n = _choice(answer, len(spec.options))
        if n is None:
            return self._show(caller, state, "choice")
        option = spec.options[n - 1]
        if option.goto is not None:
            return self._enter(caller, state, option.goto, {})
        extra = {"language": option.language} if option.language else {}
        return self._call(caller, state, option.action, {**state.values, **extra})

    def _answered(self, caller: Caller, state: MenuState, spec: ScreenSpec, answer: str) -> Outcome:
        kind = spec.input
        value = KINDS[kind].read(answer, self.tree.rules)
        if value is None:
            return self._show(caller, state, kind)
        gained: dict[str, str | int] = {KINDS[kind].sets[0]: value}
        if kind == "item":
            item = self.actions.item(caller, str(value))
            if item is None:
                return self._show(caller, state, "item_unknown")
            gained = _entry_values(item, KINDS[kind].sets)
        if "total" in answer_sets(kind, frozenset(state.values)):
            points = state.values["item_points"]
            gained["total"] = points * int(value) if isinstance(points, int) else 0
        if spec.action is not None:
            return self._call(caller, state, spec.action, {**state.values, **gained})
        return self._enter(caller, state, spec.next, gained)

    def _chose_entry(self, caller: Caller, state: MenuState, spec: ScreenSpec, answer: str) -> Outcome:
        if answer == MORE:
            moved = self._show(caller, replace(state, page=state.page + 1))
            if moved[0] is not None and moved[0].page > state.page:
                return moved
            return self._show(caller, state, "choice")  # already on the last page
        n = _choice(answer, len(state.shown)) if spec.next is not None else None
        if n is None:
            return self._show(caller, state, "choice")
        chosen = state.shown[n - 1]
        entry = next((e for e in LISTS[spec.list].fetch(self.actions, caller) if e.key == chosen), None)
        if entry is None:  # gone since the page was shown (redeemed elsewhere, approved by SMS)
            return self._show(caller, replace(state, page=0), "choice")
        return self._enter(caller, state, spec.next, _entry_values(entry, LISTS[spec.list].fields))

    # --- moving and showing ---------------------------------------------------------------------

    def _enter(self, caller: Caller, state: MenuState, target: str, gained: Mapping) -> Outcome:
        back = (*state.back, state.screen)[-MAX_BACK:]
        values = {**state.values, **gained}
        return self._show(caller, replace(state, screen=target, back=back, values=values, page=0,
                                          shown=()))

    def _show(self, caller: Caller, state: MenuState, hint: str | None = None) -> Outcome:
        spec = self.tree.screens[state.screen]
        painter = Painter(self.tree, state.language, self.limits)
        if spec.kind == "list":
            entries = LISTS[spec.list].fetch(self.actions, caller)
            page = painter.list(spec, state.values, entries, state.page, hint)
            state = replace(state, page=page.page, shown=page.keys)
            return state, Screen(page.text, shortened=page.shortened, hint=hint)
        text, shortened = (painter.menu if spec.kind == "menu" else painter.input)(spec, state.values, hint)
        return state, Screen(text, secret=spec.input == "pin", shortened=shortened, hint=hint)

    def _call(self, caller: Caller, state: MenuState, action: str, values: Mapping) -> Outcome:
        spec = ACTIONS[action]
        if not all(isinstance(values.get(need), VALUE_TYPES.get(need, str)) for need in spec.needs):
            # Only a stale or tampered state gets here: the loader proved every way asks first.
            return None, self.end(state.language, "expired")
        text = spec.call(self.actions, caller, values, f"{state.dialogue}:{state.step}")
        if not text:    # taken, its outcome still to come (the central ledger's): it goes by SMS
            return None, self.end(state.language, "by_sms")
        ended, shortened = compose([text], self.limits)
        return None, End(ended, shortened)

    def _guarded(self, caller: Caller, state: MenuState, run) -> Outcome:
        try:
            return run(caller)
        except ActionUnavailable:
            return None, self.end(state.language, "try_later")

    def end(self, language: str, name: str) -> End:
        """One of the menu file's last screens (tree.END_TEXTS) in `language`.

        For the caller's own endings: "by_sms" when an action outlasts the network's reply budget
        and its result will follow by SMS, "expired" for a session that timed out.
        """
        text, shortened = compose([self.tree.text(name, language)], self.limits)
        return End(text, shortened)


def dialled_steps(dialled: str | None, service: str = "") -> tuple[str, ...]:
    """The menu answers dialled with the service code: `*123*2*1#` -> ("2", "1").

    The code itself is `service` (the address the phone reached, "123", or the aggregator's
    `serviceCode`, "*384*123#") when the dialled string starts with it; otherwise its first part.
    Empty parts (`*123**1#`) are dropped: a keypad slip, not an answer.
    """
    if not isinstance(dialled, str):
        return ()
    parts = dialled.strip().removesuffix("#").removeprefix("*").split("*")
    code = [p for p in service.strip().removesuffix("#").removeprefix("*").split("*") if p]
    rest = parts[len(code):] if code and parts[:len(code)] == code else parts[1:]
    return tuple(part for part in rest if part)[:MAX_PATH]


def _choice(answer: str, count: int) -> int | None:
    """The option number typed, if it is one of 1..count."""
    if not (answer.isascii() and answer.isdigit()) or len(answer) > 2:
        return None
    n = int(answer)
    return n if 1 <= n <= count else None


def _entry_values(entry: Entry, fields: tuple[str, ...]) -> dict[str, str | int]:
    """The values a chosen entry sets: its key as the first field, then the others it carries."""
    values: dict[str, str | int] = {fields[0]: entry.key[:MAX_TEXT]}
    for name in fields[1:]:
        value = entry.values.get(name)
        if isinstance(value, str):
            values[name] = value[:MAX_TEXT]
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
            values[name] = value
    return values
