"""The values that cross the boundary between the pipeline and the commands.

The pipeline builds a `Request` from an inbox row, hands it to `dispatch.execute` together with a
`Services` object (its own adapter over the ledger), and stores the `Outcome` it gets back. Keeping
these as plain frozen values is what lets the command code stay pure: it never sees a session, a
transaction or a reactor, so it is tested with literals and can be called from any thread.

`Invocation` is the other side: what a command handler receives. It lives here, not in dispatch.py,
so that handler modules (member.py, later agent.py) can name it without importing the dispatcher
that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gateway.commands.grammar import Command, KeywordTable
from gateway.commands.agent_values import AgentServices


@dataclass(frozen=True)
class Member:
    id: int
    msisdn: str
    name: str
    language: str | None  # None until the member has shown which language they use
    points_account: int


@dataclass(frozen=True)
class Balance:
    """A points balance in whole points; the ledger never deals in fractions."""

    available: int
    on_hold: int


@dataclass(frozen=True)
class CatalogEntry:
    """A reward a member can redeem now (on sale, in stock), named in the member's language."""

    code: str
    name: str
    category: str
    kind: str  # "goods" (at an agent's shop), "voucher" (a code by SMS) or "airtime"
    price: int  # points per unit


@dataclass(frozen=True)
class Redeemed:
    """A redemption made, or already made by an earlier run of the same message."""

    reference: str  # R8K2P
    code: str  # the item's catalogue code
    item: str  # the item's name in the reply's language
    kind: str
    quantity: int
    points: int
    state: str  # "completed", or "processing" while the central ledger has it queued
    voucher_codes: tuple[str, ...] = ()  # only when just issued: for the reply, never a log


@dataclass(frozen=True)
class Refused:
    """Why a redemption or a PIN change was refused, with the figures a reply may show.

    ``reason`` is one of the backend's refusal names (gateway/redeem/refusals.py):
    "unknown_item", "sold_out", "wrong_pin" ...; ``details`` holds plain ints and strings.
    """

    reason: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Movement:
    """One line of a member's history: points in (+) or out (-), and why."""

    at: datetime
    points: int
    what: str  # "issue", "redeem", "reverse" ...: the ledger's code for the movement
    reference: str | None


class ServiceUnavailable(Exception):
    """Raised by a `Services` method when the ledger cannot answer right now.

    The dispatcher turns it into the reply named by `template` (`try_later` unless a subclass says
    better). Any other exception is a bug and is left to reach the pipeline, which keeps the
    message in its inbox rather than answer it wrongly.
    """

    template = "try_later"


class Services(AgentServices, Protocol):
    """What the commands may ask of the rest of the system; implemented by the pipeline.

    Calls run inside the transaction that records the message's replies, so what a handler
    changes here is kept exactly when its replies are.
    """

    def points_balance(self, account_id: int) -> Balance: ...

    def set_opt_out(self, msisdn: str, opted_out: bool) -> None:
        """Promotional messages off (STOP) or back on (START) for this phone, member or not."""

    def catalogue(self, language: str) -> tuple[CatalogEntry, ...]:
        """The rewards on sale and in stock now, by category and code, named in `language`."""

    def redeem(self, member: Member, item: str, quantity: int, pin: str | None, *, key: str,
               language: str, short_code: str) -> Redeemed | Refused:
        """Redeem for the member once per `key` (derived from the inbox row); later SMS about
        it go from `short_code` in `language`."""

    def history(self, member: Member, limit: int) -> tuple[Movement, ...]:
        """The member's last `limit` movements, newest first."""

    def set_pin(self, member: Member, new_pin: str) -> Refused | None:
        """The member's first PIN; refused if there is one already."""

    def change_pin(self, member: Member, old_pin: str, new_pin: str) -> Refused | None:
        """A new PIN, given the current one (a wrong one counts towards the lock-out)."""


@dataclass(frozen=True)
class Request:
    msisdn: str
    short_code: str
    text: str
    member: Member | None  # None when the sender is not registered
    message_id: int  # the inbox row; later commands derive idempotency keys from it


@dataclass(frozen=True)
class Reply:
    text: str
    language: str


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    command: str | None  # "BAL", "HELP", ... or None when no keyword was recognised
    language: str  # the language the replies are written in
    remember_language: str | None  # store this as the member's language, if set


@dataclass(frozen=True)
class Invocation:
    """Everything a handler needs to answer one understood command."""

    request: Request
    command: Command
    language: str  # the language to reply in, already chosen by the dispatcher
    table: KeywordTable  # so replies can name keywords as the operator configured them
    services: Services
    region: str  # the numbering plan of phone numbers written without a country code
