"""screens.py: counting in the network's units, fitting, shortening and paging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp import text as smpp_text
from gateway.ussd.screens import (
    DEFAULT_LIMITS,
    Limits,
    compose,
    fill,
    fits,
    overflow,
    paginate,
    placeholders,
    shorten,
    units,
)

FAST = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize("text, expected", [
    ("Balance 1,350 pts", (17, True)),
    ("€[]{}", (10, True)),                    # extension characters: an escape and the character
    ("Ça coûte 5 €", (12, False)),           # "û" is not GSM-7, so the whole text goes as UCS-2
    ("积分余额", (4, False)),
    ("ok 😀", (5, False)),                    # outside the BMP: a surrogate pair, two units
    ("", (0, True)),
])
def test_units_are_what_the_network_counts(text, expected):
    assert units(text) == expected


@FAST
@given(st.text(max_size=50))
def test_the_gsm_count_agrees_with_the_smpp_encoder(text):
    used, gsm = units(text)
    assert gsm == smpp_text.is_gsm7(text)
    if gsm:
        assert used == smpp_text.gsm7_length(text)
    else:
        assert used == len(text.encode("utf-16-be", "surrogatepass")) // 2


def test_the_budget_is_182_gsm7_or_80_ucs2_characters_by_default():
    assert fits("a" * 182, DEFAULT_LIMITS) and not fits("a" * 183, DEFAULT_LIMITS)
    assert fits("€" * 91, DEFAULT_LIMITS) and not fits("€" * 91 + "a", DEFAULT_LIMITS)
    assert fits("积" * 80, DEFAULT_LIMITS) and not fits("积" * 81, DEFAULT_LIMITS)
    assert overflow("a" * 190, DEFAULT_LIMITS) == 8


def test_a_channel_sets_its_own_budget_within_what_ussd_can_carry():
    assert not fits("a" * 161, Limits.checked(160, 70))
    for bad in ((183, 80), (160, 92), (10, 80), ("182", 80), (True, 80)):
        with pytest.raises(ValueError, match="USSD limits"):
            Limits.checked(*bad)


@pytest.mark.parametrize("value, length, expected", [
    ("Cooking oil 2 litres", 10, "Cooking..."),
    ("Cooking oil", 11, "Cooking oil"),
    ("金龙鱼食用油5升", 5, "金龙鱼食…"),
    ("abcdef", 2, "ab"),
    ("abcdef", 0, ""),
])
def test_shorten_marks_the_cut(value, length, expected):
    assert shorten(value, length) == expected


def test_fill_groups_digits_and_shortens_the_longest_value_until_it_fits():
    template = "Redeem {quantity} x {item_name} for {total} pts?"
    values = {"quantity": 2, "item_name": "A really very long name for a reward" * 3, "total": 250_000}
    text, shortened = fill(template, values, lambda t: overflow(t, Limits(40, 20)))
    assert shortened and fits(text, Limits(40, 20))
    assert text.startswith("Redeem 2 x A rea") and text.endswith("... for 250,000 pts?")
    assert fill(template, {"quantity": 1}) == ("Redeem 1 x  for  pts?", False)


@pytest.mark.parametrize("template", ["{0}", "{a.b}", "{a!r}", "{a:>5}", "{", "}"])
def test_only_plain_named_placeholders_are_allowed(template):
    with pytest.raises(ValueError):
        placeholders(template)


def test_compose_cuts_a_whole_screen_only_as_a_last_resort():
    assert compose(["Title", "", "1 One"], DEFAULT_LIMITS) == ("Title\n1 One", False)
    text, cut = compose(["x" * 100, "积" * 100], DEFAULT_LIMITS)
    assert cut and fits(text, DEFAULT_LIMITS) and text.endswith("…")


@FAST
@given(st.lists(st.text(min_size=1, max_size=120), max_size=30), st.integers(30, 182))
def test_pages_hold_every_entry_once_in_order_and_fit(entries, budget):
    limits = Limits(budget, budget // 2)

    def page_fits(lines, more):
        return fits("\n".join(["Title", *lines, *(["98 More"] if more else []), "0 Back"]), limits)

    pages = paginate(entries, page_fits, per_page=9)
    assert [i for start, end in pages for i in range(start, end)] == list(range(len(entries)))
    for start, end in pages:
        assert end - start <= 9
        more = end < len(entries)
        assert end - start == 1 or page_fits(entries[start:end], more)
