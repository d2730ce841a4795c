"""The dialogue's contract, h11 style: for any answers and any stored state, a screen or a clean end.

Whatever a phone sends (garbage, navigation at the wrong time, thousands of characters, emoji),
whatever a session row holds (stale, foreign, tampered), and whatever the actions return (long
names, empty lists, a ledger that stops answering halfway), `Menus.advance` returns a `Screen` or an
`End` that fits the channel, and raises nothing.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ussd import menu
from gateway.ussd.menu import Menus
from gateway.ussd.screens import End, Limits, Screen, fits
from gateway.ussd.state import MenuState
from gateway.ussd.testing import GOOD_PIN, FakeActions

TREE = menu.load()
PROPERTY = settings(max_examples=200, deadline=None)

answers = st.one_of(
    st.sampled_from(["0", "00", "98", "7", "9", "", "99", "000", "98765", GOOD_PIN, "0712345678"]),
    st.text(max_size=40),
    st.text(alphabet="0123456789*#", max_size=20),
    st.integers(0, 5000).map(lambda n: "9" * n),
)
names = st.text(min_size=1, max_size=200)
catalogues = st.lists(st.tuples(st.text(alphabet="ABCDEFGHIJ0123456789", min_size=1, max_size=16),
                                names, st.integers(0, 10**12)), max_size=25)


def check(outcome, limits: Limits = TREE.limits):
    state, screen = outcome
    assert isinstance(screen, (Screen, End))
    assert fits(screen.text, limits)
    assert (state is None) == isinstance(screen, End)
    if state is not None:
        assert MenuState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    return state


GOOD = {"msisdn": "0712345678", "item": "RICE5", "quantity": "3", "pin": GOOD_PIN, "reference": "R8K2P"}


def moving_answer(state: MenuState) -> st.SearchStrategy[str]:
    """An answer that takes this screen forward, so examples reach the PIN and confirm screens."""
    spec = TREE.screens[state.screen]
    if spec.input:
        return st.just(GOOD[spec.input])
    count = len(spec.options) if spec.options else max(len(state.shown), 1)
    return st.integers(1, count).map(str)


@PROPERTY
@given(role=st.sampled_from(["member", "agent"]), language=st.sampled_from([*TREE.languages, "xx"]),
       catalogue=st.none() | catalogues, down_at=st.integers(0, 60), data=st.data(),
       limits=st.sampled_from([TREE.limits, Limits(160, 80), Limits(182, 91)]))
def test_any_answers_give_a_screen_or_a_clean_end(role, language, catalogue, down_at, data, limits):
    actions = FakeActions() if catalogue is None else FakeActions(catalogue_items=catalogue)
    menus = Menus(TREE, actions, limits)
    state = check(menus.start("254712345678", role, language, "d"), limits)
    for n in range(data.draw(st.integers(0, 30), label="answers")):
        actions.unavailable = n >= down_at
        if state is None:
            actions.unavailable = False
            state = check(menus.start("254712345678", role, language, "d"), limits)
            continue
        answer = data.draw(st.one_of(moving_answer(state), moving_answer(state), answers), label="answer")
        stored = json.loads(json.dumps(state.to_dict()))
        state = check(menus.advance("254712345678", stored, answer), limits)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@PROPERTY
@given(stored=json_values, answer=answers)
def test_any_stored_state_gives_a_screen_or_a_clean_end(stored, answer):
    check(Menus(TREE, FakeActions()).advance("254712345678", stored, answer))


@PROPERTY
@given(field=st.sampled_from(["role", "language", "screen", "dialogue", "step", "back", "values",
                              "page", "shown"]),
       value=json_values | st.sampled_from(list(TREE.screens)) | st.integers(-2, 2000),
       screen=st.sampled_from(list(TREE.screens)), answer=answers)
def test_a_state_with_any_one_field_changed_gives_a_screen_or_a_clean_end(field, value, screen, answer):
    role = "agent" if screen.startswith("agent") else "member"
    stored = {**MenuState(role, "en", screen, "d").to_dict(), field: value}
    check(Menus(TREE, FakeActions()).advance("254712345678", stored, answer))


@PROPERTY
@given(screen=st.sampled_from(list(TREE.screens)),
       back=st.lists(st.sampled_from([*TREE.screens, "gone", ""]), max_size=5),
       shown=st.lists(st.text(max_size=6), max_size=9), page=st.integers(0, 999),
       answer=st.sampled_from(["0", "00", "98", "1", "2", GOOD_PIN]))
def test_a_state_left_by_another_version_of_the_menus_gives_a_screen_or_a_clean_end(
        screen, back, shown, page, answer):
    stored = {**MenuState("member", "en", screen, "d").to_dict(), "back": back, "shown": shown,
              "page": page}
    check(Menus(TREE, FakeActions()).advance("254712345678", stored, answer))
