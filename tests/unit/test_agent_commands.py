"""commands/agent.py with plain values: the prompt's one or two SMS, names cut to fit, SALES'
period words, and what a handler sends to whom (a fake Services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.commands import agent, dispatch
from gateway.commands.agent_values import Answered, Deal, Refusal, Started
from gateway.commands.context import Member, Request
from gateway.commands.grammar import KeywordTable
from gateway.commands.replies import fits, languages

TABLE = KeywordTable.load(Path(__file__).resolve().parents[2] / "config" / "keywords.toml")
LONG = "N" * 58 + "ab"                                  # 60 characters, the tables' limit


def deal(language: str = "en", name: str = "Shop Li", item: str = "Rice 5kg") -> Deal:
    return Deal(reference="R8K2P", agent_code="A1023", shop=name, agent_msisdn="254733000111",
                agent_language="en", member_msisdn="254712345678", member_language=language,
                item={"en": item, "zh": "大米5公斤" if item == "Rice 5kg" else item}, quantity=2,
                points=1_000)


class FakeServices:
    def __init__(self, **answers):
        self.answers = answers
        self.sent: list[tuple[str, str, str]] = []

    def start_assisted(self, **kwargs):
        self.rdm = kwargs
        return self.answers["rdm"]

    def answer_assisted(self, **kwargs):
        return self.answers["answer"]

    def notify(self, msisdn, short_code, text, language, key):
        self.sent.append((msisdn, text, key))


def run(text: str, services, sender="254733000111", member=None):
    request = Request(msisdn=sender, short_code="10655", text=text, member=member, message_id=41)
    return dispatch.execute(request, TABLE, services, "en", region="KE")


def test_the_prompt_is_one_sms_in_english_and_two_in_chinese():
    english = agent.prompt(deal("en"), "4821", TABLE)
    assert english == ["Jifen: Shop Li (A1023) asks to redeem 2 x Rice 5kg for 1,000 pts. "
                       "Reply YES 4821 to approve, NO 4821 to refuse. Never share your PIN."]
    chinese = agent.prompt(deal("zh", name="李记小卖部"), "4821", TABLE)
    assert len(chinese) == 2 and "4821" in chinese[1] and "PIN" in chinese[1]
    assert all(fits(text) for text in chinese)


@pytest.mark.parametrize("language", languages())
def test_every_reply_about_a_deal_fits_with_the_longest_names(language):
    long_deal = deal(language, name=LONG, item=LONG)
    assert all(fits(text) for text in agent.prompt(long_deal, "4821", TABLE))
    for template in ("agent.approved", "agent.refused", "agent.cancelled", "agent.expired",
                     "agent.reversed", "member.approved", "member.expired", "member.reversed",
                     "member.dispute_rejected"):
        shown = agent.shrunk(language, template, long_deal, commission=9_999, balance=99_999,
                             hours=24, dispute="DISPUTE")
        assert fits(shown.text), (template, shown.text)


@pytest.mark.parametrize(("word", "period"), [
    (None, "today"), ("week", "week"), ("MWEZI", "month"), ("本月", "month"),
    ("aujourd'hui", "today"), ("later", None)])
def test_sales_period_words(word, period):
    assert agent.period_of(word) == period


def test_rdm_prompts_the_member_once_and_tells_the_agent_who_was_asked():
    services = FakeServices(rdm=Started(deal=deal(), member_shown="0712***678 JANE W.", code="4821"))
    outcome = run("RDM 0712345678 RICE5 2", services)
    assert services.rdm["key"] == "mo:41" and services.rdm["quantity"] == 2
    assert [(to, key) for to, _, key in services.sent] == [("254712345678", "ardm:R8K2P:prompt:0")]
    assert outcome.replies[0].text.startswith("Jifen: asked 0712***678 JANE W. to approve 2 x")
    services = FakeServices(rdm=Started(deal=deal(), member_shown="x", code=None))
    run("RDM 0712345678 RICE5 2", services)
    assert services.sent == []                     # the same RDM again: no second prompt


def test_a_refused_rdm_says_why():
    services = FakeServices(rdm=Refusal("velocity", {"minutes": 1}))
    assert run("RDM 0712345678 RICE5", services).replies[0].text == (
        "Jifen: not done. Too many requests. Try again in 1 min.")


def test_yes_tells_the_agent_and_the_member_and_no_phone_gets_nothing_pending():
    jane = Member(1, "254712345678", "Jane", "en", 1)
    services = FakeServices(answer=Answered(outcome="approved", deal=deal(), commission=20,
                                            balance=350))
    outcome = run("YES 4821", services, sender="254712345678", member=jane)
    assert services.sent[0][0] == "254733000111" and "Commission 20 pts." in services.sent[0][1]
    assert "Balance 350. Ref R8K2P" in outcome.replies[0].text
    services = FakeServices(answer=Refusal("nothing_pending"))
    assert "no redemption" in run("YES 4821", services, sender="254799999999").replies[0].text
    assert services.sent == []
