"""Dialled shortcuts: `*123*2*1#` lands where pressing 2 then 1 would, and a bad step stops there.

`dialled_steps` reads the answers out of what the phone dialled (SMPP) and `Callback.shortcut` out
of the aggregator's first `text` (HTTP); `Menus.start(path=...)` takes them as typed answers.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ussd import menu
from gateway.ussd.http import Callback
from gateway.ussd.menu import Menus, dialled_steps
from gateway.ussd.screens import End
from gateway.ussd.testing import FakeActions

TREE = menu.load()
MEMBER = "254712345678"


@pytest.mark.parametrize(("dialled", "service", "steps"), [
    ("*123#", "123", ()),
    ("*123*2*1#", "123", ("2", "1")),
    ("*123*2*1", "123", ("2", "1")),            # no # (some networks strip it)
    (" *123*5# ", "123", ("5",)),
    ("*123**1#", "123", ("1",)),               # an empty part is a slip, not an answer
    ("*384*123*2*1#", "*384*123#", ("2", "1")),  # a code of two parts
    ("*384*123*2#", "384", ("123", "2")),      # reached as 384: the rest is the path
    ("*500*2#", "123", ("2",)),                # another code: its first part is the code
    ("", "123", ()),
    (None, "123", ()),
    ("*123" + "*1" * 20 + "#", "123", ("1",) * menu.MAX_PATH),
])
def test_dialled_steps(dialled, service, steps):
    assert dialled_steps(dialled, service) == steps


def test_the_aggregators_first_text_is_the_shortcut():
    assert Callback("s", "*384*123#", "+254712345678", "2*1").shortcut() == ("2", "1")
    assert Callback("s", "*384*123#", "+254712345678", "").shortcut() == ()


def pressed(menus, answers, language="en"):
    state, screen = menus.start(MEMBER, "member", language, "d")
    for answer in answers:
        state, screen = menus.advance(MEMBER, state, answer)
    return state, screen


@pytest.mark.parametrize("path", [("2",), ("2", "1"), ("3", "RICE5"), ("3", "RICE5", "2"),
                                  ("5", "1"), ("6",), ("4", "98")])
def test_a_shortcut_lands_where_pressing_the_keys_would(path):
    menus = Menus(TREE, FakeActions())
    expected_state, expected = pressed(menus, path)
    state, screen = menus.start(MEMBER, "member", "en", "d", path)
    assert screen == expected
    assert state == expected_state


def test_a_shortcut_to_an_action_runs_it_once_with_the_keys_step():
    actions = FakeActions()
    state, screen = Menus(TREE, actions).start(MEMBER, "member", "en", "d", ("3", "RICE5", "2", "1234"))
    assert state is None and isinstance(screen, End)
    assert actions.calls == [("redeem", MEMBER, "RICE5", 2, "1234", "d:4")]


@pytest.mark.parametrize(("path", "stops_on"), [
    (("9", "1"), "member_home"),               # no option 9: the home under the hint
    (("2", "x", "1"), "member_catalogue"),     # the second step is wrong
    (("3", "NOSUCH", "2"), "member_redeem_item"),
    (("3", "RICE5", "0x", "1234"), "member_redeem_quantity"),
])
def test_a_wrong_step_stops_on_its_screen_with_the_hint(path, stops_on):
    actions = FakeActions()
    state, screen = Menus(TREE, actions).start(MEMBER, "member", "en", "d", path)
    assert state.screen == stops_on
    assert screen.hint is not None and screen.text.startswith(
        TREE.hints[screen.hint]["en"].split("{")[0])
    assert actions.calls == []                 # nothing after the wrong step was taken


def test_a_pin_typed_in_a_shortcut_is_not_kept():
    state, screen = Menus(TREE, FakeActions()).start(MEMBER, "member", "en", "d",
                                                     ("3", "RICE5", "2", "12"))
    assert state.screen == "member_redeem_pin" and screen.secret and screen.hint == "pin"
    assert "12" not in str(state.to_dict()["values"].values())


_STEPS = st.lists(st.sampled_from(["1", "2", "3", "4", "5", "6", "9", "0", "00", "98", "x",
                                   "RICE5", "20", "1234"]), max_size=menu.MAX_PATH)


@settings(max_examples=200, deadline=None)
@given(path=_STEPS, language=st.sampled_from(TREE.languages))
def test_any_shortcut_is_the_keys_pressed_up_to_the_first_answer_not_taken(path, language):
    by_keys = FakeActions()
    keys = Menus(TREE, by_keys)
    state, screen = keys.start(MEMBER, "member", language, "d")
    for answer in path:
        if state is None or screen.hint is not None:
            break
        state, screen = keys.advance(MEMBER, state, answer)
    dialled = FakeActions()
    assert Menus(TREE, dialled).start(MEMBER, "member", language, "d", tuple(path)) == (state, screen)
    assert dialled.calls == by_keys.calls
