"""The values that cross between the agent command handlers (agent.py) and the agency service.

`AgentServices` is the part of `context.Services` the agent commands use; the pipeline's services
delegate it to gateway/agency/.  Every answer is a plain frozen value naming what happened
(`outcome`, a template suffix) and the figures a reply needs, so the handlers only choose words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Refusal:
    """Why an agent's or member's request was refused: a reason code (logged and counted)."""

    code: str
    values: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, kw_only=True)
class Deal:
    """One assisted redemption as the replies describe it."""

    reference: str
    agent_code: str
    shop: str                                   # the agent's name, e.g. "Shop Li"
    agent_msisdn: str
    agent_language: str
    member_msisdn: str
    member_language: str
    item: Mapping[str, str] = field(hash=False)  # name by language
    quantity: int
    points: int


@dataclass(frozen=True, kw_only=True)
class Started:
    deal: Deal
    member_shown: str          # "0712***678 JANE W."
    code: str | None           # the member's confirmation code; None when this RDM ran before
    queued: bool = False       # the hold waits for the central ledger: the replies come later


@dataclass(frozen=True, kw_only=True)
class Answered:
    """The member's YES or NO. ``outcome``: approved, refused, wrong_code, cancelled, expired;
    queued: the approval waits for the central ledger, and the receipts go when it posts."""

    outcome: str
    deal: Deal
    attempts_left: int = 0
    commission: int = 0        # the serving agent's share, on approval
    balance: int = 0           # the member's available points afterwards
    dispute_hours: int = 24    # how long the member may DISPUTE it, for the receipt


@dataclass(frozen=True, kw_only=True)
class AgentFigures:
    agent_code: str
    commission: int            # points earned (after claw-backs)
    settlement: str            # owed for goods, in the currency's major units, e.g. "1,250.00"
    currency: str
    count: int = 0             # redemptions in the period (SALES)
    points: int = 0


@dataclass(frozen=True, kw_only=True)
class Reversed:
    deal: Deal
    commission: int            # clawed back from the chain, in all
    queued: bool = False       # waits for the central ledger: both sides are told when it posts


class AgentServices(Protocol):
    def start_assisted(self, *, agent_msisdn: str, member_msisdn: str, item: str, quantity: int,
                       pin: str | None, key: str, short_code: str,
                       language: str) -> Started | Refusal: ...

    def answer_assisted(self, *, msisdn: str, code: str, approve: bool) -> Answered | Refusal: ...

    def agent_figures(self, *, agent_msisdn: str, period: str | None) -> AgentFigures | Refusal:
        """AGBAL (period None: everything) or SALES (period: today, week, month)."""

    def reverse_assisted(self, *, agent_msisdn: str, reference: str) -> Reversed | Refusal: ...

    def dispute_assisted(self, *, msisdn: str, reference: str | None) -> Deal | Refusal: ...

    def set_agent_pin(self, *, agent_msisdn: str, pin: str,
                      new_pin: str | None) -> str | Refusal:
        """AGPIN: "set" (the first PIN) or "changed" (``pin`` the old one)."""

    def notify(self, msisdn: str, short_code: str, text: str, language: str, key: str) -> None:
        """Queue an SMS to another phone than the sender's, once per ``key``."""
