"""BAL and HIST from the central ledger: its figures read before the MO's transaction, not in it.

With ``[ledger] kind = "http"`` the members' points live in the central ledger service, but a
command runs inside its MO's database transaction, on a database thread, where nothing can
await HTTP.  So the reads come first, on the reactor: the commands that show figures say which
(`READS`, by command name), the `Processor` asks `RemoteReads.for_batch` for them before it
runs the batch, and the batch runs with the answers as a read-only `Snapshot` that
`LedgerServices` serves from.  Nothing is written before the reads, so a crash just runs the
batch again (`Processor.recover`).

A read that fails or takes longer than ``timeout`` (the service down or slow) is simply absent
from the snapshot; the command then raises `LedgerReadUnavailable` and the member is told the
balance is not available right now.  The message is still answered, once, and the next BAL
reads again.

USSD cannot know before its step which screen the member will reach, so its step runs with
`NOT_READ` first: a screen that needs a figure raises `ReadNeeded`, which rolls the step's
transaction back; the figures of the caller's phone are read, and the step runs again with
them (`RemoteReads.run_with_reads`).

With the embedded ledger none of this exists: `app.py` builds no `RemoteReads`, and the
pipeline reads the ledger in the MO's transaction as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import and_, select
from twisted.internet import defer

from gateway.commands import context
from gateway.commands.grammar import Command, KeywordTable, parse
from gateway.ledger_services import members_of
from gateway.store.models import inbox
from ledger_client import AccountKind, Ledger

log = structlog.get_logger(__name__)

BALANCE, HISTORY = "balance", "history"
EVERYTHING = frozenset((BALANCE, HISTORY))

# What each command shows from the member's account, so what must be read before it runs.
# A handler that starts asking `Services.points_balance` or `history` belongs here
# (tests/unit/test_remote_reads.py runs every handler to check).
READS: Mapping[str, frozenset[str]] = {
    "BAL": frozenset((BALANCE,)),
    "HIST": frozenset((BALANCE, HISTORY)),
}

HISTORY_LIMIT = 20          # movements read: the USSD list shows up to 20, HIST what fits one SMS
_KNOWN_ACCOUNTS = 100_000   # central account ids remembered, by phone number


class LedgerReadUnavailable(context.ServiceUnavailable):
    """The central ledger did not answer in time for this member's figures."""

    template = "balance.unavailable"


class ReadNeeded(Exception):
    """A USSD step reached a figure before any was read: roll back, read, run it again."""


def needs(text: str, table: KeywordTable, region: str) -> frozenset[str]:
    """What running ``text`` may show from the sender's account (empty for most messages).

    Decided by the command the text parses to, as the dispatcher will parse it in the
    transaction; a slip of a keyword counts (BAL runs on one), a wrong argument does not
    (its handler does not run).
    """
    parsed = parse(text, table, region)
    return READS.get(parsed.name, frozenset()) if isinstance(parsed, Command) else frozenset()


@dataclass(frozen=True)
class Snapshot:
    """The central ledger's figures for some members, as read just before a transaction.

    Balances are keyed by the member's local ``points_account`` (the `Services` protocol names
    a balance by it), histories by member id.  ``read`` False means nothing was asked yet (a
    USSD step's first run): a missing figure is then `ReadNeeded`, not unavailable.
    """

    balances: Mapping[int, context.Balance] = field(default_factory=dict)
    histories: Mapping[int, tuple[context.Movement, ...]] = field(default_factory=dict)
    read: bool = True

    def balance(self, account_id: int) -> context.Balance:
        found = self.balances.get(account_id)
        if found is None:
            self._missing()
        return found

    def history(self, member: context.Member, limit: int) -> tuple[context.Movement, ...]:
        found = self.histories.get(member.id)
        if found is None:
            self._missing()
        return found[:limit]

    def _missing(self):
        if not self.read:
            raise ReadNeeded()
        raise LedgerReadUnavailable("the central ledger did not answer in time")


NOT_READ = Snapshot(read=False)


class RemoteReads:
    """Reads members' figures from the central ledger (a `Ledger`, normally `HttpLedger`).

    ``timeout`` bounds each member's reads as a whole (account lookup, balance, history), on
    ``clock``; the `Ledger`'s own retries go on inside it.
    """

    def __init__(self, db, ledger: Ledger, clock, *, timeout: float):
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._timeout = timeout
        self._accounts: dict[str, int] = {}     # msisdn -> the central ledger's account id

    def for_batch(self, inbox_ids: list[int], table: KeywordTable,
                  region: str) -> defer.Deferred:
        """Deferred[Snapshot]: what the batch's BAL and HIST will show."""
        wanted = self._db.run(selection, inbox_ids, table, region)
        return wanted.addCallback(self.fetch)

    def run_with_reads(self, step: Callable[[Snapshot], defer.Deferred],
                       msisdn: str) -> defer.Deferred:
        """``step(NOT_READ)``; if it needed a figure, ``step`` again with the phone's figures."""
        first = defer.maybeDeferred(step, NOT_READ)

        def again(failure):
            failure.trap(ReadNeeded)
            read = self._db.run(_members, {msisdn})
            read.addCallback(lambda found: self.fetch(dict.fromkeys(found.values(), EVERYTHING)))
            return read.addCallback(step)
        return first.addErrback(again)

    def fetch(self, wanted: Mapping[context.Member, frozenset[str]]) -> defer.Deferred:
        """Deferred[Snapshot] of ``wanted``; never fails: what did not come is left out."""
        balances: dict[int, context.Balance] = {}
        histories: dict[int, tuple[context.Movement, ...]] = {}
        reads = [self._read(member, what, balances, histories)
                 for member, what in wanted.items() if what]
        done = defer.DeferredList(reads, consumeErrors=True)
        return done.addCallback(lambda _: Snapshot(balances, histories))

    def _read(self, member: context.Member, what: frozenset[str], balances: dict,
              histories: dict) -> defer.Deferred:
        def figures(account_id: int):
            calls = []
            if BALANCE in what:
                calls.append(self._ledger.balance(account_id).addCallback(
                    lambda b: balances.__setitem__(member.points_account, context.Balance(
                        available=b.available, on_hold=b.on_hold))))
            if HISTORY in what:
                calls.append(self._ledger.history(account_id, HISTORY_LIMIT).addCallback(
                    lambda lines: histories.__setitem__(member.id, tuple(
                        context.Movement(m.timestamp, m.amount, m.code, m.reference)
                        for m in lines))))
            return defer.gatherResults(calls, consumeErrors=True)

        reading = self._account(member.msisdn).addCallback(figures)
        reading.addTimeout(self._timeout, self._clock)
        return reading.addErrback(self._failed, member)

    def _account(self, msisdn: str) -> defer.Deferred:
        known = self._accounts.get(msisdn)
        if known is not None:
            return defer.succeed(known)
        opened = self._ledger.open_account(str(AccountKind.MEMBER), msisdn)

        def keep(account_id: int) -> int:
            if len(self._accounts) >= _KNOWN_ACCOUNTS:
                self._accounts.clear()
            self._accounts[msisdn] = account_id
            return account_id
        return opened.addCallback(keep)

    @staticmethod
    def _failed(failure, member: context.Member) -> None:
        error = failure.value
        if isinstance(error, defer.FirstError):
            error = error.subFailure.value
        log.warning("ledger.read_failed", member=member.id,
                    error=f"{type(error).__name__}: {error}"[:200])


def selection(conn, inbox_ids: Iterable[int], table: KeywordTable,
              region: str) -> dict[context.Member, frozenset[str]]:
    """The members among these MOs' senders whose commands show figures, and which figures.

    Read-only, and before the batch's claim: an MO another processor takes meanwhile costs
    at most a read not used.
    """
    rows = conn.execute(select(inbox.c.text, inbox.c.source_addr).where(and_(
        inbox.c.id.in_(list(inbox_ids)), inbox.c.state == "received",
        inbox.c.kind == "text"))).all()
    wanted: dict[str, frozenset[str]] = {}
    for row in rows:
        what = needs(row.text, table, region)
        if what:
            wanted[row.source_addr] = wanted.get(row.source_addr, frozenset()) | what
    # Active members only: a stranger's BAL is answered "not a member" and reads nothing.
    return {member: wanted[msisdn] for msisdn, member in _members(conn, set(wanted)).items()}


def _members(conn, msisdns: set[str]) -> dict:
    return members_of(conn, msisdns)[0]
