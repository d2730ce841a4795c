"""The balance shown with queued debits (gateway/queued_debits.py `spendable`), the reads that
find out which of them the centre already has (remote_reads.py), and the one cache of central
account ids the reads and the poster share (gateway/central_accounts.py). Plain values and a
fake `Ledger` answering at once."""

from __future__ import annotations

from datetime import datetime, timezone

from twisted.internet import defer, task

from gateway.central_accounts import CentralAccounts
from gateway.commands import Balance, Member
from gateway.commands.context import Movement
from gateway.ledger_poster import LedgerPoster
from gateway.queued_debits import QueuedDebit, spendable
from gateway.redeem.postings import Planned, Posting, member_debits
from gateway.remote_reads import BALANCE, EVERYTHING, RemoteReads
from ledger_client import Balance as LedgerBalance
from ledger_client import Movement as LedgerMovement, TransferKind

JANE = Member(id=1, msisdn="254712345678", name="Jane", language="en", points_account=7)
AT = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
MEMBER = ("member", JANE.msisdn)
REVENUE = ("operator", "redemptions")


def redeem(reference: str, points: int) -> Planned:
    return Planned(f"jifen:redeem:{reference}", MEMBER, REVENUE, points, "redeem", reference)


def queued(reference: str, points: int, minute: int = 40) -> QueuedDebit:
    return QueuedDebit(f"jifen:redeem:{reference}", points, reference, AT.replace(minute=minute))


# --- what is a debit, and what is shown -----------------------------------------------------

def test_only_what_takes_the_members_points_is_a_debit():
    hold = Planned("jifen:ardm:A1:hold", MEMBER, REVENUE, 500, "agent_redeem", "A1",
                   kind=TransferKind.PENDING.value, timeout=600)
    post = Planned("jifen:ardm:A1:post", None, None, 0, "agent_redeem", "A1",
                   kind=TransferKind.POST.value, pending_id=hold.id)
    void = Planned("jifen:ardm:A1:void", None, None, 0, "void", "A1",
                   kind=TransferKind.VOID.value, pending_id=hold.id)
    refund = Planned("jifen:reverse:R1", REVENUE, MEMBER, 100, "reverse", "R1")
    someone_else = Planned("jifen:redeem:R2", ("member", "254700000000"), REVENUE, 100,
                           "redeem", "R2")
    commission = Planned("jifen:ardm:A1:com:A1023", ("operator", "agent_commissions"),
                         ("agent_commission", "A1023"), 20, "commission", "A1")
    posting = Posting(1, "k", "p", None, (redeem("R1", 100), hold, post, void, refund,
                                          someone_else, commission), 0)
    assert member_debits(posting, JANE.msisdn) == (redeem("R1", 100), hold)


def test_queued_debits_show_on_hold_less_what_the_centre_already_has():
    centre = Balance(available=1350, on_hold=200)
    debits = [queued("R1", 100), queued("R2", 300)]
    assert spendable(centre, debits) == Balance(950, 600)
    assert spendable(centre, debits, {"jifen:redeem:R2"}) == Balance(1250, 300)
    assert spendable(centre, []) == centre


def test_never_below_zero_a_refusal_to_come_takes_only_what_there_is():
    assert spendable(Balance(40, 0), [queued("R1", 100)]) == Balance(0, 40)
    assert spendable(Balance(-5, 10), [queued("R1", 100)]) == Balance(-5, 10)


# --- the reads ------------------------------------------------------------------------------

class FakeLedger:
    """Answers at once; notes the calls in order. The centre already has R1, not R2."""

    def __init__(self):
        self.calls: list[tuple] = []

    def open_account(self, kind, reference, *, ledger="points", no_overdraft=True):
        self.calls.append(("open", kind, reference, ledger, no_overdraft))
        return defer.succeed(100 + len(self.calls))

    def balance(self, account_id):
        self.calls.append(("balance",))
        return defer.succeed(LedgerBalance(account_id, 1250, 0, 0))

    def history(self, account_id, limit=10):
        self.calls.append(("history",))
        return defer.succeed([LedgerMovement("jifen:redeem:R1", AT, -100, "redeem",
                                             TransferKind.SINGLE, "R1", 3, None)])


def read(reads: RemoteReads, wanted, debits=None):
    results = []
    reads.fetch(wanted, debits).addCallback(results.append)
    [snapshot] = results
    return snapshot


def test_with_debits_queued_the_history_is_read_before_the_balance():
    ledger = FakeLedger()
    reads = RemoteReads(None, ledger, task.Clock(), timeout=2.0)
    snapshot = read(reads, {JANE: frozenset((BALANCE,))},
                    {JANE.id: (queued("R1", 100), queued("R2", 300))})
    assert [call[0] for call in ledger.calls] == ["open", "history", "balance"]
    assert snapshot.balance(7) == Balance(950, 300)         # R1 is in 1,250 already
    assert JANE.id not in snapshot.histories                 # BAL asked for no history


def test_without_debits_bal_reads_the_balance_alone():
    ledger = FakeLedger()
    snapshot = read(RemoteReads(None, ledger, task.Clock(), timeout=2.0),
                    {JANE: frozenset((BALANCE,))})
    assert [call[0] for call in ledger.calls] == ["open", "balance"]
    assert snapshot.balance(7) == Balance(1250, 0)


def test_hist_shows_the_debits_the_centre_has_not_got_as_processing_newest_first():
    snapshot = read(RemoteReads(None, FakeLedger(), task.Clock(), timeout=2.0),
                    {JANE: EVERYTHING},
                    {JANE.id: (queued("R1", 100, minute=10), queued("R2", 300, minute=40))})
    assert snapshot.balance(7) == Balance(950, 300)
    assert snapshot.history(JANE, 5) == (
        Movement(AT.replace(minute=40), -300, "processing", "R2"),    # queued at 9:40
        Movement(AT, -100, "redeem", "R1"))                            # the centre's, 9:30


# --- one cache of account ids ---------------------------------------------------------------

def test_the_reads_and_the_poster_share_one_cache_of_account_ids():
    ledger = FakeLedger()
    accounts = CentralAccounts(ledger)
    read(RemoteReads(None, ledger, task.Clock(), timeout=2.0, accounts=accounts),
         {JANE: frozenset((BALANCE,))})
    poster = LedgerPoster(None, ledger, lambda *a: None, task.Clock(), lambda: AT,
                          accounts=accounts)
    resolved = []
    poster._resolve(Posting(1, "redeem:R1", "redemption", 1, (redeem("R1", 100),), 1)) \
        .addCallback(resolved.append)
    opened = [call[1:] for call in ledger.calls if call[0] == "open"]
    assert opened == [("member", JANE.msisdn, "points", True),        # once, by the reads
                      ("operator", "redemptions", "points", False)]   # may go below zero
    [[transfer]] = resolved
    assert transfer.debit_account_id == 101


def test_ids_are_kept_by_kind_reference_and_ledger_and_the_cache_is_bounded():
    ledger = FakeLedger()
    accounts = CentralAccounts(ledger, limit=2)
    for kind, reference, which in [("member", "1", "points"), ("member", "1", "points"),
                                   ("shop_settlement", "1", "KES"), ("member", "1", "points")]:
        accounts.id(kind, reference, which)
    assert len(ledger.calls) == 2
    accounts.id("member", "2")                  # a third name: the cache starts again
    accounts.id("member", "1")
    assert len(ledger.calls) == 4
