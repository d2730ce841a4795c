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

The centre's balance does not yet know the member's redemptions still queued for it
(gateway/queued_debits.py): the same read that finds the batch's members finds their queued
debits, one statement for the batch, and a member with any has the centre's history read before
the balance, so that a debit the centre already holds is not taken off twice.  The snapshot holds
the balance to show: the centre's, less what is queued, as on hold.

With the embedded ledger none of this exists: `app.py` builds no `RemoteReads`, and the
pipeline reads the ledger in the MO's transaction as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import and_, select
from twisted.internet import defer

from gateway.central_accounts import CentralAccounts
from gateway.commands import context
from gateway.commands.grammar import Command, KeywordTable, parse
from gateway.ledger_services import members_of
from gateway.queued_debits import Debits, queued_debits, spendable
from gateway.store.batching import among
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
    ``clock``; the `Ledger`'s own retries go on inside it.  ``accounts``: the account ids by
    name, the cache the `LedgerPoster` shares (app.py); by default one of its own.
    """

    def __init__(self, db, ledger: Ledger, clock, *, timeout: float,
                 accounts: CentralAccounts | None = None):
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._timeout = timeout
        self._accounts = accounts if accounts is not None else CentralAccounts(ledger)

    def for_batch(self, inbox_ids: list[int], table: KeywordTable,
                  region: str) -> defer.Deferred:
        """Deferred[Snapshot]: what the batch's BAL and HIST will show."""
        wanted = self._db.run(_with_debits, selection, inbox_ids, table, region)
        return wanted.addCallback(lambda found: self.fetch(*found))

    def run_with_reads(self, step: Callable[[Snapshot], defer.Deferred],
                       msisdn: str) -> defer.Deferred:
        """``step(NOT_READ)``; if it needed a figure, ``step`` again with the phone's figures."""
        first = defer.maybeDeferred(step, NOT_READ)

        def again(failure):
            failure.trap(ReadNeeded)
            read = self._db.run(_with_debits, _everything_of, {msisdn})
            read.addCallback(lambda found: self.fetch(*found))
            return read.addCallback(step)
        return first.addErrback(again)

    def fetch(self, wanted: Mapping[context.Member, frozenset[str]],
              debits: Debits | None = None) -> defer.Deferred:
        """Deferred[Snapshot] of ``wanted``; never fails: what did not come is left out.

        ``debits``: the members' queued debits (`queued_debits`), taken off their balances.
        """
        balances: dict[int, context.Balance] = {}
        histories: dict[int, tuple[context.Movement, ...]] = {}
        reads = [self._read(member, what, (debits or {}).get(member.id, ()), balances,
                            histories)
                 for member, what in wanted.items() if what]
        done = defer.DeferredList(reads, consumeErrors=True)
        return done.addCallback(lambda _: Snapshot(balances, histories))

    def _read(self, member: context.Member, what: frozenset[str], debits: tuple,
              balances: dict, histories: dict) -> defer.Deferred:
        def keep(figures):
            balance, lines = figures
            seen = {line.transfer_id for line in lines or ()}
            if balance is not None:
                balances[member.points_account] = spendable(context.Balance(
                    available=balance.available, on_hold=balance.on_hold), debits, seen)
            if HISTORY in what:
                # The queued debits the centre has not got, as "processing", newest first.
                waiting = [d.movement() for d in debits if d.transfer_id not in seen]
                posted = [context.Movement(m.timestamp, m.amount, m.code, m.reference)
                          for m in lines]
                histories[member.id] = tuple(sorted(waiting + posted, key=lambda m: m.at,
                                                    reverse=True))

        reading = self._figures(member.msisdn, what, bool(debits)).addCallback(keep)
        reading.addTimeout(self._timeout, self._clock)
        return reading.addErrback(self._failed, member)

    @defer.inlineCallbacks
    def _figures(self, msisdn: str, what: frozenset[str], queued: bool):
        """(the centre's `Balance` or None, its history or None), as ``what`` asks."""
        account_id = yield self._accounts.id(str(AccountKind.MEMBER), msisdn)
        if queued and BALANCE in what:
            # The history first: a queued debit it shows is then surely in the balance read
            # after it, and is rightly not taken off again.  The other way round, one posted
            # between the two reads would be taken for in a balance that lacks it, and its
            # points shown as still there.
            lines = yield self._ledger.history(account_id, HISTORY_LIMIT)
            balance = yield self._ledger.balance(account_id)
            return balance, lines
        balance, lines = yield defer.gatherResults([
            self._ledger.balance(account_id) if BALANCE in what else defer.succeed(None),
            self._ledger.history(account_id, HISTORY_LIMIT) if HISTORY in what
            else defer.succeed(None)], consumeErrors=True)
        return balance, lines

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
        among(conn, inbox.c.id, list(inbox_ids)), inbox.c.state == "received",
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


def _everything_of(conn, msisdns: set[str]) -> dict[context.Member, frozenset[str]]:
    """A USSD caller: every figure, as the step's screen is not known before it runs."""
    return dict.fromkeys(_members(conn, msisdns).values(), EVERYTHING)


def _with_debits(conn, wanted_by: Callable, *args) -> tuple[dict, dict]:
    """``wanted_by(conn, *args)``, and the queued debits of those whose balance is wanted."""
    wanted = wanted_by(conn, *args)
    return wanted, queued_debits(conn, [member.id for member, what in wanted.items()
                                        if BALANCE in what])
