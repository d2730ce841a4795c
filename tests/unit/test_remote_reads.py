"""gateway/remote_reads.py: which MOs read the central ledger before their transaction, the
snapshot the handlers are served from, and the reads themselves against a fake `Ledger` on a
`task.Clock` (a ledger that never answers costs the timeout, not a wait)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from twisted.internet import defer, task

from gateway.commands import Balance, KeywordTable, Member, Request, execute
from gateway.commands.context import Movement
from gateway.commands import dispatch
from gateway.remote_reads import (
    BALANCE, EVERYTHING, HISTORY, HISTORY_LIMIT, NOT_READ, READS, LedgerReadUnavailable,
    ReadNeeded, RemoteReads, Snapshot, needs,
)
from ledger_client import Balance as LedgerBalance, LedgerUnavailable
from ledger_client import Movement as LedgerMovement, TransferKind

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
TABLE = KeywordTable.load(KEYWORDS)
JANE = Member(id=1, msisdn="254712345678", name="Jane", language="en", points_account=7)
LI = Member(id=2, msisdn="8613800138000", name="Li", language="zh", points_account=8)
AT = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


# --- which messages read ----------------------------------------------------------------------

@pytest.mark.parametrize("text, reads", [
    ("BAL", {BALANCE}),
    ("bal", {BALANCE}),
    ("BLANCE", {BALANCE}),                      # a slip: BAL runs on one
    ("HIST", {BALANCE, HISTORY}),
    ("REDEEM AIR50", set()),
    ("CAT", set()),
    ("HELP BAL", set()),                        # explains BAL, shows no figure
    ("PIN 4821", set()),
    ("hello there", set()),
    ("", set()),
])
def test_which_messages_read_the_central_ledger(text, reads):
    assert needs(text, TABLE, "KE") == reads


@pytest.mark.parametrize("language", ["en", "zh", "sw", "fr", "es"])
@pytest.mark.parametrize("command", sorted(READS))
def test_every_keyword_of_a_reading_command_reads(command, language):
    for keyword in TABLE.keywords(command, language):
        assert needs(keyword, TABLE, "KE") == READS[command]


class Recording:
    """Services that note whether a balance or a history was asked, and answer anything."""

    def __init__(self):
        self.asked: set[str] = set()

    def points_balance(self, account_id):
        self.asked.add(BALANCE)
        return Balance(100, 0)

    def history(self, member, limit):
        self.asked.add(HISTORY)
        return ()

    def __getattr__(self, name):
        raise RuntimeError(f"not this test's: {name}")


@pytest.mark.parametrize("command", sorted(dispatch.HANDLERS))
def test_a_handler_that_shows_figures_is_listed_in_reads(command):
    """READS must name every figure a handler asks for, or BAL-like commands would answer
    "not available" with the ledger up."""
    keyword = TABLE.display(command, "en")
    text = TABLE.example(command, keyword, "KE")
    services = Recording()
    try:
        execute(Request(JANE.msisdn, "10655", text, JANE, 1), TABLE, services, "en", region="KE")
    except RuntimeError:
        pass        # a handler asking for something else: only the figures matter here
    assert services.asked <= READS.get(command, frozenset())
    assert services.asked <= needs(text, TABLE, "KE")
    if command in READS:            # and the listed ones do ask: the recording works
        assert services.asked == READS[command]


# --- the snapshot -----------------------------------------------------------------------------

class FromSnapshot:
    def __init__(self, snapshot):
        self.snapshot = snapshot

    def points_balance(self, account_id):
        return self.snapshot.balance(account_id)

    def history(self, member, limit):
        return self.snapshot.history(member, limit)


def reply_to(text, snapshot, member=JANE):
    outcome = execute(Request(member.msisdn, "10655", text, member, 1), TABLE,
                      FromSnapshot(snapshot), "en", region="KE")
    return outcome.replies[0].text


def test_bal_and_hist_answer_from_the_snapshot():
    snapshot = Snapshot({7: Balance(1850, 200)},
                        {1: (Movement(AT, 500, "issue", "BONUS1"),) * 3})
    assert reply_to("BAL", snapshot) == "Jifen: your balance is 1,850 pts (200 on hold)."
    assert "+500 earned BONUS1" in reply_to("HIST", snapshot)
    assert snapshot.history(JANE, 2) == (Movement(AT, 500, "issue", "BONUS1"),) * 2


def test_a_figure_that_did_not_come_is_the_unavailable_reply_in_the_members_language():
    nothing = Snapshot()
    expected = ("Jifen: your points balance is not available right now. "
                "Please try again in a few minutes.")
    assert reply_to("BAL", nothing) == expected
    assert reply_to("HIST", nothing) == expected
    assert reply_to("HIST", Snapshot({7: Balance(1, 0)})) == expected    # balance alone
    assert reply_to("余额", nothing, LI) == "抱歉，暂时无法查询积分，请几分钟后再试。"
    with pytest.raises(LedgerReadUnavailable):
        nothing.balance(7)


def test_before_any_read_a_figure_is_read_needed_not_unavailable():
    with pytest.raises(ReadNeeded):
        NOT_READ.balance(7)
    with pytest.raises(ReadNeeded):
        NOT_READ.history(JANE, 5)
    with pytest.raises(ReadNeeded):     # not swallowed by the dispatcher: it must roll back
        reply_to("BAL", NOT_READ)


# --- the reads --------------------------------------------------------------------------------

class FakeLedger:
    """A `Ledger` answering at once, failing for some phones, or never answering."""

    def __init__(self, never=False, down=()):
        self.never, self.down = never, set(down)
        self.opened: list[str] = []
        self.waiting: list[defer.Deferred] = []
        self.accounts = {JANE.msisdn: 12, LI.msisdn: 13}

    def _answer(self, value):
        if self.never:
            waiting = defer.Deferred()
            self.waiting.append(waiting)
            return waiting
        return defer.succeed(value)

    def open_account(self, kind, reference, **_):
        self.opened.append(reference)
        if reference in self.down:
            return defer.fail(LedgerUnavailable("down"))
        return self._answer(self.accounts[reference])

    def balance(self, account_id):
        return self._answer(LedgerBalance(account_id, 2050, 200, 0))    # 1,850 available

    def history(self, account_id, limit=10):
        assert limit == HISTORY_LIMIT
        return self._answer([LedgerMovement("t1", AT, -600, "redeem", TransferKind.SINGLE,
                                            "R8K2P", 3, None)])


def fetched(reads, wanted):
    results = []
    reads.fetch(wanted).addCallback(results.append)
    return results


def test_reads_are_kept_by_the_members_local_keys_and_accounts_are_looked_up_once():
    ledger = FakeLedger()
    reads = RemoteReads(None, ledger, task.Clock(), timeout=2.0)
    [snapshot] = fetched(reads, {JANE: EVERYTHING, LI: frozenset((BALANCE,))})
    assert snapshot.balance(7) == Balance(1850, 200)
    assert snapshot.balance(8) == Balance(1850, 200)
    assert snapshot.history(JANE, 5) == (Movement(AT, -600, "redeem", "R8K2P"),)
    assert LI.id not in snapshot.histories
    fetched(reads, {JANE: EVERYTHING})
    assert sorted(ledger.opened) == sorted([JANE.msisdn, LI.msisdn])     # not again


def test_one_member_unreachable_leaves_the_others():
    reads = RemoteReads(None, FakeLedger(down={LI.msisdn}), task.Clock(), timeout=2.0)
    [snapshot] = fetched(reads, {JANE: EVERYTHING, LI: EVERYTHING})
    assert snapshot.balance(7) == Balance(1850, 200)
    with pytest.raises(LedgerReadUnavailable):
        snapshot.balance(8)


def test_a_ledger_that_never_answers_costs_the_timeout_and_is_cancelled():
    clock, ledger = task.Clock(), FakeLedger(never=True)
    reads = RemoteReads(None, ledger, clock, timeout=2.0)
    results = fetched(reads, {JANE: EVERYTHING})
    clock.advance(1.9)
    assert results == []
    clock.advance(0.1)
    [snapshot] = results
    assert snapshot == Snapshot() and snapshot.read
    assert all(waiting.called for waiting in ledger.waiting)   # cancelled, not left hanging


def test_nothing_wanted_reads_nothing():
    ledger = FakeLedger()
    [snapshot] = fetched(RemoteReads(None, ledger, task.Clock(), timeout=2.0), {})
    assert snapshot == Snapshot() and ledger.opened == []


class FakeDb:
    """``run(fn, *args)`` with no database: the member lookup answers from a dict."""

    def __init__(self, found):
        self.found = found

    def run(self, fn, wanted_by, msisdns):
        # remote_reads._with_debits: the phone's figures all wanted, no redemption queued
        return defer.succeed(({m: EVERYTHING for m in self.found if m.msisdn in msisdns}, {}))


def test_a_step_that_needs_a_figure_runs_again_with_the_phones_figures():
    reads = RemoteReads(FakeDb([JANE]), FakeLedger(), task.Clock(), timeout=2.0)
    runs = []

    def step(snapshot):
        runs.append(snapshot)
        return snapshot.balance(JANE.points_account)
    results = []
    reads.run_with_reads(step, JANE.msisdn).addCallback(results.append)
    assert results == [Balance(1850, 200)]
    assert runs[0] is NOT_READ and len(runs) == 2


def test_a_step_that_needs_no_figure_runs_once():
    reads = RemoteReads(FakeDb([JANE]), FakeLedger(), task.Clock(), timeout=2.0)
    runs = []
    results = []
    reads.run_with_reads(lambda s: runs.append(s) or "menu", JANE.msisdn).addCallback(
        results.append)
    assert results == ["menu"] and runs == [NOT_READ]
