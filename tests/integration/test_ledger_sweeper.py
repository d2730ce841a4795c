"""`HoldSweeper` on a `task.Clock`: holds void themselves at their timeout, round after round."""

from __future__ import annotations

from datetime import timedelta

from twisted.internet import defer, task

from ledger_client import EmbeddedLedger, HoldSweeper, Transfer
from ledger_fixtures import Books, books  # noqa: F401  (books is a fixture)


def test_the_sweeper_voids_holds_as_the_clock_passes_their_timeout(books: Books):
    clock = task.Clock()
    start = books.clock.moment
    books.ledger = EmbeddedLedger(now=lambda: start + timedelta(seconds=clock.seconds()))
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h1", jane, books.revenue, 100, "redeem", timeout=30),
               Transfer.hold("h2", jane, books.revenue, 200, "redeem", timeout=90))
    told = []
    sweeper = HoldSweeper(books.ledger, lambda fn, *args: defer.maybeDeferred(
        _in_transaction, books.engine, fn, *args), clock, interval=5, expired=told.append)
    sweeper.startService()
    clock.advance(25)
    assert books.balance(jane).on_hold == 300 and told == []
    clock.advance(10)                                   # 35 s: h1 is past its 30
    assert (books.balance(jane).on_hold, told) == (200, [["h1"]])
    clock.advance(60)                                   # 95 s: h2 too
    assert (books.balance(jane).available, told) == (1000, [["h1"], ["h2"]])
    sweeper.stopService()
    assert not clock.getDelayedCalls()


def test_a_failing_sweep_is_logged_and_the_next_one_still_runs():
    clock = task.Clock()
    calls = []

    def run(fn, *args):
        calls.append(fn)
        return defer.fail(RuntimeError("database away"))

    sweeper = HoldSweeper(EmbeddedLedger(), run, clock, interval=5)
    sweeper.startService()
    clock.advance(5)
    clock.advance(5)
    assert len(calls) == 2
    sweeper.stopService()


def _in_transaction(engine, fn, *args):
    with engine.begin() as conn:
        return fn(conn, *args)
