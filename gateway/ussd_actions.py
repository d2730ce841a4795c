"""The USSD menus' `Actions`, over the very command handlers and `Services` the SMS keywords use.

Start at `CommandActions`. USSD is a second channel in front of the same commands: a menu leaf
builds the `Command` its SMS keyword would have parsed to (BAL, REDEEM <item> <qty> <PIN>, LANG
<language> ...) and runs the handler `dispatch` would have run, with the same `Services`, so both
channels answer in the same words and change the same rows. Lists (catalogue, history) read the
same `Services` methods the CAT and HIST handlers read.

One thing differs: the idempotency key. An SMS command's key derives from its inbox row; a
menu's from the dialogue and its step (menu.py), so the network retrying an answer posts once.
`_Keyed` hands the handler's service calls the menu's key instead.

Agents and members share it: an agent's menu leaves run RDM, AGBAL, SALES and REV with the
agent's phone as the sender, as if typed by SMS. A member's pending approvals are the shop
requests still waiting (`pending_deals`); approving or refusing one runs YES or NO with the
confirmation code from the member's prompt SMS, typed in the menu: the same proof the SMS channel
asks for, checked by the same code (a wrong code counts towards cancelling, as by SMS). A request
pushed to the member's phone (ussd_push.py) is answered with one key: YES or NO run with the code
the pushing gateway kept (`pushed_code`); without it the member is told to use the SMS's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from gateway import msisdn as phone_numbers
from gateway.agency.service import PENDING
from gateway.commands import dispatch
from gateway.commands.arguments import Secret
from gateway.commands.context import Invocation, Member, Request, ServiceUnavailable
from gateway.commands.agent_values import Deal
from gateway.commands.grammar import Command, KeywordTable
from gateway.commands.replies import render
from gateway.queued_debits import PROCESSING
from gateway.store.tables_agents import agent_redemptions
from gateway.ussd.actions import ActionUnavailable, Caller, Entry
from ledger_client import as_utc

__all__ = ["CommandActions", "pending_deals"]


class CommandActions:
    """`gateway.ussd.Actions` for one USSD request, inside that request's transaction."""

    def __init__(self, services: Any, table: KeywordTable, *, member: Member | None,
                 short_code: str, region: str, default_language: str, request_id: int,
                 now: Callable[[], datetime], pending: Callable[[], Sequence[Deal]] = tuple,
                 pushed_code: Callable[[str, str], str | None] = lambda msisdn, reference: None,
                 answer_by_sms: Callable[[str], str] = lambda language: ""):
        self._services, self._table = services, table
        self._pending = pending
        self._pushed_code, self._answer_by_sms = pushed_code, answer_by_sms
        self._member, self._short_code = member, short_code
        self._region, self._default_language = region, default_language
        self._request_id, self._now = request_id, now
        self.language_chosen: str | None = None  # LANG from the menu: the caller stores it

    @property
    def sms_queued(self) -> int:
        """SMS the actions queued for other phones (notices), for the sender to be woken."""
        return getattr(self._services, "notified", 0)

    # --- text answers: the SMS handlers ---------------------------------------------------------

    def balance(self, caller: Caller) -> str:
        return self._run(caller, "BAL", {})

    def redeem(self, caller: Caller, item: str, quantity: int, pin: str, key: str) -> str:
        return self._run(caller, "REDEEM", {"item": item, "qty": quantity, "pin": Secret(pin)}, key)

    def set_language(self, caller: Caller, language: str) -> str:
        text = self._run(caller, "LANG", {"language": language})
        if self._member is not None:
            self.language_chosen = language
        return text

    def approve(self, caller: Caller, approval: str, pin: str, key: str) -> str:
        # `pin` is the confirmation code of the prompt SMS: YES checks it as if texted.
        return self._run(caller, "YES", {"code": Secret(pin)}, key)

    def refuse(self, caller: Caller, approval: str, pin: str, key: str) -> str:
        return self._run(caller, "NO", {"code": Secret(pin)}, key)

    def approve_pushed(self, caller: Caller, approval: str, key: str) -> str:
        return self._answer_pushed(caller, approval, key, "YES")

    def refuse_pushed(self, caller: Caller, approval: str, key: str) -> str:
        return self._answer_pushed(caller, approval, key, "NO")

    def _answer_pushed(self, caller: Caller, approval: str, key: str, command: str) -> str:
        # The pushed screen reached this phone and only it, as the prompt SMS does: the code the
        # gateway drew for it is the proof, never shown or stored (ussd_push.py).
        code = self._pushed_code(caller.msisdn, approval)
        if code is None:
            return self._answer_by_sms(caller.language)
        return self._run(caller, command, {"code": Secret(code)}, key)

    def agent_redeem(self, caller: Caller, msisdn: str, item: str, quantity: int, pin: str,
                     key: str) -> str:
        # The number as typed (0712...): normalised as the SMS grammar's msisdn argument does.
        member = phone_numbers.normalize(msisdn, self._region) or msisdn
        return self._run(caller, "RDM", {"msisdn": member, "item": item, "qty": quantity,
                                         "pin": Secret(pin)}, key)

    def commission(self, caller: Caller) -> str:
        return self._run(caller, "AGBAL", {})

    def settlement(self, caller: Caller) -> str:
        return self._run(caller, "AGBAL", {})

    def sales(self, caller: Caller) -> str:
        return self._run(caller, "SALES", {})

    def reverse(self, caller: Caller, reference: str, pin: str, key: str) -> str:
        return self._run(caller, "REV", {"reference": reference, "pin": Secret(pin)}, key)

    # --- lists: the Services the CAT and HIST handlers read ----------------------------------------

    def catalogue(self, caller: Caller) -> Sequence[Entry]:
        entries = self._ask(lambda s: s.catalogue(caller.language), ())
        return [Entry(e.code, {"item_name": e.name, "item_points": e.price}) for e in entries]

    def item(self, caller: Caller, code: str) -> Entry | None:
        code = code.upper()
        return next((entry for entry in self.catalogue(caller) if entry.key == code), None)

    def history(self, caller: Caller) -> Sequence[Entry]:
        if self._member is None:
            return []
        moves = self._ask(lambda s: s.history(self._member, 20), ())
        return [Entry(str(n), {"date": m.at.strftime("%d/%m"), "points": f"{m.points:+,}",
                               "what": _what(m, caller.language)}) for n, m in enumerate(moves)]

    def approvals(self, caller: Caller) -> Sequence[Entry]:
        if self._member is None:
            return []
        return [Entry(deal.reference, {
            "shop": deal.shop, "quantity": deal.quantity, "total": deal.points,
            "item_name": deal.item.get(caller.language) or next(iter(deal.item.values()), "")})
            for deal in self._pending()]

    # --- plumbing ------------------------------------------------------------------------------

    def _ask(self, call, missing):
        """A `Services` list, or `missing` while that service is still to come."""
        try:
            return call(self._services)
        except AttributeError:
            return missing
        except ServiceUnavailable as error:
            raise ActionUnavailable(str(error)) from None

    def _run(self, caller: Caller, name: str, args: dict, key: str | None = None) -> str:
        """The reply text of the SMS command `name` with `args`, run by its own handler."""
        request = Request(msisdn=caller.msisdn, short_code=self._short_code, text="",
                          member=self._member, message_id=self._request_id)
        language = dispatch.reply_language(request, caller.language, self._default_language)
        command = Command(name, args, language=language, keyword=name)
        handler = dispatch.HANDLERS.get(name)
        if handler is None:
            return dispatch._not_available(name, self._table, language).text
        services = self._services if key is None else _Keyed(self._services, key)
        invocation = Invocation(request, command, language, self._table, services, self._region)
        answers, _ = dispatch._run(handler, invocation, None)
        return "\n".join(answer.text for answer in answers)


class _Keyed:
    """The same `Services`, but every call that takes an idempotency key gets the menu's."""

    def __init__(self, services: Any, key: str):
        self._services, self._key = services, key

    def __getattr__(self, name: str):
        found = getattr(self._services, name)
        if not callable(found):
            return found

        def call(*args, **kwargs):
            if "key" in kwargs:
                kwargs["key"] = f"ussd:{self._key}"
            return found(*args, **kwargs)
        return call


def pending_deals(conn, agency, msisdn: str, now: datetime) -> list[Deal]:
    """The shop requests still waiting for this member's answer, newest first (none without
    an agent network)."""
    if agency is None:
        return []
    rows = conn.execute(select(agent_redemptions).where(and_(
        agent_redemptions.c.member_msisdn == msisdn, agent_redemptions.c.state == PENDING))
        .order_by(agent_redemptions.c.created_at.desc(), agent_redemptions.c.id.desc())).all()
    return [agency.deal(conn, row) for row in rows if as_utc(row.expires_at) > now]


def _what(movement, language: str) -> str:
    """A history entry's last words: its reference, and HIST's "processing" while it is queued
    for the central ledger (queued_debits.py), so the screen and the SMS say the same."""
    if movement.what != PROCESSING:
        return movement.reference or movement.what
    return f"{movement.reference or ''} {render('hist.processing', language)}".strip()
