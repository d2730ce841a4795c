#!/usr/bin/env python
"""USSD over SMPP under load: concurrent dialogues against the simulator, then many open sessions.

    scripts/bench_ussd.py                                 # 50 at once for 15 s, 1,000 open, SQLite
    scripts/bench_ussd.py --concurrent 200 --seconds 30 --database postgresql
    scripts/bench_ussd.py --concurrent 400 --think 1 --open 0     # ~400 screens/s, people's pace
    scripts/bench_ussd.py --seconds 0 --open 10000          # only the open sessions
    scripts/bench_ussd.py --seconds 5 --open 0 --profile var/ussd.prof   # cProfile, every thread

The gateway runs in this process as `jifen run` builds it (app.Gateway, one bind with
ussd_dialect smpp5, a fresh database). The SMSC simulator and the phones
(simulator_ussd.UssdNetwork) run in a child process, so the gateway's CPU is measured alone.

Phase 1: --concurrent phones, each a member, dial *123#, read the home menu, pick the balance (an
end screen: a ledger read, and the result marked shown) and start again, for --seconds; with
--think, each waits that long on average after each screen, as a person reading it would, so
the load is about concurrent / (think + latency) screens a second. Latency is per screen, from
the child writing the deliver_sm to it reading the screen's submit_sm.
Phase 2: --open other phones dial and stay on the home menu, --open-window dialling at a time.
Reported per phase: screens per second, latency p50/p95/p99/max, screens lost (no screen within
--timeout), the gateway's CPU ms per screen (all threads; the database threads by call), its
resident memory then and at its peak, and the phones' own CPU per screen.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import _add_members, _count_cpu, _cpu_seconds, _Profiler  # noqa: E402  (a sibling script)

PHASE = "PHASE "


def members(count: int) -> list[str]:
    return [f"2547110{n:05d}" for n in range(count)]


def strangers(count: int) -> list[str]:
    return [f"2547{30_000_000 + n:08d}" for n in range(count)]


# -- the child: SMSC simulator and phones --------------------------------------------------------

def phones_main(args) -> int:
    from twisted.internet import defer, reactor

    from gateway import logs
    from gateway.smpp.simulator import Simulator
    from gateway.smpp.simulator_ussd import UssdNetwork

    logs.configure("console", "warning")
    simulator = Simulator({"bench": "secret"}, clock=reactor)
    print(simulator.listen(reactor), flush=True)
    network = UssdNetwork(simulator, "smpp5")

    @defer.inlineCallbacks
    def run():
        yield simulator.wait_bound()
        if args.seconds > 0:
            phase = _Phase(reactor, args.timeout)
            until = time.monotonic() + args.seconds
            yield defer.gatherResults([_caller(network, phase, number, until, args.think)
                                       for number in members(args.concurrent)])
            print(PHASE + json.dumps(phase.report("dialogues")), flush=True)
        if args.open > 0:
            phase = _Phase(reactor, args.timeout)
            numbers = iter(strangers(args.open))
            yield defer.gatherResults([_opener(network, phase, numbers)
                                       for _ in range(min(args.open, args.open_window))])
            print(PHASE + json.dumps(phase.report("open")), flush=True)
        network.close()
        reactor.stop()

    reactor.callWhenRunning(run)
    reactor.run()
    return 0


class _Phase:
    """Times screens; a screen not come within `timeout` is counted lost, not waited for."""

    def __init__(self, reactor, timeout):
        self.reactor, self.timeout = reactor, timeout
        self.latencies: list[float] = []
        self.lost = 0
        self.started, self.cpu = time.monotonic(), _cpu_seconds()
        self.first = self.last = None   # the first screen asked for, the last one come

    def screen(self, step):
        from twisted.internet import defer

        started = time.monotonic()
        self.first = self.first or started
        screen = step().addTimeout(self.timeout, self.reactor)

        def seen(result):
            self.last = time.monotonic()
            self.latencies.append(self.last - started)
            return result

        def lost(failure):
            failure.trap(defer.TimeoutError)
            self.lost += 1
            return None
        return screen.addCallbacks(seen, lost)

    def report(self, name) -> dict:
        # The rate is over the screens' own span: phones that start spread out (--think) or
        # read a last screen after the time is up would otherwise dilute it.
        elapsed = max(1e-9, (self.last or self.started) - (self.first or self.started))
        ordered = sorted(self.latencies)

        def percentile(p):
            return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) \
                if ordered else None
        count = max(1, len(ordered))
        return dict(phase=name, screens=len(ordered), lost=self.lost,
                    seconds=round(elapsed, 2), screens_per_s=round(len(ordered) / elapsed, 1),
                    latency_ms=dict(p50=percentile(0.5), p95=percentile(0.95),
                                    p99=percentile(0.99), max=percentile(1.0)),
                    phones_cpu_ms_per_screen=round(
                        1000 * (_cpu_seconds() - self.cpu) / count, 3))


def _caller(network, phase, number, until, think):
    from twisted.internet import defer, reactor, task

    chance = random.Random(number)

    def reading():       # a person reads a screen before answering: 0.5 to 1.5 times `think`
        return task.deferLater(reactor, think * (0.5 + chance.random())) if think else None

    @defer.inlineCallbacks
    def dialogue():
        phone = network.phone(number)
        yield reading()                 # phones start spread out, not all in one instant
        while time.monotonic() < until:
            home = yield phase.screen(lambda: phone.dial("*123#"))
            yield reading()
            if home is not None:
                yield phase.screen(lambda: phone.answer("1"))
                if time.monotonic() < until:
                    yield reading()
    return dialogue()


def _opener(network, phase, numbers):
    from twisted.internet import defer

    @defer.inlineCallbacks
    def dial_each():
        for number in numbers:
            yield phase.screen(lambda: network.phone(number).dial("*123#"))
    return dial_each()


# -- the parent: the gateway ---------------------------------------------------------------------

def gateway_main(args) -> int:
    from gateway.testing import scratch_database

    admin = os.environ.get("JIFEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with tempfile.TemporaryDirectory() as directory, \
            scratch_database(args.database, directory, admin) as url:
        result = run_gateway(args, url)
    print(json.dumps(result, indent=2))
    return 0 if all(phase["lost"] == 0 for phase in result["phases"]) else 1


def run_gateway(args, url) -> dict:
    from twisted.internet import reactor, threads

    from gateway import logs
    from gateway.app import Gateway
    from gateway.config import load
    from gateway.store import migrate
    from gateway.store.db import make_engine

    logs.configure(args.log_format, args.log_level,
                   stream=open(args.log, "w") if args.log else open(os.devnull, "w"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    _add_members(engine, members(args.concurrent if args.seconds > 0 else 0))
    child = subprocess.Popen(
        [sys.executable, __file__, "--phones", "--concurrent", str(args.concurrent),
         "--seconds", str(args.seconds), "--think", str(args.think), "--open", str(args.open),
         "--open-window", str(args.open_window), "--timeout", str(args.timeout)],
        stdout=subprocess.PIPE, text=True)
    port = int(child.stdout.readline())
    base = load()
    bind = replace(base.binds[0], host="127.0.0.1", port=port, system_id="bench",
                   password="secret", window=args.window, ussd_dialect="smpp5")
    config = replace(base, database_url=url, binds=(bind,), log_format=args.log_format,
                     log_level=args.log_level)
    gateway = Gateway(config, reactor, engine=engine)
    profiler = _Profiler(gateway.db) if args.profile else None
    db_cpu = _count_cpu(gateway.db)
    phases: list[dict] = []
    mark = {}

    def phase_ended(line):
        if not line.startswith(PHASE):
            gateway.stopService().addBoth(lambda _: reactor.stop())
            return
        phase = json.loads(line[len(PHASE):])
        screens = max(1, phase["screens"])
        spent = Counter(db_cpu)
        spent.subtract(mark["db_cpu"])
        phase["gateway"] = dict(
            cpu_ms_per_screen=round(1000 * (_cpu_seconds() - mark["cpu"]) / screens, 3),
            database_threads_ms_per_screen=round(1000 * sum(spent.values()) / screens, 3),
            by_database_call={name: round(1000 * seconds / screens, 3)
                              for name, seconds in spent.most_common(6) if seconds > 0},
            rss_mb=_rss_mb("VmRSS"), peak_rss_mb=_rss_mb("VmHWM"))
        phases.append(phase)
        mark.update(cpu=_cpu_seconds(), db_cpu=Counter(db_cpu))
        threads.deferToThread(child.stdout.readline).addCallback(phase_ended)

    def started(_):
        if profiler:
            profiler.start()
        mark.update(cpu=_cpu_seconds(), db_cpu=Counter(db_cpu))
        threads.deferToThread(child.stdout.readline).addCallback(phase_ended)

    reactor.callWhenRunning(lambda: gateway.startService().addCallback(started))
    reactor.run()
    if profiler:
        profiler.stop(args.profile)
    child.wait()
    return dict(database=args.database, concurrent=args.concurrent, seconds=args.seconds,
                think=args.think, open=args.open, window=args.window,
                log=f"{args.log_format}/{args.log_level}",
                load_average=os.getloadavg(), phases=phases, sessions=_sessions(engine))


def _rss_mb(field: str) -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _sessions(engine) -> dict:
    """The session rows left: open (a menu showing) and ended, by result."""
    from sqlalchemy import func, select

    from gateway.store.tables_ussd import ussd_sessions as table

    with engine.connect() as conn:
        rows = conn.execute(select(table.c.state.is_(None), table.c.result, func.count())
                            .group_by(table.c.state.is_(None), table.c.result)).all()
    return {("ended " + (result or "-")) if ended else "open": count
            for ended, result, count in rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=50, help="dialogues at once (50)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of phase 1 (15; "
                        "0 skips it)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds a phone waits after each screen, on average (0: none, so "
                        "--concurrent alone sets the load)")
    parser.add_argument("--open", type=int, default=1_000, help="sessions left open (1000)")
    parser.add_argument("--open-window", type=int, default=200,
                        help="phones dialling at a time in phase 2 (200)")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds after which a screen counts as lost (20)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--window", type=int, default=10, help="the bind's submit_sm window")
    parser.add_argument("--log", help="write the gateway's log here (default: discard)")
    parser.add_argument("--log-format", choices=("console", "json"), default="json")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--profile", help="write a cProfile of the gateway's run here")
    parser.add_argument("--phones", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return phones_main(args) if args.phones else gateway_main(args)


if __name__ == "__main__":
    sys.exit(main())
