"""replies.py and locales/: every template exists in every language, renders, and fits one SMS."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import agent_template_values
from gateway.commands import replies
from gateway.commands.grammar import KeywordTable
from gateway.commands.locales import LOCALES
from gateway.commands.replies import TEMPLATES, fits, is_gsm, menu, render, sms_length

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
TABLE = KeywordTable.load(KEYWORDS)
LANGUAGES = replies.languages()
MEMBER_COMMANDS = ("BAL", "CAT", "REDEEM", "HIST", "PIN", "LANG", "DISPUTE", "STOP")
AWKWARD_ECHOES = ["x" * 200, "兑换" * 50, "😀" * 50, "{}{}{}[]^~|€" * 5, "\x00\u202e\n\t", "RICE5"]


def shown(command: str, language: str) -> str:
    return TABLE.display(command, language)


def longest_keyword(language: str) -> str:
    return max((kw for c in TABLE.commands for kw in TABLE.keywords(c, language)), key=len)


def realistic_values(name: str, language: str) -> list[dict]:
    """The largest values each template meets in practice, and the awkward ones.

    Raises KeyError for a template nobody thought about here, so a new template cannot skip the
    test that it fits.
    """
    if name.startswith(("menu.", "about.", "arg.")):
        return []  # parts of other replies: rendered, and measured, inside help and args.*
    if name.startswith(agent_template_values.PREFIXES):
        return agent_template_values.values(name, language, lambda c: shown(c, language))
    full_menu = menu(language, {c: shown(c, language) for c in MEMBER_COMMANDS})
    bal_help = {"bal": shown("BAL", language), "help": shown("HELP", language)}
    return {
        "balance": [{"available": 99_999_999, "on_hold": 9_999_999}, {"available": 0, "on_hold": 0}],
        "balance.no_hold": [{"available": 99_999_999}],
        "balance.unavailable": [{}],
        "help": [{"menu": full_menu, "help": shown("HELP", language)}],
        "help.command": _explanations(language),
        "not_understood": [{"text": text, **bal_help} for text in AWKWARD_ECHOES],
        "not_understood.empty": [bal_help],
        "not_available": [{"keyword": shown(c, language), "help": shown("HELP", language)}
                          for c in TABLE.commands],
        "did_you_mean": [{"keyword": longest_keyword(language)}],
        "args.missing": _argument_errors(language, ""),
        "args.invalid": [v for text in AWKWARD_ECHOES for v in _argument_errors(language, text)],
        "args.extra": _argument_errors(language, "x" * 200),
        "args.extra.hidden": _argument_errors(language, ""),
        "lang.set": [{}],
        "stop.done": [{"start": shown("START", language)}],
        "start.done": [{"stop": shown("STOP", language)}],
        "not_member": [{}], "try_later": [{}], "unreadable": [{}], "incomplete": [{}],
        **_member_rewards(language),
    }[name]


def _member_rewards(language: str) -> dict[str, list[dict]]:
    """CAT, REDEEM, HIST, PIN (commands/member_rewards.py). Pages and history lines are fitted
    by the handler (test_member_rewards.py measures them); these are the fixed sentences."""
    from test_member_rewards import longest_item_name
    keywords = {k: shown(c, language) for k, c in
                (("cat", "CAT"), ("pin", "PIN"), ("redeem", "REDEEM"))}
    item = dict(item=longest_item_name(language), code="AIR200", qty=999, points=99_999_999,
                available=99_999_998, ref="R8K2PX", **keywords)
    parts = ("cat.page", "cat.item", "cat.separator", "cat.more", "cat.last", "hist.line",
             "hist.separator", "hist.date", "hist.issue", "hist.redeem", "hist.reverse",
             "hist.processing", "hist.other", "redeem.codes")
    return {
        **{name: [] for name in parts},
        "cat.empty": [{}],
        "cat.unknown": [dict(categories="airtime, food, household, vouchers",
                             **keywords)],
        "cat.no_page": [dict(page=999, pages=998, cat=keywords["cat"] + " HOUSEHOLD")],
        **{f"redeem.{kind}": [dict(item, codes="ABCDEFGHJK")]
           for kind in ("voucher", "voucher.many", "airtime", "done", "processing")},
        **{name: [dict(item, most=1000, limit=1000, left=999, attempts_left=4, minutes=10080)]
           for name, lang in TEMPLATES if lang == language and name.startswith("refused.")},
        "hist": [],     # fitted by the handler
        "hist.empty": [{"available": 99_999_999}],
        "pin.set": [{}], "pin.changed": [{}],
    }


def _explanations(language: str) -> list[dict]:
    return [{"keyword": shown(c, language), "about": TEMPLATES[(f"about.{c}", language)],
             "example": TABLE.example(c, shown(c, language), region)}
            for c in TABLE.commands for region in ("KE", "CN")]


def _argument_errors(language: str, text: str) -> list[dict]:
    found = []
    for command in TABLE.commands:
        for spec in TABLE.grammar(command):
            keyword = max(TABLE.keywords(command, language) or (command,), key=len)
            found.append({"keyword": keyword, "text": text,
                          "what": render(f"arg.{spec.type}", language),
                          "example": TABLE.example(command, keyword, "CN")})
    return found


CASES = [(name, language) for name, language in TEMPLATES if realistic_values(name, language)]


def test_the_languages():
    assert LANGUAGES == ("en", "zh", "sw", "fr", "es")
    assert set(LOCALES) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_template_with_the_same_placeholders(language):
    english = LOCALES["en"].TEMPLATES
    translated = LOCALES[language].TEMPLATES
    assert set(translated) == set(english)
    for name, text in translated.items():
        assert _fields(text) == _fields(english[name]), (language, name)


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@pytest.mark.parametrize(("name", "language"), CASES, ids=[f"{n}-{lang}" for n, lang in CASES])
def test_every_template_renders_with_realistic_values_and_fits_one_sms(name, language):
    for values in realistic_values(name, language):
        text = render(name, language, **values)
        assert fits(text), (text, sms_length(text))
        assert "{" not in text.replace("{}{}{}", "") or name.startswith(("not_understood", "args."))


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "zh"])
def test_latin_script_replies_stay_in_the_gsm_alphabet(language):
    for name, lang in CASES:
        if lang == language:
            for values in realistic_values(name, language):
                assert is_gsm(render(name, language, **values)), (name, render(name, language, **values))


@pytest.mark.parametrize(("language", "text"), [
    ("en", "Jifen: your balance is 1,234,567 pts (1,000 on hold)."),
    ("zh", "积分余额：1,234,567分（冻结1,000分）。"),
    ("sw", "Jifen: salio lako ni pointi 1,234,567 (1,000 zimezuiliwa)."),
    ("fr", "Jifen : votre solde est de 1 234 567 pts (1 000 en attente)."),
    ("es", "Jifen: su saldo es de 1.234.567 pts (1.000 retenidos)."),
])
def test_balance_groups_digits_the_way_each_language_does(language, text):
    assert render("balance", language, available=1234567, on_hold=1000) == text


def test_balance_omits_an_empty_hold():
    assert render("balance", "en", available=1350, on_hold=0) == "Jifen: your balance is 1,350 pts."
    assert render("balance", "zh", available=1350, on_hold=0) == "积分余额：1,350分。"


def test_help_lists_the_display_keywords():
    assert render("help", "en", menu=menu("en", {"BAL": "BAL", "STOP": "STOP"}), help="HELP") == (
        "Jifen: BAL balance, STOP no promos. HELP + keyword explains it."
    )
    assert render("help", "zh", menu=menu("zh", {"BAL": "余额", "LANG": "语言"}), help="帮助") == (
        "积分指令：余额、语言。发“帮助 指令”看说明。"
    )


def test_menu_leaves_out_commands_without_a_menu_entry():
    assert menu("en", {"BAL": "BAL", "FROB": "FROB", "YES": "YES"}) == "BAL balance"


def test_not_understood_echoes_short_text_whole():
    assert render("not_understood", "en", text="xyz", bal="BAL", help="HELP") == (
        'Sorry, we did not understand "xyz". Send BAL for your balance or HELP for help.'
    )
    assert render("not_understood", "zh", text="兑换RICE5", bal="余额", help="帮助") == (
        "抱歉，无法识别“兑换RICE5”。发送 余额 查询积分，帮助 获取帮助。"
    )


def test_echoes_are_cut_to_about_twenty_characters():
    text = render("not_understood", "en", text="abcdefghijklmnopqrstuvwxyz", bal="BAL", help="HELP")
    assert '"abcdefghijklmnopq..."' in text
    text = render("args.extra", "en", keyword="REDEEM", text="abcdefghijklmnopqrstuvwxyz",
                  example="REDEEM RICE5 2")
    assert text == 'REDEEM: we did not expect "abcdefghijklmnopq...". Example: REDEEM RICE5 2'


def test_echo_in_english_keeps_to_gsm_instead_of_switching_to_ucs2():
    text = render("not_understood", "en", text="hi 😀", bal="BAL", help="HELP")
    assert '"hi ?"' in text
    assert sms_length(text)[1] == 160


def test_echo_drops_control_characters_and_is_not_a_format_string():
    text = render("not_understood", "en", text="a\x00b\u202e{bal}\nc", bal="BAL", help="HELP")
    assert '"ab{bal} c"' in text


def test_empty_echoes_get_their_own_sentence():
    assert render("not_understood", "en", text="  ", bal="BAL", help="HELP").startswith(
        "Sorry, your message was empty.")
    assert render("args.extra", "en", keyword="PIN", text="", example="PIN 1234") == (
        "PIN: too many words. Example: PIN 1234")


@given(st.text(st.characters(codec=None, exclude_categories=())), st.sampled_from(LANGUAGES),
       st.sampled_from(["not_understood", "args.invalid", "args.extra"]))
def test_echoing_any_text_fits(text, language, name):
    values = {"bal": "BAL", "help": "HELP", "keyword": "REDEEM", "example": "REDEEM RICE5 2",
              "what": render("arg.qty", language)}
    assert fits(render(name, language, text=text, **values))


def test_sms_length_counts_septets_and_ucs2_units():
    assert sms_length("a" * 160) == (160, 160)
    assert sms_length("{}") == (4, 160)
    assert sms_length("余额") == (2, 70)
    assert sms_length("😀") == (2, 70)
    assert sms_length("Ç") == (1, 160) and sms_length("ç") == (1, 70)
    assert fits("a" * 160) and not fits("a" * 161)
    assert fits("余" * 70) and not fits("余" * 71)


def test_unknown_template_or_language_is_a_key_error():
    with pytest.raises(KeyError):
        render("nope", "en")
    with pytest.raises(KeyError):
        render("balance", "de", available=1, on_hold=0)
