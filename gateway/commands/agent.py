"""Handlers for assisted redemption: RDM, AGBAL, SALES, REV, AGPIN from a shop agent's phone; YES, NO
and DISPUTE from the member's.

The exchange (docs/architecture.md, "Agents"): the agent sends RDM; the member gets a prompt with
a code (`notify`: an SMS to another phone than the sender's, keyed by the redemption's reference so
a retry cannot send it twice) and the agent a reply naming the member as masked ("0712***678 JANE
W."), so a mistyped number is caught before anything is spent; the member's YES or NO answers it
and the agent is told.  Everything that touches data goes through `Services` (agent_values.py);
every refusal is a reason code, answered here with the `why.<code>` sentence.

With the central ledger an RDM, a YES and a REV only queue their batch (``queued``): the handler
answers nothing then, and gateway/agency/queued.py sends the same replies, as SMS to each phone,
when the ledger has answered (or "being processed" if it cannot be reached).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.commands.agent_values import Answered, Deal, Refusal
from gateway.commands.context import Invocation, Reply
from gateway.commands.grammar import KeywordTable
from gateway.commands.handlers import Handler, reply
from gateway.commands.replies import fits, render

# Words for SALES' period, any language; the first of each is what the reply says.
PERIOD_WORDS: Mapping[str, tuple[str, ...]] = {
    "today": ("TODAY", "DAY", "D", "今天", "今日", "LEO", "AUJOURDHUI", "JOUR", "HOY", "DIA"),
    "week": ("WEEK", "W", "本周", "周", "WIKI", "SEMAINE", "SEMANA"),
    "month": ("MONTH", "M", "本月", "月", "MWEZI", "MOIS", "MES"),
}
NOTIFIED = ("approved", "refused", "cancelled", "expired")   # the agent hears of these
_SHORTEST_NAME = 12   # a prompt whose names would be cut below this goes as two SMS instead


def rdm(invocation: Invocation) -> tuple[Reply, ...]:
    """RDM <member> <item> [qty] [PIN]: hold the member's points and ask them to approve."""
    request, args, language = invocation.request, invocation.command.args, invocation.language
    started = invocation.services.start_assisted(
        agent_msisdn=request.msisdn, member_msisdn=str(args["msisdn"]), item=str(args["item"]),
        quantity=args.get("qty"), pin=args.get("pin"), key=f"mo:{request.message_id}",
        short_code=request.short_code, language=language)
    if isinstance(started, Refusal):
        return (refused(language, started),)
    if started.queued:
        return ()
    deal = started.deal
    if started.code is not None:
        for n, text in enumerate(prompt(deal, started.code, invocation.table)):
            invocation.services.notify(deal.member_msisdn, request.short_code, text,
                                       deal.member_language, f"ardm:{deal.reference}:prompt:{n}")
    return (shrunk(language, "agent.asked", deal, member=started.member_shown),)


def prompt(deal: Deal, code: str, table: KeywordTable) -> list[str]:
    """The member's prompt: one SMS if it fits (names cut down to a point), else two: who asks for
    what, then how to answer (Chinese, whose SMS holds 70 characters)."""
    language = deal.member_language
    codes = render("member.prompt.codes", language, yes=table.display("YES", language),
                   no=table.display("NO", language), code=code)
    for limit in range(60, _SHORTEST_NAME - 1, -1):
        asks = _about(language, "member.prompt", deal, limit)
        joined = asks + ("" if asks.endswith("。") else " ") + codes
        if fits(joined):
            return [joined]
    return [shrunk(language, "member.prompt", deal).text, codes]


def answer(approve: bool) -> Handler:
    def handler(invocation: Invocation) -> tuple[Reply, ...]:
        """YES <code> / NO <code>: only from the member's own phone."""
        request, language = invocation.request, invocation.language
        answered = invocation.services.answer_assisted(
            msisdn=request.msisdn, code=str(invocation.command.args["code"]), approve=approve)
        if isinstance(answered, Refusal):
            return (reply(language, "member.nothing_pending"),)
        if answered.outcome == "queued":
            return ()
        deal = answered.deal
        if answered.outcome in NOTIFIED:
            told = shrunk(deal.agent_language, f"agent.{answered.outcome}", deal,
                          commission=answered.commission)
            invocation.services.notify(deal.agent_msisdn, request.short_code, told.text,
                                       told.language, f"ardm:{deal.reference}:{answered.outcome}:a")
        return (member_reply(invocation, answered),)

    handler.__name__ = "yes" if approve else "no"
    return handler


def member_reply(invocation: Invocation, answered: Answered) -> Reply:
    language = invocation.language
    return shrunk(language, f"member.{answered.outcome}", answered.deal,
                  left=answered.attempts_left, balance=answered.balance,
                  hours=answered.dispute_hours,
                  dispute=invocation.table.display("DISPUTE", language))


def agent_balance(invocation: Invocation) -> tuple[Reply, ...]:
    """AGBAL: commission earned and what the shop is owed for goods handed over."""
    figures = invocation.services.agent_figures(agent_msisdn=invocation.request.msisdn, period=None)
    if isinstance(figures, Refusal):
        return (refused(invocation.language, figures),)
    return (reply(invocation.language, "agent.balance", agent=figures.agent_code,
                  commission=figures.commission, settlement=figures.settlement,
                  currency=figures.currency),)


def sales(invocation: Invocation) -> tuple[Reply, ...]:
    """SALES [today|week|month]: the agent's redemptions and commission in the period."""
    language, word = invocation.language, invocation.command.args.get("text")
    period = period_of(word)
    if period is None:
        return (reply(language, "agent.sales_how", keyword=invocation.command.keyword),)
    figures = invocation.services.agent_figures(agent_msisdn=invocation.request.msisdn,
                                                period=period)
    if isinstance(figures, Refusal):
        return (refused(language, figures),)
    return (reply(language, "agent.sales", agent=figures.agent_code,
                  period=render(f"period.{period}", language), count=figures.count,
                  points=figures.points, commission=figures.commission,
                  settlement=figures.settlement, currency=figures.currency),)


def period_of(word: object) -> str | None:
    if word is None:
        return "today"
    folded = "".join(str(word).split()).upper().replace("'", "").replace("’", "")
    return next((period for period, words in PERIOD_WORDS.items() if folded in words), None)


def reverse(invocation: Invocation) -> tuple[Reply, ...]:
    """REV <ref>: within the reversal window; the member's points back and the member told."""
    request, language = invocation.request, invocation.language
    done = invocation.services.reverse_assisted(agent_msisdn=request.msisdn,
                                                reference=str(invocation.command.args["reference"]))
    if isinstance(done, Refusal):
        return (refused(language, done),)
    if done.queued:
        return ()
    deal = done.deal
    told = shrunk(deal.member_language, "member.reversed", deal)
    invocation.services.notify(deal.member_msisdn, request.short_code, told.text, told.language,
                               f"ardm:{deal.reference}:reversed:m")
    return (shrunk(language, "agent.reversed", deal, commission=done.commission),)


def dispute(invocation: Invocation) -> tuple[Reply, ...]:
    """DISPUTE <ref>: the member puts a redemption under review within the dispute window."""
    language = invocation.language
    opened = invocation.services.dispute_assisted(
        msisdn=invocation.request.msisdn, reference=invocation.command.args.get("reference"))
    if isinstance(opened, Refusal):
        return (refused(language, opened, keyword=invocation.command.keyword),)
    return (reply(language, "member.dispute_opened", ref=opened.reference),)


def agent_pin(invocation: Invocation) -> tuple[Reply, ...]:
    """AGPIN <new> the first time, AGPIN <old> <new> to change it: the PIN RDM asks for."""
    args, language = invocation.command.args, invocation.language
    new_pin = args.get("new_pin")
    done = invocation.services.set_agent_pin(
        agent_msisdn=invocation.request.msisdn, pin=args["pin"],
        new_pin=new_pin)
    if isinstance(done, Refusal):
        return (refused(language, done, keyword=invocation.command.keyword),)
    return (reply(language, f"agent.pin_{done}", rdm=invocation.table.display("RDM", language)),)


def refused(language: str, refusal: Refusal, **values: object) -> Reply:
    why = render(f"why.{refusal.code}", language, **{**refusal.values, **values})
    return reply(language, "assisted.refused", why=why)


def shrunk(language: str, template: str, deal: Deal, **values: object) -> Reply:
    """`template` about `deal`, its shop and item names cut (never the figures) to fit one SMS."""
    for limit in range(60, 3, -1):
        text = _about(language, template, deal, limit, **values)
        if fits(text):
            break
    return Reply(text, language)


def _about(language: str, template: str, deal: Deal, limit: int, **values: object) -> str:
    item = deal.item.get(language) or deal.item.get("en") or next(iter(deal.item.values()), "")
    return render(template, language, ref=deal.reference, agent=deal.agent_code, qty=deal.quantity,
                  points=deal.points, shop=_cut(deal.shop, limit), item=_cut(item, limit), **values)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "."


def expiry_notices(deal: Deal) -> list[tuple[str, Reply, str]]:
    """(to, reply, key) for both sides of a redemption that expired unanswered."""
    return [(deal.member_msisdn, shrunk(deal.member_language, "member.expired", deal),
             f"ardm:{deal.reference}:expired:m"),
            (deal.agent_msisdn, shrunk(deal.agent_language, "agent.expired", deal),
             f"ardm:{deal.reference}:expired:a")]


def dispute_decided(deal: Deal, upheld: bool) -> tuple[str, Reply, str]:
    """(to, reply, key) telling the member the operator's decision on their dispute."""
    template = "member.reversed" if upheld else "member.dispute_rejected"
    return (deal.member_msisdn, shrunk(deal.member_language, template, deal),
            f"ardm:{deal.reference}:dispute:m")


HANDLERS: Mapping[str, Handler] = {
    "RDM": rdm,
    "YES": answer(True),
    "NO": answer(False),
    "AGBAL": agent_balance,
    "SALES": sales,
    "REV": reverse,
    "AGPIN": agent_pin,
    "DISPUTE": dispute,
}
