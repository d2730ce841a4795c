"""The ways through the menu file: every link leads somewhere, every leaf has what it needs.

Start at `check()`. It follows every way from each role's home (`_gathered`) to learn which values
the dialogue has surely asked for on arriving at each screen (the values some ways gather and others
do not count as missing), and then refuses, naming the key:

- a goto or next that names no screen, an action or list that does not exist;
- a screen no way leads to (usually a typo in a goto);
- an action or list of one role reachable from the other role's home;
- an action reached without the values it needs ("redeem" without a quantity);
- a {name} in a text that is not known on that screen, or has no sample to check the fit;
- a PIN screen that leads on to another screen instead of straight to its action.

So a mistake in the menu file is one line at start-up rather than a dialogue that breaks on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gateway.ussd.actions import ACTIONS, LISTS, PUSHED
from gateway.ussd.inputs import KINDS
from gateway.ussd.screens import placeholders
from gateway.ussd.tree import MenuTree, Problem, ScreenSpec, Text, choice, did_you_mean, target

__all__ = ["answer_sets", "check", "reachable"]


def check(tree: MenuTree) -> None:
    """Raise MenuError at the first problem with the ways through `tree`."""
    try:
        _check(tree)
    except Problem as problem:
        raise problem.error(tree.source) from None


def reachable(tree: MenuTree, role: str) -> frozenset[str]:
    """The screens a caller in `role` can reach from its home (members: or from the push screen)."""
    return frozenset(_gathered(tree.screens, _entries(tree, role)))


def _entries(tree: MenuTree, role: str | None = None) -> dict[str, frozenset[str]]:
    """Where dialogues begin, with the values known there: each home, and the push screen, which
    a pushed dialogue opens with the shop's request (`PUSHED`) and which belongs to members."""
    entries = {home: frozenset() for who, home in tree.homes.items() if role in (None, who)}
    if tree.push is not None and role in (None, "member"):
        entries[tree.push] = entries.get(tree.push, frozenset(PUSHED)) & frozenset(PUSHED)
    return entries


def _check(tree: MenuTree) -> None:
    for spec in tree.screens.values():
        _check_links(spec, tree.screens)
    gathered = _gathered(tree.screens, _entries(tree))
    _check_reachable(tree, gathered)
    _check_roles(tree)
    for spec in tree.screens.values():
        _check_needs(spec, gathered[spec.id])
        _check_templates(tree, spec, gathered[spec.id])
    for group, table in (("text", tree.texts), ("hints", tree.hints)):
        for name, text in table.items():
            _check_placeholders(tree, text, f"{group}.{name}", frozenset())


def _check_links(spec: ScreenSpec, screens: Mapping[str, ScreenSpec]) -> None:
    key = f"screens.{spec.id}"
    for n, option in enumerate(spec.options):
        if option.goto is not None:
            target(option.goto, screens, f"{key}.options[{n}].goto")
        else:
            choice(option.action, ACTIONS, f"{key}.options[{n}].action")
    if spec.kind == "input" and (spec.next is None) == (spec.action is None):
        raise Problem(key, "an input screen has exactly one of next (a screen) or action")
    if spec.input == "pin" and spec.next is not None:
        raise Problem(f"{key}.next", "a PIN goes straight to its action and is never kept in "
                                     "the dialogue: give this screen an action instead of next")
    if spec.next is not None:
        target(spec.next, screens, f"{key}.next")
    if spec.action is not None:
        choice(spec.action, ACTIONS, f"{key}.action")


def _edges(spec: ScreenSpec, have: frozenset[str]) -> Iterator[tuple[str, frozenset[str]]]:
    """(screen reached, values gathered on the way) for each way out of `spec`."""
    for option in spec.options:
        if option.goto is not None:
            yield option.goto, frozenset()
    if spec.next is not None and spec.input is not None:
        yield spec.next, answer_sets(spec.input, have)
    if spec.next is not None and spec.list is not None:
        yield spec.next, frozenset(LISTS[spec.list].fields)


def answer_sets(kind: str, have: frozenset[str]) -> frozenset[str]:
    """The values an accepted answer of `kind` sets, given the values already gathered."""
    sets = set(KINDS[kind].sets)
    if kind == "quantity" and "item_points" in have:
        sets.add("total")
    return frozenset(sets)


def _gathered(screens: Mapping[str, ScreenSpec],
              entries: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """For each reachable screen, the values gathered on every way from an entry to it."""
    have: dict[str, frozenset[str]] = dict(entries)
    work = list(have)
    while work:
        sid = work.pop()
        for reached, gained in _edges(screens[sid], have[sid]):
            arriving = have[sid] | gained
            narrowed = have[reached] & arriving if reached in have else arriving
            if have.get(reached) != narrowed:
                have[reached] = narrowed
                work.append(reached)
    return have


def _check_reachable(tree: MenuTree, gathered: Mapping[str, frozenset[str]]) -> None:
    for sid in tree.screens:
        if sid not in gathered:
            raise Problem(f"screens.{sid}", "no way leads here from a home screen (menus.home) "
                                            "or the push screen (menus.push)")


def _check_roles(tree: MenuTree) -> None:
    for role, home in tree.homes.items():
        if role == "member" and tree.push is not None:
            home = f"{home} or {tree.push}"
        for sid in sorted(reachable(tree, role)):
            for where, name, specs in _calls(tree.screens[sid]):
                if role not in specs[name].roles:
                    raise Problem(f"screens.{sid}{where}",
                                  f'"{name}" is not for the {role} menu ({role}s reach this screen '
                                  f"from {home})")


def _calls(spec: ScreenSpec) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for n, option in enumerate(spec.options):
        if option.action is not None:
            yield f".options[{n}].action", option.action, ACTIONS
    if spec.action is not None:
        yield ".action", spec.action, ACTIONS
    if spec.list is not None:
        yield ".list", spec.list, LISTS


def _check_needs(spec: ScreenSpec, have: frozenset[str]) -> None:
    leaves = [(f".options[{n}].action", o.action, {"language"} if o.language else set())
              for n, o in enumerate(spec.options) if o.action is not None]
    if spec.action is not None and spec.input is not None:
        leaves.append((".action", spec.action, answer_sets(spec.input, have)))
    for where, action, gained in leaves:
        missing = [need for need in ACTIONS[action].needs if need not in have | gained]
        if missing:
            raise Problem(f"screens.{spec.id}{where}",
                          f'"{action}" needs {", ".join(missing)}, which not every way to this '
                          "screen asks for")


def _check_templates(tree: MenuTree, spec: ScreenSpec, have: frozenset[str]) -> None:
    key = f"screens.{spec.id}"
    _check_placeholders(tree, spec.title, f"{key}.{'prompt' if spec.kind == 'input' else 'title'}", have)
    for n, option in enumerate(spec.options):
        _check_placeholders(tree, option.label, f"{key}.options[{n}].label", have)
    if spec.list is not None:
        _check_placeholders(tree, spec.entry, f"{key}.entry", frozenset(LISTS[spec.list].fields))
        _check_placeholders(tree, spec.empty, f"{key}.empty", have)


def _check_placeholders(tree: MenuTree, text: Text | None, key: str, have: frozenset[str]) -> None:
    for language, template in (text or {}).items():
        for name in placeholders(template):
            if name in tree.constants():
                continue
            if name not in have:
                raise Problem(f"{key}.{language}", f"{{{name}}} is not known on this screen"
                              + did_you_mean(name, have | set(tree.constants())))
            if name not in tree.samples[language]:
                raise Problem(f"{key}.{language}",
                              f"{{{name}}} has no realistic value in [samples], to check the screen fits")
