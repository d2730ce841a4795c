"""The largest realistic values of assisted redemption's templates, for tests/unit/test_replies.py.

Names (up to 60 characters, the agents table's and catalogue's limit) are cut by
commands/agent.py before rendering, so here they are given as the handler passes them at most:
the tests in test_agent_commands.py check the cutting itself.
"""

from __future__ import annotations

from gateway.commands.replies import TEMPLATES, render

PARTS = ("why.", "period.")          # rendered, and measured, inside assisted.refused / agent.sales
PREFIXES = ("assisted.", "agent.", "member.", *PARTS)

SHOP = "Duka la Mam."               # 12 characters: commands/agent.py cuts longer names
ITEM = "Mafuta ya k."
DEAL = dict(ref="R8K2PQ", agent="A123456789", qty=999, points=99_999_999, shop=SHOP, item=ITEM)
WHY_VALUES = dict(minutes=10_080, hours=720, ref="R8K2PQ", item="AIRTIME200", keyword="MALALAMIKO")


# A Chinese reply (70 characters) names a Chinese shop and item, and the amounts of one member.
ZH_DEAL = dict(DEAL, qty=99, points=999_999, shop="李记小卖部", item="大米5公斤")


def values(name: str, language: str, keyword) -> list[dict]:
    if name.startswith(PARTS):
        return []
    deal = ZH_DEAL if language == "zh" else DEAL
    member = "138***8000 *华华" if language == "zh" else "0712***678 WANJIRUMUTHO W."
    balance = 999_999 if language == "zh" else 99_999_999
    if name == "assisted.refused":
        return [{"why": render(why, language, **WHY_VALUES)}
                for why, lang in TEMPLATES if lang == language and why.startswith("why.")]
    figures = dict(agent="A123456789", commission=9_999_999, settlement="99,999,999.99",
                   currency="KES", count=9_999, points=99_999_999)
    return {
        "agent.asked": [dict(deal, member=member)],
        "agent.approved": [dict(DEAL, commission=9_999_999)],
        "agent.refused": [DEAL], "agent.cancelled": [DEAL], "agent.expired": [DEAL],
        "agent.balance": [figures],
        "agent.sales": [dict(figures, period=render(f"period.{p}", language))
                        for p in ("today", "week", "month")],
        "agent.sales_how": [{"keyword": keyword("SALES")}],
        "agent.reversed": [dict(DEAL, commission=9_999_999)],
        "member.prompt": [deal],
        "member.prompt.codes": [dict(yes=keyword("YES"), no=keyword("NO"), code="4821")],
        "member.approved": [dict(deal, balance=balance, hours=720, dispute=keyword("DISPUTE"))],
        "member.approved.central": [dict(deal, hours=720, dispute=keyword("DISPUTE"))],
        "agent.processing": [DEAL], "member.processing": [DEAL],
        "agent.pin_set": [{"rdm": keyword("RDM")}], "agent.pin_changed": [{}],
        "member.refused": [DEAL], "member.cancelled": [DEAL], "member.expired": [DEAL],
        "member.wrong_code": [{"left": 9}],
        "member.nothing_pending": [{}],
        "member.reversed": [DEAL],
        "member.dispute_opened": [DEAL], "member.dispute_rejected": [DEAL],
    }[name]
