"""replies.py: every template exists in every language, renders, and fits one SMS."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.commands import replies
from gateway.commands.grammar import KeywordTable
from gateway.commands.replies import TEMPLATES, fits, menu, render, sms_length

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
TABLE = KeywordTable.load(KEYWORDS)
LANGUAGES = replies.languages()


def realistic_values(name: str, language: str) -> list[dict]:
    """The largest values each template will meet in practice, and the awkward ones."""
    shown = {"bal": TABLE.display("BAL", language), "help": TABLE.display("HELP", language)}
    full_menu = menu(language, {c: TABLE.display(c, language) for c in TABLE.commands})
    return {
        "balance": [
            {"available": 99_999_999, "on_hold": 9_999_999},
            {"available": 0, "on_hold": 0},
            {"available": 1350, "on_hold": 0},
        ],
        "help": [{"menu": full_menu}],
        "not_understood": [
            {"text": "x" * 200, **shown},
            {"text": "兑换" * 50, **shown},
            {"text": "😀" * 50, **shown},
            {"text": "{}{}{}[]^~|€" * 5, **shown},
            {"text": "", **shown},
            {"text": "\x00\u202e\n\t", **shown},
        ],
        "not_member": [{}],
        "try_later": [{}],
    }[name]


RENDERED = ["balance", "help", "not_understood", "not_member", "try_later"]


def test_every_language_has_every_template():
    names = {lang: {name for name, language in TEMPLATES if language == lang} for lang in LANGUAGES}
    assert LANGUAGES == ("en", "zh")
    for lang in LANGUAGES:
        assert names[lang] == names["en"], lang


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", RENDERED)
def test_every_template_renders_and_fits_one_sms(name, language):
    for values in realistic_values(name, language):
        text = render(name, language, **values)
        assert fits(text), (text, sms_length(text))


def test_english_replies_stay_in_the_gsm_alphabet():
    for name in RENDERED:
        for values in realistic_values(name, "en"):
            assert sms_length(render(name, "en", **values))[1] == 160, name


def test_balance_groups_digits_and_omits_an_empty_hold():
    assert render("balance", "en", available=1350, on_hold=200) == (
        "Jifen: your balance is 1,350 pts (200 on hold)."
    )
    assert render("balance", "en", available=1350, on_hold=0) == "Jifen: your balance is 1,350 pts."
    assert render("balance", "zh", available=1234567, on_hold=1000) == "积分余额：1,234,567分（冻结1,000分）。"
    assert render("balance", "zh", available=1350, on_hold=0) == "积分余额：1,350分。"


def test_help_lists_the_display_keywords():
    assert render("help", "en", menu=menu("en", {"BAL": "BAL", "HELP": "HELP"})) == (
        "Jifen: send BAL for your balance, HELP for help."
    )
    assert render("help", "zh", menu=menu("zh", {"BAL": "余额", "HELP": "帮助"})) == (
        "积分：发送 余额 查询积分，帮助 获取帮助。"
    )


def test_menu_leaves_out_commands_without_a_translation():
    assert menu("en", {"BAL": "BAL", "FROB": "FROB"}) == "BAL for your balance"


def test_not_understood_echoes_short_text_whole():
    assert render("not_understood", "en", text="xyz", bal="BAL", help="HELP") == (
        'Sorry, we did not understand "xyz". Send BAL for your balance or HELP for help.'
    )
    assert render("not_understood", "zh", text="兑换RICE5", bal="余额", help="帮助") == (
        "抱歉，无法识别“兑换RICE5”。发送 余额 查询积分，帮助 获取帮助。"
    )


def test_not_understood_truncates_long_text_to_about_twenty_characters():
    text = render("not_understood", "en", text="abcdefghijklmnopqrstuvwxyz", bal="BAL", help="HELP")
    assert '"abcdefghijklmnopq..."' in text


def test_not_understood_in_english_keeps_to_gsm_instead_of_switching_to_ucs2():
    text = render("not_understood", "en", text="hi 😀", bal="BAL", help="HELP")
    assert '"hi ?"' in text
    assert sms_length(text)[1] == 160


def test_not_understood_does_not_echo_control_characters_or_braces_as_format():
    text = render("not_understood", "en", text="a\x00b\u202e{bal}\nc", bal="BAL", help="HELP")
    assert '"ab{bal} c"' in text


def test_empty_echo_gets_its_own_sentence():
    assert render("not_understood", "en", text="  ", bal="BAL", help="HELP").startswith(
        "Sorry, your message was empty."
    )


@given(st.text(st.characters(codec=None, exclude_categories=())), st.sampled_from(LANGUAGES))
def test_not_understood_fits_for_any_text(text, language):
    assert fits(render("not_understood", language, text=text, bal="BAL", help="HELP"))


def test_sms_length_counts_septets_and_ucs2_units():
    assert sms_length("a" * 160) == (160, 160)
    assert sms_length("{}") == (4, 160)
    assert sms_length("余额") == (2, 70)
    assert sms_length("😀") == (2, 70)
    assert fits("a" * 160) and not fits("a" * 161)
    assert fits("余" * 70) and not fits("余" * 71)


def test_unknown_template_or_language_is_a_key_error():
    with pytest.raises(KeyError):
        render("nope", "en")
    with pytest.raises(KeyError):
        render("help", "fr", menu="")
