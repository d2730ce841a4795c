"""`SweepLoop`, the one timer loop of `HoldSweeper` and `AgencySweeper`, on a `task.Clock`.

The first sweep one interval after start (not at start), never two at once, a failure logged
under each sweeper's own event and the loop going on, nothing left on the clock after stop; and
both sweepers are that loop.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from structlog.testing import capture_logs
from twisted.internet import defer, task

from gateway.agency import AgencySweeper
from ledger_client import HoldSweeper
from ledger_client.sweeper import SweepLoop


LEDGER = SimpleNamespace(expire_holds=lambda conn: [])   # what HoldSweeper hands to `run`


class Counting(SweepLoop):
    """A sweep whose Deferreds the test fires by hand."""

    def __init__(self, clock, interval=5.0):
        super().__init__(clock, interval, failed="test.sweep_failed")
        self.pending: list[defer.Deferred] = []

    def sweep_once(self):
        self.pending.append(defer.Deferred())
        return self.pending[-1]


def test_the_first_sweep_comes_one_interval_after_start():
    clock = task.Clock()
    loop = Counting(clock)
    loop.startService()
    assert loop.pending == []
    clock.advance(4.9)
    assert loop.pending == []
    clock.advance(0.1)
    assert len(loop.pending) == 1
    loop.stopService()


def test_a_slow_sweep_is_never_overlapped_by_the_next():
    clock = task.Clock()
    loop = Counting(clock)
    loop.startService()
    clock.advance(5)
    clock.advance(30)                      # the first sweep is still running
    assert len(loop.pending) == 1
    loop.pending[0].callback(None)         # 35 s: the next one at the next 5 s tick
    clock.advance(5)
    assert len(loop.pending) == 2
    loop.stopService()


def test_a_failed_sweep_is_logged_and_the_loop_goes_on():
    clock = task.Clock()
    loop = Counting(clock)
    loop.startService()
    with capture_logs() as logs:
        clock.advance(5)
        loop.pending[0].errback(RuntimeError("database away"))
    assert [(e["event"], e["error"]) for e in logs] == [("test.sweep_failed", "database away")]
    clock.advance(5)
    assert len(loop.pending) == 2
    loop.stopService()


def test_stop_leaves_nothing_on_the_clock_and_no_more_sweeps():
    clock = task.Clock()
    loop = Counting(clock)
    loop.startService()
    clock.advance(5)
    loop.pending[0].callback(None)
    loop.stopService()
    assert not loop.running and clock.getDelayedCalls() == []
    clock.advance(60)
    assert len(loop.pending) == 1


def test_a_sweep_that_raises_at_once_is_logged_too():
    class Raising(SweepLoop):
        def sweep_once(self):
            raise ValueError("no pool")

    with capture_logs() as logs:
        result = Raising(task.Clock(), 5, failed="test.sweep_failed").sweep()
    assert result.called and [e["event"] for e in logs] == ["test.sweep_failed"]


def test_each_sweeper_logs_its_failures_under_its_own_event():
    clock = task.Clock()
    away = lambda fn, *args: defer.fail(RuntimeError("away"))  # noqa: E731
    hold = HoldSweeper(LEDGER, away, clock, interval=5)
    agency = AgencySweeper(None, away, clock, lambda: datetime(2026, 12, 2, tzinfo=timezone.utc),
                           interval=7)
    assert isinstance(hold, SweepLoop) and isinstance(agency, SweepLoop)
    hold.startService()
    agency.startService()
    with capture_logs() as logs:
        clock.advance(5)
        clock.advance(2)
    assert [e["event"] for e in logs] == ["ledger.sweep_failed", "agents.sweep_failed"]
    hold.stopService()
    agency.stopService()
    assert clock.getDelayedCalls() == []


def test_the_hold_sweep_runs_again_while_a_round_is_full():
    rounds = [[f"h{n}" for n in range(500)], ["h500"], []]
    told = []
    sweeper = HoldSweeper(LEDGER, lambda fn: defer.succeed(rounds.pop(0)), task.Clock(),
                          expired=lambda ids: told.append(len(ids)))
    sweeper.sweep()
    assert told == [500, 1] and rounds == [[]]
