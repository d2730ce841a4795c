"""grammar.py and table.py: how message text becomes a command, and which keyword tables are refused.

The several hundred real-world messages are in test_parse_corpus.py; this file tests the rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.commands.arguments import Secret
from gateway.commands.grammar import BadArguments, Command, KeywordTable, NotUnderstood, describe, parse
from gateway.commands.table import TYPO_MIN_LENGTH, one_edit_apart

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"


TABLE = KeywordTable.load(KEYWORDS)


@pytest.fixture(scope="module")
def table() -> KeywordTable:
    return TABLE


def test_parse_gives_typed_arguments_and_the_keyword_as_configured(table):
    parsed = parse("兑换ｒｉｃｅ５　x2 1234", table, "KE")
    assert parsed == Command("REDEEM", {"item": "RICE5", "qty": 2, "pin": "1234"}, "zh", "兑换")
    assert isinstance(parsed.args["pin"], Secret) and "1234" not in repr(parsed)
    assert parse("Bal.", table, "KE") == Command("BAL", {}, "en", "BAL")


def test_a_slip_is_marked_so_the_dispatcher_can_decide(table):
    assert parse("REDEME RICE5", table, "KE") == Command(
        "REDEEM", {"item": "RICE5", "qty": None, "pin": None}, "en", "REDEEM", typo=True)


def test_bad_arguments_name_the_problem(table):
    assert parse("REDEEM RICE5 0", table, "KE") == BadArguments(
        "REDEEM", "en", "REDEEM", "invalid", "qty", "0")
    assert parse("兑换", table, "KE") == BadArguments("REDEEM", "zh", "兑换", "missing", "item", "")


def test_free_text_is_kept_as_written(table):
    parsed = parse("DISPUTE  R8K2P   the shop:   was shut!", table, "KE")
    assert parsed.args == {"reference": "R8K2P", "text": "the shop:   was shut"}


@given(st.text(st.characters(codec=None, exclude_categories=())), st.sampled_from(["KE", "CN", "GB"]))
def test_any_text_parses_to_a_result_and_never_raises(text, region):
    result = parse(text, TABLE, region)
    assert isinstance(result, (Command, BadArguments, NotUnderstood))
    assert describe(result)


WORDS = ["BAL", "余额", "帮助", "?", "REDEEM", "兑换", "RICE5", "x2", "2x", "1234", "0712 345 678",
         "+86 138", "STOP", "T", "YES", "4821", "。", ",", ":", "😀", "ＲＩＣＥ５", "\u3000", "LANG", "中文"]


@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=8), st.sampled_from(["KE", "CN"]))
def test_keyword_soup_never_raises(words, region):
    result = parse(" ".join(words), TABLE, region)
    assert isinstance(result, (Command, BadArguments, NotUnderstood))


@given(st.sampled_from(["BAL", "余额", "帮助", "?", "HIST", "SALIO"]), st.lists(st.text("abcRICE5积分 ", min_size=1)))
def test_keyword_without_arguments_followed_by_anything_is_that_command(keyword, rest):
    result = parse(" ".join([keyword, *rest]), TABLE, "KE")
    assert isinstance(result, Command)


def test_table_shape(table):
    assert table.languages == ("en", "zh", "sw", "fr", "es")
    assert set(table.commands) == {"BAL", "CAT", "REDEEM", "HIST", "PIN", "LANG", "STOP", "START", "HELP",
                                   "DISPUTE", "RDM", "AGBAL", "SALES", "REV", "AGPIN", "YES", "NO"}
    assert table.keywords("BAL", "zh")[:2] == ("余额", "查询积分")
    assert {"JF", "CXJF"} <= set(table.keywords("BAL", "zh"))
    assert {"DH", "JFDH", "兑换"} <= set(table.keywords("REDEEM", "zh"))
    assert table.keywords("BAL", "de") == ()
    assert table.keywords("NOPE", "en") == ()
    assert [str(spec) for spec in table.grammar("REDEEM")] == ["item", "qty?", "pin?"]
    assert [str(spec) for spec in table.grammar("PIN")] == ["pin", "new_pin:pin?"]


def test_opt_out_and_confirmation_words_are_in_the_shipped_table(table):
    for word in ("STOP", "UNSUBSCRIBE", "END", "QUIT", "退订", "TD", "T", "ONDOA"):
        assert table.exact(word).command == "STOP", word
    for word in ("START", "UNSTOP"):
        assert table.exact(word).command == "START", word
    assert set(table.keywords("REV", "en")) == {"REV", "VOID"}


def test_no_slip_in_the_shipped_table_could_mean_two_commands(table):
    long_keywords = [(kw.casefold(), name) for name in table.commands for lang in table.languages
                     for kw in table.keywords(name, lang) if len(kw) >= TYPO_MIN_LENGTH]
    close = [(a, b) for a, name_a in long_keywords for b, name_b in long_keywords
             if name_a < name_b and one_edit_apart(a, b)]
    assert close == []


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("BALANCE", "BALANCE", False), ("BLANCE", "BALANCE", True), ("BALANCEE", "BALANCE", True),
    ("BALANSE", "BALANCE", True), ("ABLANCE", "BALANCE", True), ("BALANEC", "BALANCE", True),
    ("BLANACE", "BALANCE", False), ("BAL", "BALANCE", False), ("查询积份", "查询积分", True), ("", "A", True),
])
def test_one_edit_apart(a, b, expected):
    assert one_edit_apart(a, b) is expected
    assert one_edit_apart(b, a) is expected


def test_short_keywords_are_not_guessed_at():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["BAL"]}, "HELP": {"en": ["HELP"]}}})
    assert parse("BAK", table, "KE") == NotUnderstood("BAK", None)
    assert parse("HALP", table, "KE") == Command("HELP", {}, "en", "HELP", typo=True)


def test_a_slip_between_two_commands_is_not_understood():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["SALDO"]}, "HELP": {"en": ["SALTO"]}}})
    assert parse("SALGO", table, "KE") == NotUnderstood("SALGO", None)


def test_whole_message_commands_match_only_alone():
    table = KeywordTable.from_mapping({"commands": {"STOP": {"en": ["STOP"]}, "BAL": {"en": ["BAL"]}}})
    assert parse("stop.", table, "KE") == Command("STOP", {}, "en", "STOP")
    assert parse("stop now", table, "KE") == NotUnderstood("stop now", None)


def test_mapping_round_trips(table):
    again = KeywordTable.from_mapping(table.mapping())
    assert again.mapping() == table.mapping()
    assert [again.grammar(c) for c in again.commands] == [table.grammar(c) for c in table.commands]


def test_example_uses_the_grammar_and_the_region(table):
    assert table.example("REDEEM", "兑换", "KE") == "兑换 RICE5 2"
    assert table.example("RDM", "RDM", "KE") == "RDM 0712123456 RICE5 2"
    assert table.example("RDM", "RDM", "CN") == "RDM 13123456789 RICE5 2"
    assert table.example("PIN", "PIN", "KE") == "PIN 1234"
    assert table.example("HELP", "HELP", "KE") == "HELP"


def test_display_falls_back_to_another_language_then_the_name():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["BAL"]}, "HELP": {"zh": ["帮助"]}}})
    assert table.display("BAL", "zh") == "BAL"
    assert table.display("HELP", "en") == "帮助"
    assert table.display("CAT", "en") == "CAT"


def test_renamed_keyword_is_matched_and_old_one_is_not():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"en": ["SALDO"]}}})
    assert parse("saldo", table, "KE") == Command("BAL", {}, "en", "SALDO")
    assert parse("bal", table, "KE") == NotUnderstood("bal", None)


def test_longest_glued_cjk_keyword_wins():
    table = KeywordTable.from_mapping(
        {"commands": {"BAL": {"zh": ["积分"]}, "REDEEM": {"zh": ["积分兑换"]}}}
    )
    assert parse("积分兑换RICE5", table, "KE") == Command("REDEEM", {}, "zh", "积分兑换")
    assert parse("积分RICE5", table, "KE") == Command("BAL", {}, "zh", "积分")


def test_latin_keywords_are_not_glued():
    table = KeywordTable.from_mapping({"commands": {"BAL": {"zh": ["JF"]}}})
    assert parse("JFX", table, "KE") == NotUnderstood("JFX", None)


def test_same_keyword_for_same_command_in_two_languages_is_allowed():
    table = KeywordTable.from_mapping({"commands": {"HELP": {"en": ["?"], "zh": ["？", "帮助"]}}})
    assert parse("？", table, "KE") == Command("HELP", {}, "en", "?")


# --- refused keyword files --------------------------------------------------------------------


BAD_MAPPINGS = [
    ({}, "no commands"),
    ({"commands": {}}, "no commands"),
    ({"commands": []}, "no commands"),
    ({"command": {"BAL": {"en": ["BAL"]}}}, "unknown key 'command'"),
    ({"commands": {"bal": {"en": ["BAL"]}}}, "commands.bal: a command name is upper case"),
    ({"commands": {"BAL": ["BAL"]}}, "commands.BAL: has no keywords; expected language = [keywords]"),
    ({"commands": {"BAL": {}}}, "commands.BAL: has no keywords"),
    ({"commands": {"BAL": {"args": ["item"]}}}, "commands.BAL: has no keywords"),
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
    ({"commands": {"BAL": {"en": ["B" * 33]}}}, "commands.BAL.en[0]: a keyword has at most 32 characters"),
    ({"commands": {"BAL": {"en": ["BAL"], "args": "item"}}}, "commands.BAL.args: expected a list"),
    ({"commands": {"BAL": {"en": ["BAL"], "args": ["thing"]}}}, "commands.BAL.args: 'thing': unknown type"),
    ({"commands": {"BAL": {"en": ["BAL"], "args": ["Item"]}}}, "commands.BAL.args: 'Item' is not an argument"),
    ({"commands": {"BAL": {"en": ["BAL"], "args": [3]}}}, "commands.BAL.args: 3 is not an argument"),
    ({"commands": {"PIN": {"en": ["PIN"], "args": ["pin", "pin"]}}}, "argument 'pin' appears twice"),
    ({"commands": {"X": {"en": ["X"], "args": ["text", "item"]}}}, "\"text\" can only be last"),
    ({"commands": {"STOP": {"en": ["STOP"], "args": ["text?"]}}},
     "commands.STOP.args: STOP is matched as the whole message, so it takes no arguments"),
    (
        {"commands": {"STOP": {"en": ["STOP"]}, "BAL": {"en": ["BAL"], "zh": ["stop"]}}},
        "commands.BAL.zh: keyword 'stop' is an opt-out word (commands.STOP.en), so BAL cannot use it",
    ),
    (
        {"commands": {"BAL": {"en": ["BAL", "T"]}, "STOP": {"zh": ["T"]}}},
        "commands.BAL.en: keyword 'T' is an opt-out word (commands.STOP.zh), so BAL cannot use it",
    ),
    (
        {"commands": {"REV": {"en": ["REV", "CANCEL"]}, "STOP": {"en": ["CANCEL"]}}},
        "keyword 'CANCEL' is an opt-out word (commands.STOP.en), so REV cannot use it",
    ),
    (
        {"commands": {"YES": {"sw": ["NDIO"]}, "BAL": {"sw": ["ndio"]}}},
        "commands.BAL.sw: keyword 'ndio' is a confirmation word (commands.YES.sw), so BAL cannot use it",
    ),
    (
        {"commands": {"START": {"en": ["START"]}, "HELP": {"fr": ["START"]}}},
        "is an opt-in word (commands.START.en), so HELP cannot use it",
    ),
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
