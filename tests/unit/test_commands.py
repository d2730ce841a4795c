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
from gateway.commands.replies import fits

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
TABLE = KeywordTable.load(KEYWORDS)


@dataclass
class FakeServices:
    """An in-memory ledger: balances per account, or an exception to raise."""

    balances: dict[int, Balance] = field(default_factory=lambda: {7: Balance(1350, 0)})
    error: Exception | None = None
    asked: list[int] = field(default_factory=list)

    def points_balance(self, account_id: int) -> Balance:
        self.asked.append(account_id)
        if self.error is not None:
            raise self.error
        return self.balances[account_id]


def member(language=None):
    return Member(id=1, msisdn="8613800138000", name="Wang", language=language, points_account=7)


def run(text, who=None, services=None, table=TABLE, default="en") -> Outcome:
    request = Request("8613800138000", "10655", text, who, message_id=42)
    return execute(request, table, services or FakeServices(), default)


def only(outcome: Outcome) -> Reply:
    assert len(outcome.replies) == 1
    return outcome.replies[0]


def test_public_names_are_the_implementations():
    from gateway.commands import context, dispatch, grammar

    assert commands.execute is dispatch.execute
    assert commands.parse is grammar.parse
    assert commands.Member is context.Member
    assert set(commands.__all__) <= set(dir(commands))


def test_balance_for_member_in_english():
    outcome = run("bal", member("en"))
    assert outcome == Outcome(
        (Reply("Jifen: your balance is 1,350 pts.", "en"),), "BAL", "en", None
    )


def test_balance_shows_the_hold_and_asks_the_members_account():
    services = FakeServices({7: Balance(1350, 1000)})
    assert only(run("余额", member("zh"), services)).text == "积分余额：1,350分（冻结1,000分）。"
    assert services.asked == [7]


def test_member_language_wins_over_the_keyword_language():
    outcome = run("余额", member("en"))
    assert (outcome.language, outcome.remember_language) == ("en", None)
    assert only(outcome).text == "Jifen: your balance is 1,350 pts."


def test_keyword_language_is_used_and_remembered_for_a_member_without_one():
    outcome = run("查询积分", member(None))
    assert (outcome.command, outcome.language, outcome.remember_language) == ("BAL", "zh", "zh")
    assert only(outcome) == Reply("积分余额：1,350分。", "zh")


def test_nothing_is_remembered_when_not_understood():
    outcome = run("兑换RICE5", member(None))
    assert (outcome.command, outcome.language, outcome.remember_language) == (None, "zh", None)


def test_member_without_language_sending_unknown_latin_text_gets_the_default():
    outcome = run("xyz", member(None), default="zh")
    assert outcome.language == "zh"
    assert only(outcome).text.startswith("抱歉，无法识别“xyz”")


def test_member_language_without_templates_falls_back():
    outcome = run("帮助", member("fr"))
    assert outcome.language == "zh"
    outcome = run("xyz", member("fr"), default="sw")
    assert outcome.language == "en"


def test_help_works_for_anyone():
    outcome = run("HELP")
    assert outcome == Outcome(
        (Reply("Jifen: send BAL for your balance, HELP for help.", "en"),), "HELP", "en", None
    )
    assert only(run("帮助")).text == "积分：发送 余额 查询积分，帮助 获取帮助。"
    assert only(run("？")).language == "en"


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


def test_chinese_text_from_a_stranger_is_answered_in_chinese():
    outcome = run("你好")
    assert only(outcome) == Reply("抱歉，无法识别“你好”。发送 余额 查询积分，帮助 获取帮助。", "zh")


def test_ledger_unavailable_means_try_later():
    outcome = run("bal", member("zh"), FakeServices(error=ServiceUnavailable("ledger down")))
    assert outcome == Outcome((Reply("抱歉，服务繁忙，请几分钟后再试。", "zh"),), "BAL", "zh", None)


def test_other_service_errors_reach_the_pipeline():
    with pytest.raises(RuntimeError):
        run("bal", member("en"), FakeServices(error=RuntimeError("bug")))


def test_help_reflects_a_renamed_keyword():
    renamed = KeywordTable.from_mapping(
        {
            "commands": {
                "BAL": {"en": ["SALDO", "BAL"], "zh": ["查余额", "余额"]},
                "HELP": {"en": ["MENU"], "zh": ["帮助"]},
            }
        }
    )
    assert only(run("menu", table=renamed)).text == "Jifen: send SALDO for your balance, MENU for help."
    assert only(run("帮助", table=renamed)).text == "积分：发送 查余额 查询积分，帮助 获取帮助。"
    assert only(run("xyz", table=renamed)).text.endswith("Send SALDO for your balance or MENU for help.")


def test_configured_command_without_a_handler_is_not_understood():
    table = KeywordTable.from_mapping(
        {"commands": {"BAL": {"en": ["BAL"]}, "HELP": {"en": ["HELP"]}, "FROB": {"en": ["FROB"]}}}
    )
    outcome = run("frob", member(None), table=table)
    assert (outcome.command, outcome.remember_language) == (None, None)
    assert only(run("help", table=table)).text == "Jifen: send BAL for your balance, HELP for help."


members = st.one_of(
    st.none(), st.builds(member, st.sampled_from([None, "en", "zh", "fr"]))
)
texts = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=())),
    st.builds(
        " ".join,
        st.lists(st.sampled_from(["BAL", "余额", "help", "帮助", "?", "。", "😀", "RICE5", "ＢＡＬ"])),
    ),
)


@given(texts, members, st.sampled_from(["en", "zh", "fr"]), st.integers(0, 10**9), st.integers(0, 10**8))
def test_any_text_gets_exactly_one_reply_that_fits(text, who, default, available, on_hold):
    outcome = run(text, who, FakeServices({7: Balance(available, on_hold)}), default=default)
    reply = only(outcome)
    assert fits(reply.text), reply.text
    assert reply.language == outcome.language in ("en", "zh")
    assert outcome.command in (None, "BAL", "HELP")
