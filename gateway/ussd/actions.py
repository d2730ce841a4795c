"""What a USSD menu may ask of the rest of the gateway: the `Actions` interface, and its catalogue.

Start at `Actions`. USSD is a second channel in front of the same commands as SMS, not a second
copy of the business logic: the pipeline implements `Actions` by calling the very handlers the SMS
keywords call (BAL, REDEEM, YES/NO, RDM, REV ...), so a menu leaf and a keyword give the same
answer, in the same words. Everything crossing here is a plain value, so the menus are tested with
a fake.

`ACTIONS` and `LISTS` are the catalogue the menu file may name: which role may call each, and
which values the dialogue must have gathered first. The loader checks every leaf of the menu file
against them at start-up, so "redeem" reached without an item is a config error, not a crash on a
phone.

Idempotency: each call that changes something gets `key`, derived from the dialogue and its step,
so a network retry of the same answer posts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ACTIONS", "LISTS", "PUSHED", "ROLES", "VALUE_TYPES", "ActionSpec", "ActionUnavailable",
           "Actions", "Caller", "Entry", "ListSpec"]

ROLES = ("member", "agent")
_ANYONE = ROLES


@dataclass(frozen=True)
class Caller:
    """Who is dialling: the phone, the role the gateway recognised it as, the menu language."""

    msisdn: str
    role: str
    language: str


@dataclass(frozen=True)
class Entry:
    """One line of a list (a catalogue item, a pending approval, a history line).

    ``key`` identifies it when chosen (item code, approval code); ``values`` fill the menu file's
    entry template and, when chosen, become values of the dialogue (see `LISTS` for the names).
    """

    key: str
    values: Mapping[str, str | int] = field(default_factory=dict)


class ActionUnavailable(Exception):
    """Raised by an `Actions` method when the ledger or database cannot answer now.

    The dialogue ends with the menu file's "try later" text. Anything else an action raises is a
    bug and propagates to the caller, which logs it and ends the dialogue the same way.
    """


class Actions(Protocol):
    """Implemented by the pipeline over the command handlers; every text is ready to show."""

    def balance(self, caller: Caller) -> str: ...
    def catalogue(self, caller: Caller) -> Sequence[Entry]: ...
    def item(self, caller: Caller, code: str) -> Entry | None: ...
    def redeem(self, caller: Caller, item: str, quantity: int, pin: str, key: str) -> str: ...
    def history(self, caller: Caller) -> Sequence[Entry]: ...
    def approvals(self, caller: Caller) -> Sequence[Entry]: ...
    def approve(self, caller: Caller, approval: str, pin: str, key: str) -> str: ...
    def refuse(self, caller: Caller, approval: str, pin: str, key: str) -> str: ...
    def set_language(self, caller: Caller, language: str) -> str: ...
    def agent_redeem(self, caller: Caller, msisdn: str, item: str, quantity: int, pin: str,
                     key: str) -> str: ...
    def commission(self, caller: Caller) -> str: ...
    def settlement(self, caller: Caller) -> str: ...
    def sales(self, caller: Caller) -> str: ...
    def reverse(self, caller: Caller, reference: str, pin: str, key: str) -> str: ...
    # A shop's request pushed to the member's phone (menus.push): answered without typing the
    # code, which the gateway that pushed still holds; YES / NO all the same.
    def approve_pushed(self, caller: Caller, approval: str, key: str) -> str: ...
    def refuse_pushed(self, caller: Caller, approval: str, key: str) -> str: ...


Values = Mapping[str, str | int]
# The values an action is called with are text, but for these.
VALUE_TYPES: Mapping[str, type] = {"quantity": int, "item_points": int, "total": int}
# What the gateway knows of a shop's request when it pushes it (the push screen's values): the
# redemption's reference as `approval`, never its confirmation code.
PUSHED = ("approval", "shop", "agent", "quantity", "item_name", "total")


@dataclass(frozen=True)
class ActionSpec:
    """A leaf of the menu: who may call it, what it needs gathered, how it is called."""

    roles: tuple[str, ...]
    needs: tuple[str, ...]
    call: Callable[[Actions, Caller, Values, str], str]


@dataclass(frozen=True)
class ListSpec:
    """A list screen's source: who may see it, the values each entry carries, how to fetch it.

    Choosing an entry sets ``fields`` in the dialogue: the first is the entry's key (the item or
    approval code), the others come from its values.
    """

    roles: tuple[str, ...]
    fields: tuple[str, ...]
    fetch: Callable[[Actions, Caller], Sequence[Entry]]


ACTIONS: Mapping[str, ActionSpec] = {
    "balance": ActionSpec(("member",), (), lambda a, c, v, k: a.balance(c)),
    "redeem": ActionSpec(("member",), ("item", "quantity", "pin"),
                         lambda a, c, v, k: a.redeem(c, v["item"], v["quantity"], v["pin"], k)),
    "approve": ActionSpec(("member",), ("approval", "pin"),
                          lambda a, c, v, k: a.approve(c, v["approval"], v["pin"], k)),
    "refuse": ActionSpec(("member",), ("approval", "pin"),
                         lambda a, c, v, k: a.refuse(c, v["approval"], v["pin"], k)),
    "approve_pushed": ActionSpec(("member",), ("approval",),
                                 lambda a, c, v, k: a.approve_pushed(c, v["approval"], k)),
    "refuse_pushed": ActionSpec(("member",), ("approval",),
                                lambda a, c, v, k: a.refuse_pushed(c, v["approval"], k)),
    "set_language": ActionSpec(_ANYONE, ("language",), lambda a, c, v, k: a.set_language(c, v["language"])),
    "agent_redeem": ActionSpec(
        ("agent",), ("msisdn", "item", "quantity", "pin"),
        lambda a, c, v, k: a.agent_redeem(c, v["msisdn"], v["item"], v["quantity"], v["pin"], k)),
    "commission": ActionSpec(("agent",), (), lambda a, c, v, k: a.commission(c)),
    "settlement": ActionSpec(("agent",), (), lambda a, c, v, k: a.settlement(c)),
    "sales": ActionSpec(("agent",), (), lambda a, c, v, k: a.sales(c)),
    "reverse": ActionSpec(("agent",), ("reference", "pin"),
                          lambda a, c, v, k: a.reverse(c, v["reference"], v["pin"], k)),
}

LISTS: Mapping[str, ListSpec] = {
    "catalogue": ListSpec(_ANYONE, ("item", "item_name", "item_points"), lambda a, c: a.catalogue(c)),
    "approvals": ListSpec(("member",), ("approval", "shop", "quantity", "item_name", "total"),
                          lambda a, c: a.approvals(c)),
    "history": ListSpec(_ANYONE, ("date", "what", "points"), lambda a, c: a.history(c)),
}
