"""dispatch.execute and the member handlers: the whole of commands/ as the pipeline sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gateway.commands as commands
from gateway.commands import (
    Balance,
    KeywordTable,
    Member,
    Outcome,
    Reply,
    Request,
    ServiceUnavailable,
    execute,
)
from gateway.commands import dispatch
from gateway.commands.handlers import reply
from gateway.commands.replies import fits, languages

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
TABLE = KeywordTable.load(KEYWORDS)


@dataclass
class FakeServices:
    """An in-memory ledger and opt-out list, or an exception to raise."""

    balances: dict[int, Balance] = field(default_factory=lambda: {7: Balance(1350, 0)})
    error: Exception | None = None
    asked: list[int] = field(default_factory=list)
    opt_outs: list[tuple[str, bool]] = field(default_factory=list)

    def points_balance(self, account_id: int) -> Balance:
        self.asked.append(account_id)
        if self.error is not None:
            raise self.error
        return self.balances[account_id]

    def set_opt_out(self, msisdn: str, opted_out: bool) -> None:
        self.opt_outs.append((msisdn, opted_out))

    def __getattr__(self, name):
        """Any other service (rewards, agents) is away: its command answers "try later"."""
        if name.startswith("_"):
            raise AttributeError(name)

        def unavailable(*args, **kwargs):
            raise ServiceUnavailable(name)
        return unavailable


def member(language=None):
    return Member(id=1, msisdn="8613800138000", name="Wang", language=language, points_account=7)


def run(text, who=None, services=None, table=TABLE, default="en", region="KE") -> Outcome:
    request = Request("8613800138000", "10655", text, who, message_id=42)
    return execute(request, table, services or FakeServices(), default, region=region)


def only(outcome: Outcome) -> Reply:
    assert len(outcome.replies) == 1
    return outcome.replies[0]


@pytest.fixture
def redeem(monkeypatch):
    """A stand-in REDEEM handler (the real one is a later issue's), recording what it was given."""
    calls = []

    def handler(invocation):
        calls.append(dict(invocation.command.args))
        return (reply(invocation.language, "try_later"),)

    monkeypatch.setitem(dispatch.HANDLERS, "REDEEM", handler)
    return calls


def test_public_names_are_the_implementations():
    from gateway.commands import context, dispatch, grammar

    assert commands.execute is dispatch.execute
    assert commands.parse is grammar.parse
    assert commands.describe is grammar.describe
    assert commands.Member is context.Member
    assert set(commands.__all__) <= set(dir(commands))


def test_balance_for_member_in_english():
    outcome = run("bal", member("en"))
    assert outcome == Outcome((Reply("Jifen: your balance is 1,350 pts.", "en"),), "BAL", "en", None)


def test_balance_shows_the_hold_and_asks_the_members_account():
    services = FakeServices({7: Balance(1350, 1000)})
    assert only(run("余额", member("zh"), services)).text == "积分余额：1,350分（冻结1,000分）。"
    assert services.asked == [7]


@pytest.mark.parametrize(("text", "language", "reply_text"), [
    ("SALIO", "sw", "Jifen: salio lako ni pointi 1,350."),
    ("SOLDE", "fr", "Jifen : votre solde est de 1 350 pts."),
    ("saldo", "es", "Jifen: su saldo es de 1.350 pts."),
    ("查询积分", "zh", "积分余额：1,350分。"),
])
def test_keyword_language_is_used_and_remembered_for_a_member_without_one(text, language, reply_text):
    outcome = run(text, member(None))
    assert (outcome.command, outcome.language, outcome.remember_language) == ("BAL", language, language)
    assert only(outcome) == Reply(reply_text, language)


def test_member_language_wins_over_the_keyword_language():
    outcome = run("余额", member("en"))
    assert (outcome.language, outcome.remember_language) == ("en", None)
    assert only(outcome).text == "Jifen: your balance is 1,350 pts."


def test_nothing_is_remembered_when_not_understood():
    outcome = run("你好", member(None))
    assert (outcome.command, outcome.language, outcome.remember_language) == (None, "zh", None)


def test_member_without_language_sending_unknown_latin_text_gets_the_default():
    outcome = run("xyz", member(None), default="zh")
    assert outcome.language == "zh"
    assert only(outcome).text.startswith("抱歉，无法识别“xyz”")


def test_member_language_without_templates_falls_back():
    assert run("帮助", member("de")).language == "zh"
    assert run("xyz", member("de"), default="sw").language == "sw"
    assert run("xyz", member("de"), default="de").language == "en"


def test_a_slip_in_a_keyword_that_changes_nothing_just_runs():
    outcome = run("BLANCE", member("en"))
    assert only(outcome).text == "Jifen: your balance is 1,350 pts."
    assert only(run("HLEP")).text.startswith("Jifen: BAL balance")


def test_a_slip_in_a_keyword_that_spends_asks_and_does_nothing(redeem):
    outcome = run("REDEME RICE5 2", member("en"))
    assert outcome.command == "REDEEM"
    assert only(outcome).text == ("Did you mean REDEEM? To be safe we did nothing: send your message "
                                  "again starting with REDEEM.")
    assert redeem == []
    run("REDEEM RICE5 2", member("en"))
    assert redeem == [{"item": "RICE5", "qty": 2, "pin": None}]


def test_a_slip_in_stop_asks_rather_than_opting_out():
    services = FakeServices()
    assert only(run("STOPP", None, services)).text.startswith("Did you mean STOP?")
    assert services.opt_outs == []


def test_did_you_mean_in_chinese(redeem):
    assert only(run("JFDHH RICE5", member("zh"))).text == (
        "您是想发“JFDH”吗？为安全起见未执行，请以“JFDH”开头重新发送。")


@pytest.mark.parametrize(("text", "expected"), [
    ("REDEEM", "REDEEM needs an item code. Example: REDEEM RICE5 2"),
    ("redeem 2", 'REDEEM: "2" is not an item code. Example: REDEEM RICE5 2'),
    ("REDEEM RICE5 0", 'REDEEM: "0" is not a quantity from 1 to 999. Example: REDEEM RICE5 2'),
    ("REDEEM RICE5 2 12", "REDEEM needs a PIN of 4 to 6 digits. Example: REDEEM RICE5 2"),
    ("REDEEM RICE5 2 1234 5678", "REDEEM: too many words. Example: REDEEM RICE5 2"),
])
def test_bad_arguments_get_a_helpful_reply_with_an_example(redeem, text, expected):
    outcome = run(text, member("en"))
    assert (outcome.command, only(outcome).text) == ("REDEEM", expected)
    assert redeem == []


def test_bad_arguments_in_chinese_show_the_keyword_used(redeem):
    assert only(run("兑换", member(None))).text == "“兑换”需要礼品代码。例：兑换 RICE5 2"
    assert only(run("DH 大米", member(None))).text == "“DH”：“大米”不是礼品代码。例：DH RICE5 2"


def test_a_command_without_a_handler_yet_is_not_available_rather_than_not_understood(monkeypatch):
    # Every configured command has a handler now; take two away to see the answer a new one gets.
    from gateway.commands import dispatch
    monkeypatch.setattr(dispatch, "HANDLERS", {k: v for k, v in dispatch.HANDLERS.items()
                                               if k not in ("RDM", "YES")})
    outcome = run("RDM 0712345678 RICE5 2", member("en"))
    assert outcome.command == "RDM"
    assert only(outcome).text == "Sorry, RDM is not available yet. Send HELP to see what you can do."
    assert only(run("NDIO 4821", member("sw"))).text.startswith("Samahani, NDIO bado haipatikani.")


def test_help_lists_the_commands_that_work_in_the_members_language():
    assert only(run("HELP")).text == (
        "Jifen: BAL balance, CAT rewards, REDEEM to redeem, HIST history, PIN set PIN, "
        "LANG language, STOP no promos. HELP + keyword explains it.")
    assert only(run("帮助")).text == "积分指令：余额、目录、兑换、记录、密码、语言、退订。发“帮助 指令”看说明。"
    assert only(run("MSAADA")).text == (
        "Jifen: SALIO, ZAWADI, KOMBOA, HISTORIA, PIN, LUGHA, ONDOA. MSAADA + neno hueleza zaidi.")
    assert only(run("？")).language == "en"


@pytest.mark.parametrize(("text", "who", "expected"), [
    ("HELP REDEEM", None, "REDEEM: swap points for a reward: code, quantity, PIN. Example: REDEEM RICE5 2"),
    ("help rdm", None, "RDM: agents: redeem for a member: phone, code, quantity. Example: RDM 0712123456 RICE5 2"),
    ("HELP REDEME", None, "REDEEM: swap points for a reward: code, quantity, PIN. Example: REDEEM RICE5 2"),
    ("帮助兑换", None, "兑换：用积分兑换礼品：代码、数量、密码。例：兑换 RICE5 2"),
    ("HELP 兑换", member("zh"), "兑换：用积分兑换礼品：代码、数量、密码。例：兑换 RICE5 2"),
    ("AYUDA SI", None, "SI: aprobar un canje con el codigo de nuestro mensaje. Ejemplo: SI 4821"),
    ("HELP STOP", None, "STOP: no more promotional messages. Replies to your own requests still come. Example: STOP"),
])
def test_help_with_a_keyword_explains_that_command(text, who, expected):
    assert only(run(text, who)).text == expected


def test_help_with_something_that_is_not_a_keyword_gives_the_list():
    assert only(run("HELP ME PLEASE")).text.startswith("Jifen: BAL balance")


def test_lang_sets_the_language_and_answers_in_it():
    outcome = run("LANG SW", member("en"))
    assert (outcome.command, outcome.language, outcome.remember_language) == ("LANG", "sw", "sw")
    assert only(outcome) == Reply("Jifen: tutakujibu kwa Kiswahili kuanzia sasa.", "sw")
    outcome = run("语言 中文", member(None))
    assert (outcome.remember_language, only(outcome).text) == ("zh", "积分：以后将用中文回复您。")
    assert run("LANGUE allemand", member("zh")).remember_language is None  # no German replies
    assert run("LANG español", member("zh")).remember_language == "es"


def test_lang_with_a_bad_language_says_which_ones_there_are():
    assert only(run("LANG DE", member("en"))).text == (
        'LANG: "DE" is not a language: EN, ZH, SW, FR or ES. Example: LANG EN')
    assert only(run("LANG", member("en"))).text == (
        "LANG needs a language: EN, ZH, SW, FR or ES. Example: LANG EN")


def test_lang_from_a_stranger_is_not_member_and_remembers_nothing():
    outcome = run("LANG FR", None)
    assert outcome.remember_language is None
    assert only(outcome).text.startswith("This number is not registered")


@pytest.mark.parametrize("who", [None, member("en")])
def test_stop_and_start_for_members_and_strangers(who):
    services = FakeServices()
    assert only(run("STOP", who, services)).text == (
        "Jifen: you will get no more promotional messages. Replies to your own requests still come. "
        "Send START to get offers again.")
    assert only(run("UNSTOP", who, services)).text == (
        "Jifen: promotional messages are back on. Send STOP to stop them.")
    assert services.opt_outs == [("8613800138000", True), ("8613800138000", False)]


def test_stop_in_chinese_with_the_one_letter_word():
    services = FakeServices()
    outcome = run("T", member(None), services)
    assert (outcome.command, outcome.remember_language) == ("STOP", "zh")
    assert only(outcome).text == "积分：已退订推广短信，您自己的查询照常回复。发送 订阅 可恢复。"
    assert services.opt_outs == [("8613800138000", True)]


@pytest.mark.parametrize("text", ["STOP please", "stop it", "T 1234", "退订了"])
def test_stop_words_inside_a_sentence_do_not_opt_out(text):
    services = FakeServices()
    assert run(text, member("en"), services).command is None
    assert services.opt_outs == []


def test_balance_from_a_non_member_is_not_member_and_never_asks_the_ledger():
    services = FakeServices()
    outcome = run("BAL", None, services)
    assert outcome.command == "BAL"
    assert only(outcome).text.startswith("This number is not registered with Jifen Rewards.")
    assert only(run("余额")).text.startswith("本号码尚未加入积分奖励计划")
    assert services.asked == []


@pytest.mark.parametrize("who", [None, member(None), member("en")])
def test_unknown_keyword_is_not_understood_for_anyone(who):
    outcome = run("xyz", who)
    assert outcome.command is None and outcome.remember_language is None
    assert only(outcome).text == (
        'Sorry, we did not understand "xyz". Send BAL for your balance or HELP for help.'
    )


def test_ledger_unavailable_means_try_later():
    outcome = run("bal", member("zh"), FakeServices(error=ServiceUnavailable("ledger down")))
    assert outcome == Outcome((Reply("抱歉，服务繁忙，请几分钟后再试。", "zh"),), "BAL", "zh", None)


def test_other_service_errors_reach_the_pipeline():
    with pytest.raises(RuntimeError):
        run("bal", member("en"), FakeServices(error=RuntimeError("bug")))


def test_help_reflects_a_renamed_keyword():
    renamed = KeywordTable.from_mapping({"commands": {
        "BAL": {"en": ["SALDO", "BAL"], "zh": ["查余额", "余额"]},
        "HELP": {"args": ["topic:text?"], "en": ["MENU"], "zh": ["帮助"]},
    }})
    assert only(run("menu", table=renamed)).text == "Jifen: SALDO balance. MENU + keyword explains it."
    assert only(run("帮助", table=renamed)).text == "积分指令：查余额。发“帮助 指令”看说明。"
    assert only(run("xyz", table=renamed)).text.endswith("Send SALDO for your balance or MENU for help.")


members = st.one_of(st.none(), st.builds(member, st.sampled_from([None, "en", "zh", "sw", "fr", "es", "de"])))
texts = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=())),
    st.builds(" ".join, st.lists(st.sampled_from(
        ["BAL", "余额", "help", "帮助", "?", "。", "😀", "RICE5", "ＢＡＬ", "REDEEM", "兑换", "x2", "1234",
         "LANG", "SW", "中文", "STOP", "T", "YES", "4821", "RDM", "0712 345 678", "BLANCE", "HLEP"]))),
)


@given(texts, members, st.sampled_from(["en", "zh", "fr", "de"]), st.integers(0, 10**9), st.integers(0, 10**8))
def test_any_text_gets_exactly_one_reply_that_fits(text, who, default, available, on_hold):
    outcome = run(text, who, FakeServices({7: Balance(available, on_hold)}), default=default)
    reply_ = only(outcome)
    assert fits(reply_.text), reply_.text
    assert reply_.language == outcome.language
    assert outcome.language in languages()
    assert outcome.command is None or outcome.command in TABLE.commands
