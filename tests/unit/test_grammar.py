"""grammar.py: how message text becomes a command, and which keyword files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.commands.grammar import Command, KeywordTable, NotUnderstood, parse

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"


@pytest.fixture(scope="module")
def table() -> KeywordTable:
    return KeywordTable.load(KEYWORDS)


def bal(lang, keyword, *args):
    return Command("BAL", tuple(args), lang, keyword)


def hlp(lang, keyword, *args):
    return Command("HELP", tuple(args), lang, keyword)


def nu(text, lang=None):
    return NotUnderstood(text, lang)


CASES = [
    # English BAL, however it is typed
    ("BAL", bal("en", "BAL")),
    ("bal", bal("en", "BAL")),
    ("Bal", bal("en", "BAL")),
    ("Bal.", bal("en", "BAL")),
    ("bal!", bal("en", "BAL")),
    ("bal?", bal("en", "BAL")),
    ("BAL...", bal("en", "BAL")),
    ("  bal  ", bal("en", "BAL")),
    ("\tbal\n", bal("en", "BAL")),
    ("ＢＡＬ", bal("en", "BAL")),
    ("ｂａｌ", bal("en", "BAL")),
    ("\u3000BAL\u3000", bal("en", "BAL")),
    ("balance", bal("en", "BALANCE")),
    ("Points", bal("en", "POINTS")),
    ("BAL extra args", bal("en", "BAL", "extra", "args")),
    ("BAL:123", bal("en", "BAL", "123")),
    ("BAL, 123 ,456", bal("en", "BAL", "123", "456")),
    ("Bal. 5", bal("en", "BAL", "5")),
    ("ＢＡＬ　ＲＩＣＥ５", bal("en", "BAL", "RICE5")),
    ("bal rice5", bal("en", "BAL", "rice5")),
    # Chinese BAL, with and without punctuation or a space
    ("余额", bal("zh", "余额")),
    ("余额。", bal("zh", "余额")),
    ("余额！", bal("zh", "余额")),
    ("余额？", bal("zh", "余额")),
    (" 余额 ", bal("zh", "余额")),
    ("查询积分", bal("zh", "查询积分")),
    ("积分", bal("zh", "积分")),
    ("cxjf", bal("zh", "CXJF")),
    ("CXJF", bal("zh", "CXJF")),
    ("ｊｆ", bal("zh", "JF")),
    ("余额123", bal("zh", "余额", "123")),
    ("余额 123", bal("zh", "余额", "123")),
    ("余额：123", bal("zh", "余额", "123")),
    ("余额，123", bal("zh", "余额", "123")),
    ("积分兑换", bal("zh", "积分", "兑换")),
    ("查询积分ABC 7", bal("zh", "查询积分", "ABC", "7")),
    # HELP
    ("help", hlp("en", "HELP")),
    ("HELP", hlp("en", "HELP")),
    ("Help!", hlp("en", "HELP")),
    ("info", hlp("en", "INFO")),
    ("?", hlp("en", "?")),
    ("？", hlp("en", "?")),
    (" ? ", hlp("en", "?")),
    ("? please", hlp("en", "?", "please")),
    ("帮助", hlp("zh", "帮助")),
    ("帮助。", hlp("zh", "帮助")),
    ("bz", hlp("zh", "BZ")),
    # not understood, with the language the script suggests
    ("", nu("")),
    ("   ", nu("")),
    ("\u3000", nu("")),
    ("xyz", nu("xyz")),
    ("balx", nu("balx")),
    ("xbal", nu("xbal")),
    ("jfx", nu("jfx")),
    ("兑换RICE5", nu("兑换RICE5", "zh")),
    ("你好", nu("你好", "zh")),
    ("hello 余额", nu("hello 余额", "zh")),
    ("😀", nu("😀")),
    ("😀 bal", nu("😀 bal")),
    ("!!!", nu("!!!")),
    (",", nu(",")),
    (":", nu(":")),
    ("。", nu("。", "zh")),
    ("\x00", nu("\x00")),
    ("\ud800", nu("\ud800")),
    ("ЗДРАВСТВУЙТЕ", nu("ЗДРАВСТВУЙТЕ")),
    ("ありがとう", nu("ありがとう")),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(text) for text, _ in CASES])
def test_parse(table, text, expected):
    assert parse(text, table) == expected


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_parse_any_text_is_command_or_not_understood(text):
    result = parse(text, KeywordTable.load(KEYWORDS))
    assert isinstance(result, (Command, NotUnderstood))


@given(st.sampled_from(["BAL", "余额", "帮助", "?"]), st.lists(st.text("abcRICE5积分 ", min_size=1)))
def test_keyword_followed_by_anything_is_that_command(keyword, rest):
    result = parse(" ".join([keyword, *rest]), KeywordTable.load(KEYWORDS))
    assert isinstance(result, Command)


def test_table_shape(table):
    assert table.languages == ("en", "zh")
    assert table.commands == ("BAL", "HELP")
    assert table.keywords("BAL", "zh") == ("余额", "查询积分", "积分", "CXJF", "JF")
    assert table.keywords("BAL", "fr") == ()
    assert table.keywords("NOPE", "en") == ()


def test_display_falls_back_to_another_language_then_the_name():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["BAL"]}, "HELP": {"zh": ["帮助"]}}})
    assert table.display("BAL", "zh") == "BAL"
    assert table.display("HELP", "en") == "帮助"
    assert table.display("CAT", "en") == "CAT"


def test_renamed_keyword_is_matched_and_old_one_is_not():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["SALDO"]}}})
    assert parse("saldo", table) == Command("BAL", (), "en", "SALDO")
    assert parse("bal", table) == NotUnderstood("bal", None)


def test_longest_glued_cjk_keyword_wins():
    table = KeywordTable.from_mapping(
        {"commands": {"BAL": {"zh": ["积分"]}, "REDEEM": {"zh": ["积分兑换"]}}}
    )
    assert parse("积分兑换RICE5", table) == Command("REDEEM", ("RICE5",), "zh", "积分兑换")
    assert parse("积分RICE5", table) == Command("BAL", ("RICE5",), "zh", "积分")


def test_latin_keywords_are_not_glued():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"zh": ["JF"]}}})
    assert parse("JFX", table) == NotUnderstood("JFX", None)


def test_same_keyword_for_same_command_in_two_languages_is_allowed():
    table = KeywordTable.from_mapping({"commands": {"HELP": {"en": ["?"], "zh": ["？", "帮助"]}}})
    assert parse("？", table) == Command("HELP", (), "en", "?")


# --- refused keyword files --------------------------------------------------------------------


BAD_MAPPINGS = [
    ({}, "no commands"),
    ({"commands": {}}, "no commands"),
    ({"commands": []}, "no commands"),
    ({"command": {"BAL": {"en": ["BAL"]}}}, "unknown key 'command'"),
    ({"commands": {"bal": {"en": ["BAL"]}}}, "commands.bal: a command name is upper case"),
    ({"commands": {"BAL": ["BAL"]}}, "commands.BAL: expected language = [keywords]"),
    ({"commands": {"BAL": {}}}, "commands.BAL: expected language = [keywords]"),
    ({"commands": {"BAL": {"EN": ["BAL"]}}}, "commands.BAL.EN: language code must be lower-case ISO 639"),
    ({"commands": {"BAL": {"english": ["BAL"]}}}, "commands.BAL.english: language code"),
    ({"commands": {"BAL": {"en_US": ["BAL"]}}}, "commands.BAL.en_US: language code"),
    ({"commands": {"BAL": {"en": "BAL"}}}, "commands.BAL.en: expected a non-empty list of strings"),
    ({"commands": {"BAL": {"en": []}}}, "commands.BAL.en: expected a non-empty list of strings"),
    ({"commands": {"BAL": {"en": ["BAL", 7]}}}, "commands.BAL.en[1]: expected a string, got int 7"),
    ({"commands": {"BAL": {"en": ["  "]}}}, "commands.BAL.en[0]: a keyword cannot be empty"),
    ({"commands": {"BAL": {"en": ["MY BAL"]}}}, "commands.BAL.en[0]: keyword 'MY BAL' can never match"),
    ({"commands": {"BAL": {"en": ["BAL."]}}}, "read as 'BAL'"),
    ({"commands": {"BAL": {"en": ["A:B"]}}}, "can never match"),
    ({"commands": {"BAL": {"en": ["BAL", "bal"]}}}, "commands.BAL.en: keyword 'bal' is listed twice"),
    (
        {"commands": {"BAL": {"en": ["BAL"]}, "HELP": {"en": ["HELP", "ＢＡＬ"]}}},
        "commands.HELP.en: keyword 'BAL' conflicts with commands.BAL.en: "
        "one keyword cannot mean both BAL and HELP in en",
    ),
    (
        {"commands": {"BAL": {"en": ["JF"]}, "HELP": {"zh": ["jf"]}}},
        "commands.HELP.zh: keyword 'jf' conflicts with commands.BAL.en: it would mean HELP in zh but BAL in en",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_MAPPINGS, ids=[m for _, m in BAD_MAPPINGS])
def test_bad_mapping_is_refused_with_its_key(data, message):
    with pytest.raises(ValueError) as raised:
        KeywordTable.from_mapping(data, source="kw.toml")
    assert str(raised.value).startswith("kw.toml")
    assert message in str(raised.value)


def test_load_names_the_file_and_key(tmp_path):
    path = tmp_path / "keywords.toml"
    path.write_text('[commands.BAL]\nen = ["BAL"]\n[commands.HELP]\nen = ["bal"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"keywords\.toml: commands\.HELP\.en: keyword 'bal' conflicts"):
        KeywordTable.load(path)


def test_load_refuses_broken_toml(tmp_path):
    path = tmp_path / "keywords.toml"
    path.write_text("[commands.BAL\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"keywords\.toml: not a valid UTF-8 TOML file"):
        KeywordTable.load(path)


def test_load_refuses_bad_encoding(tmp_path):
    path = tmp_path / "keywords.toml"
    path.write_bytes('[commands.BAL]\nzh = ["余额"]\n'.encode("gbk"))
    with pytest.raises(ValueError, match=r"keywords\.toml: not a valid UTF-8 TOML file"):
        KeywordTable.load(path)
