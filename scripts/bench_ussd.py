#!/usr/bin/env python
"""USSD over SMPP under load: concurrent dialogues against the simulator, then many open sessions.

    scripts/bench_ussd.py                              # 50 dialogues for 15 s, 1,000 open, SQLite
    scripts/bench_ussd.py --concurrent 100 --seconds 60 --open 10000 --database postgresql

Phase 1: --concurrent phones (simulator_ussd.UssdNetwork, dialect smpp5) each dial *123#, read
the home menu, pick the balance and start again, for --seconds. Every step is one database
transaction committed before its deliver_sm is answered (ussd_sessions.py). Reported: screens per
second and screen latency (deliver_sm written -> the screen's submit_sm read) p50/p99/max.
Phase 2: --open phones dial and stay on the home menu (an open session row each); reported: the
process's peak RSS with them open. Gateway, simulator and phones share one process and its GIL,
so the latency is an upper bound of what the gateway alone would show.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twisted.internet import defer, task  # noqa: E402


def _args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrent", type=int, default=50, help="dialogues at once (50)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of phase 1 (15)")
    parser.add_argument("--open", type=int, default=1_000, help="sessions held open (1000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    return parser.parse_args(argv)


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@defer.inlineCallbacks
def _timed(step, latencies):
    started = time.perf_counter()
    screen = yield step()
    latencies.append(time.perf_counter() - started)
    return screen


@defer.inlineCallbacks
def _caller(network, number, until, latencies):
    phone = network.phone(number)
    while time.perf_counter() < until:
        yield _timed(lambda: phone.dial("*123#"), latencies)
        yield _timed(lambda: phone.answer("1"), latencies)


@defer.inlineCallbacks
def _hold_open(network, count, window=200):
    """`count` phones dial and stay on the home menu, `window` dialling at a time."""
    from twisted.internet import reactor
    numbers, lost = iter(range(count)), []

    @defer.inlineCallbacks
    def dialler():
        for n in numbers:
            try:
                yield network.phone(f"2547{30_000_000 + n:08d}").dial("*123#").addTimeout(
                    15, reactor)
            except defer.TimeoutError:
                lost.append(n)
    yield defer.gatherResults([dialler() for _ in range(window)])
    return len(lost)


@defer.inlineCallbacks
def main(reactor, argv):
    from gateway import logs
    from gateway.config import load
    from gateway.smpp.simulator_ussd import UssdNetwork
    from gateway.testing import LoopbackGateway, scratch_database

    args = _args(argv)
    logs.configure("console", "warning", stream=sys.stderr)
    base = load()
    config = replace(base, binds=tuple(replace(b, ussd_dialect="smpp5") for b in base.binds))
    with tempfile.TemporaryDirectory() as scratch:
        url = (f"sqlite:///{scratch}/bench.db" if args.database == "sqlite"
               else scratch_database("postgresql", "bench_ussd"))
        loop = LoopbackGateway(reactor, url, config)
        yield loop.start()
        network = UssdNetwork(loop.simulator, "smpp5")
        latencies: list[float] = []
        started = time.perf_counter()
        until = started + args.seconds
        yield defer.gatherResults([_caller(network, f"2547{10_000_000 + n:08d}", until, latencies)
                                   for n in range(args.concurrent)])
        elapsed = time.perf_counter() - started
        print(f"dialogues at once: {args.concurrent}, {args.seconds:g} s, {args.database}")
        print(f"screens: {len(latencies)}  {len(latencies) / elapsed:.0f}/s")
        print("latency ms: p50 {:.1f}  p99 {:.1f}  max {:.1f}".format(
            *(1000 * _percentile(latencies, q) for q in (0.5, 0.99, 1.0))))
        opened = time.perf_counter()
        lost = yield _hold_open(network, args.open)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"open sessions: {args.open} in {time.perf_counter() - opened:.1f} s; "
              f"peak RSS {rss:.0f} MB (gateway, simulator and phones together); "
              f"{lost} unanswered within 15 s")
        network.close()
        yield loop.stop()


if __name__ == "__main__":
    task.react(main, (sys.argv[1:],))
