"""arguments.py: each argument type on its own, and the greedy left-to-right reading."""

from __future__ import annotations

import pytest

from gateway.commands import replies
from gateway.commands.arguments import (
    LANGUAGE_NAMES, MAX_QUANTITY, ArgSpec, ArgumentError, Context, Secret, check_grammar, example,
    parse_spec, read,
)
from gateway.commands.tokens import fold, words


def read_text(grammar: list[str], text: str, region: str = "KE") -> dict:
    folded = fold(text)
    return read([parse_spec(spec) for spec in grammar], words(folded), Context(region, folded))


def problem(grammar: list[str], text: str) -> tuple:
    with pytest.raises(ArgumentError) as raised:
        read_text(grammar, text)
    error = raised.value
    return error.problem, error.spec.name if error.spec else None, error.word


@pytest.mark.parametrize(("text", "quantity"), [
    ("2", 2), ("x2", 2), ("X2", 2), ("2x", 2), ("×2", 2), ("*2", 2), ("2*", 2), ("2pcs", 2), ("2PC", 2),
    ("2个", 2), ("3件", 3), ("1份", 1), ("x 2", 2), ("999", MAX_QUANTITY), ("x999", 999), ("010", 10),
])
def test_quantity_forms(text, quantity):
    assert read_text(["qty"], text) == {"qty": quantity}


@pytest.mark.parametrize("text", ["0", "x0", "0x", "x1000", "1000x", "x99999999999999999999"])
def test_quantity_out_of_range_is_invalid_and_says_so(text):
    assert problem(["qty"], text) == ("invalid", "qty", text)


def test_four_bare_digits_are_not_a_quantity_but_a_pin():
    assert read_text(["qty?", "pin?"], "1234") == {"qty": None, "pin": "1234"}
    assert read_text(["qty?", "pin?"], "123") == {"qty": 123, "pin": None}


def test_secrets_compare_as_digits_and_never_show():
    values = read_text(["pin", "new_pin:pin?"], "1234 567890")
    assert values == {"pin": "1234", "new_pin": "567890"}
    assert all(isinstance(value, Secret) for value in values.values())
    assert "1234" not in repr(values) and "567890" not in repr(values)


@pytest.mark.parametrize("text", ["12", "1234567", "0", "abcd", "12a4", "١٢٣٤"])
def test_a_wrong_pin_is_invalid_and_not_echoed(text):
    assert problem(["pin"], text) == ("invalid", "pin", "")


def test_a_stray_word_is_not_echoed_where_a_pin_belongs():
    assert problem(["item", "pin?"], "RICE5 1234 5678") == ("extra", None, "")
    assert problem(["item", "qty?"], "RICE5 2 5678") == ("extra", None, "5678")


@pytest.mark.parametrize(("text", "region", "number"), [
    ("0712345678", "KE", "254712345678"), ("0712 345 678", "KE", "254712345678"),
    ("+254 712 345678", "KE", "254712345678"), ("254712345678", "KE", "254712345678"),
    ("(0712) 345-678", "KE", "254712345678"), ("0712.345.678", "KE", "254712345678"),
    ("13800138000", "CN", "8613800138000"), ("138 0013 8000", "CN", "8613800138000"),
    ("+86 138-0013-8000", "CN", "8613800138000"), ("+254712345678", "CN", "254712345678"),
])
def test_phone_numbers_in_national_and_international_forms(text, region, number):
    assert read_text(["msisdn"], text, region) == {"msisdn": number}


def test_a_phone_number_takes_only_the_words_that_are_part_of_it():
    assert read_text(["msisdn", "qty"], "0712 345 678 2") == {"msisdn": "254712345678", "qty": 2}
    assert read_text(["msisdn", "item"], "+254 712 345678 RICE5") == {"msisdn": "254712345678",
                                                                       "item": "RICE5"}


@pytest.mark.parametrize("text", ["12345", "0712", "+1", "071234567890123456789"])
def test_digits_that_are_not_a_phone_number_are_invalid(text):
    assert problem(["msisdn"], text)[:2] == ("invalid", "msisdn")


def test_items_and_references_are_upper_cased_and_need_letters():
    assert read_text(["item"], "rice5") == {"item": "RICE5"}
    assert read_text(["reference"], "r8k2p") == {"reference": "R8K2P"}
    assert problem(["item"], "55") == ("invalid", "item", "55")
    assert problem(["reference"], "RICE") == ("invalid", "reference", "RICE")
    assert problem(["reference"], "1234") == ("invalid", "reference", "1234")


def test_languages_are_exactly_those_with_replies():
    assert set(LANGUAGE_NAMES) == set(replies.languages())
    for code, names in LANGUAGE_NAMES.items():
        for name in names:
            assert read_text(["language"], name.lower()) == {"language": code}, name


def test_optional_arguments_are_skipped_when_the_word_is_not_theirs():
    assert read_text(["reference?", "text?"], "shop was shut") == {"reference": None,
                                                                   "text": "shop was shut"}
    assert read_text(["reference?", "text?"], "") == {"reference": None, "text": None}


def test_missing_required_argument():
    assert problem(["item", "qty?"], "") == ("missing", "item", "")


def test_no_arguments_means_the_rest_is_ignored():
    assert read_text([], "anything at all 1234") == {}


@pytest.mark.parametrize(("spec", "expected"), [
    ("qty?", ArgSpec("qty", "qty", True)), ("item", ArgSpec("item", "item", False)),
    ("new_pin:pin?", ArgSpec("new_pin", "pin", True)), ("topic:text?", ArgSpec("topic", "text", True)),
])
def test_spec_syntax(spec, expected):
    assert parse_spec(spec) == expected
    assert str(expected) == spec


@pytest.mark.parametrize("spec", ["", "?", "Qty", "qty??", "x:", ":pin", "pin:Pin", "widget", None, 3])
def test_bad_specs_are_refused(spec):
    with pytest.raises(ValueError):
        parse_spec(spec)


def test_grammar_rules():
    with pytest.raises(ValueError, match="appears twice"):
        check_grammar([parse_spec("pin"), parse_spec("pin?")])
    with pytest.raises(ValueError, match="can only be last"):
        check_grammar([parse_spec("text?"), parse_spec("item")])


def test_examples_show_required_and_useful_optional_arguments():
    grammar = [parse_spec(s) for s in ["msisdn", "item", "qty?", "pin?"]]
    assert example(grammar, "KE") == ("0712123456", "RICE5", "2")
    assert example([parse_spec("pin"), parse_spec("new_pin:pin?")], "KE") == ("1234",)
    assert example([parse_spec("reference?"), parse_spec("text?")], "KE") == ("R8K2P",)
