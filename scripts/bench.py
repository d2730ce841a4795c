#!/usr/bin/env python
"""MO -> MT throughput and latency of the whole gateway: BAL messages at a steady rate.

    scripts/bench.py                                   # 500 BAL/s for 20 s on SQLite
    scripts/bench.py --rate 800 --seconds 30 --database postgresql
    scripts/bench.py --seconds 5 --profile var/bench.prof     # cProfile, every thread

The gateway runs in this process, exactly as `jifen run` builds it (app.Gateway, its own
config, a fresh database with --members members).  The SMSC simulator and the load run in a
child process, so they do not share the gateway's GIL: the child binds nothing, listens, and
once the gateway is bound delivers BAL from the members in turn at --rate for --seconds.
Latency is from the child writing a deliver_sm to it reading the submit_sm of the reply;
both ends of it are in the child.  Every MO is committed before its deliver_sm_resp (the
inbox's batch commit); the report checks that every acknowledged MO is in the inbox and has
its reply in the outbox.

Reported: MOs offered and acknowledged, replies received, MT throughput over the sending
window, latency p50/p95/p99/max, the gateway's peak RSS, CPU per MO (the whole gateway
process, its database threads by call, and on PostgreSQL the server's backends for the
bench's database, which share the machine's cores), and, with --profile, the top of a
cProfile of the reactor thread and the database threads together.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHORT_CODE = "10655"
RESULT = "RESULT "


def phones(count: int) -> list[str]:
    return [f"2547100{n:05d}" for n in range(count)]


# -- the child: SMSC simulator and load ---------------------------------------------------------

def smsc_main(args) -> int:
    from twisted.internet import defer, reactor, task

    from gateway import logs
    from gateway.smpp.simulator import Simulator

    logs.configure("console", "warning")
    simulator = Simulator({"bench": "secret"}, clock=reactor)
    print(simulator.listen(reactor), flush=True)
    load = _Load(simulator, args.rate, args.seconds, phones(args.members))

    @defer.inlineCallbacks
    def run():
        yield simulator.wait_bound()
        yield load.run(reactor, task)
        print(RESULT + json.dumps(load.report()), flush=True)
        # Stay until the gateway has unbound (at most 10 s): leaving at once would cut off
        # the submit_sm_resp of the last MTs, whose rows the check would then find queued.
        deadline = time.monotonic() + 10
        while simulator.bound and time.monotonic() < deadline:
            yield task.deferLater(reactor, 0.05, lambda: None)
        reactor.stop()

    reactor.callWhenRunning(run)
    reactor.run()
    return 0


class _Load:
    """Sends BAL at a rate, matches each reply to the oldest MO of its phone."""

    def __init__(self, simulator, rate, seconds, numbers):
        self.simulator, self.rate, self.seconds, self.numbers = simulator, rate, seconds, numbers
        self.sent_at = defaultdict(deque)       # phone -> send times of MOs awaiting a reply
        self.latencies: list[float] = []
        self.received_at: list[float] = []
        self.acks: Counter = Counter()
        self.sent = 0

    def run(self, reactor, task):
        self.start = time.monotonic()
        self._collect()
        ticker = task.LoopingCall(self._tick)
        ticker.clock = reactor
        done = ticker.start(0.002)
        done.addCallback(lambda _: self._drained(reactor, task))
        self._ticker = ticker
        return done.addCallback(lambda _: None)

    def _tick(self):
        elapsed = time.monotonic() - self.start
        if elapsed >= self.seconds:
            self.sending_ended = time.monotonic()
            self._ticker.stop()
            return
        due = int(elapsed * self.rate)
        while self.sent < due:
            phone = self.numbers[self.sent % len(self.numbers)]
            self.sent += 1
            self.sent_at[phone].append(time.monotonic())
            answer = self.simulator.deliver(phone, SHORT_CODE, "BAL")
            answer.addCallbacks(lambda status: self.acks.update([f"0x{status:02x}"]),
                                lambda failure: self.acks.update([failure.type.__name__]))

    def _collect(self):
        from twisted.internet import defer

        @defer.inlineCallbacks
        def collect():             # a loop, not a callback chain: MTs may queue up by thousands
            while True:
                mt = yield self.simulator.next_mt()
                now = time.monotonic()
                waiting = self.sent_at.get(mt.destination_addr)
                if waiting:
                    self.latencies.append(now - waiting.popleft())
                    self.received_at.append(now)
        collect()

    def _drained(self, reactor, task):
        """Wait for the replies still coming, at most 30 s."""
        deadline = time.monotonic() + 30

        def check():
            if len(self.latencies) >= self.sent or time.monotonic() > deadline:
                return None
            return task.deferLater(reactor, 0.05, check)
        return check()

    def report(self) -> dict:
        window_end = self.start + self.seconds
        in_window = sum(1 for t in self.received_at if t <= window_end)
        ordered = sorted(self.latencies)

        def percentile(p):
            return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) \
                if ordered else None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return dict(
            smsc_cpu_ms_per_mo=round(1000 * (usage.ru_utime + usage.ru_stime) / max(1, self.sent), 2),
            offered=self.sent, offered_rate=round(self.sent / self.seconds, 1),
            acks=dict(self.acks), replies=len(self.latencies),
            reply_rate_in_window=round(in_window / self.seconds, 1),
            last_reply_after_sending_ms=round(1000 * (max(self.received_at) - window_end), 1)
            if self.received_at else None,
            latency_ms=dict(p50=percentile(0.50), p95=percentile(0.95),
                            p99=percentile(0.99), max=percentile(1.0)))


# -- the parent: the gateway ---------------------------------------------------------------------

def gateway_main(args) -> int:
    from gateway.testing import scratch_database

    admin = os.environ.get("JIFEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with tempfile.TemporaryDirectory() as directory, \
            scratch_database(args.database, directory, admin) as url:
        result = run_gateway(args, url)
    print(json.dumps(result, indent=2))
    return 0 if result["load"]["replies"] == result["load"]["offered"] else 1


def run_gateway(args, url) -> dict:
    from twisted.internet import reactor, threads

    from gateway import logs
    from gateway.app import Gateway
    from gateway.config import load
    from gateway.store import migrate
    from gateway.store.db import make_engine

    log_stream = open(args.log, "w") if args.log else open(os.devnull, "w")
    logs.configure(args.log_format, args.log_level, stream=log_stream)
    engine = make_engine(url)
    migrate.upgrade(engine)
    _add_members(engine, phones(args.members))
    child = subprocess.Popen(
        [sys.executable, __file__, "--smsc", "--rate", str(args.rate), "--seconds",
         str(args.seconds), "--members", str(args.members)],
        stdout=subprocess.PIPE, text=True)
    port = int(child.stdout.readline())
    base = load()
    bind = replace(base.binds[0], host="127.0.0.1", port=port, system_id="bench",
                   password="secret", window=args.window, short_codes=(SHORT_CODE,))
    config = replace(base, database_url=url, binds=(bind,), log_format=args.log_format,
                     log_level=args.log_level,
                     inbox_batch_window=args.batch_window or base.inbox_batch_window)
    gateway = Gateway(config, reactor, engine=engine)
    if args.db_threads:
        gateway.db._size = args.db_threads
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    profiler = _Profiler(gateway.db) if args.profile else None
    db_cpu = _count_cpu(gateway.db)
    outcome = {}

    def finished(line):
        outcome["load"] = json.loads(line[len(RESULT):]) if line.startswith(RESULT) else None
        outcome["cpu"] = _cpu_seconds() - outcome["cpu"]
        outcome["db_cpu"] = db_cpu - outcome["db_cpu"]
        outcome["server_cpu"] = _server_cpu(engine) - outcome["server_cpu"]
        gateway.stopService().addBoth(lambda _: reactor.stop())

    def started(_):
        if profiler:
            profiler.start()
        outcome["cpu"], outcome["db_cpu"] = _cpu_seconds(), Counter(db_cpu)
        outcome["server_cpu"] = _server_cpu(engine)
        threads.deferToThread(child.stdout.readline).addCallback(finished)

    reactor.callWhenRunning(lambda: gateway.startService().addCallback(started))
    reactor.run()
    if profiler:
        profiler.stop(args.profile)
    child.wait()
    offered = max(1, outcome["load"]["offered"])
    return dict(database=args.database, rate=args.rate, seconds=args.seconds,
                window=args.window, log=f"{args.log_format}/{args.log_level}",
                inbox_batch_window=config.inbox_batch_window, db_threads=gateway.db._size,
                switch_interval=sys.getswitchinterval(),
                load=outcome["load"], checks=_checks(engine),
                cpu_ms_per_mo=dict(
                    all=round(1000 * outcome["cpu"] / offered, 2),
                    postgresql_server=round(1000 * outcome["server_cpu"] / offered, 2)
                    if engine.dialect.name == "postgresql" else None,
                    database_threads=round(1000 * sum(outcome["db_cpu"].values()) / offered, 2),
                    by_database_call={name: round(1000 * seconds / offered, 3) for name, seconds
                                      in outcome["db_cpu"].most_common(8)}),
                peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _ServerCpu(Counter):
    """CPU seconds by PostgreSQL backend pid; a pid missing at the start counts from zero."""

    def __sub__(self, start) -> float:
        return sum(seconds - start.get(pid, 0.0) for pid, seconds in self.items())


def _server_cpu(engine) -> _ServerCpu:
    """CPU seconds of the PostgreSQL backends serving the bench's database (it shares the cores)."""
    spent = _ServerCpu()
    if engine.dialect.name != "postgresql":
        return spent
    from sqlalchemy import text

    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity "
                                 "WHERE datname = current_database()")).scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:             # gone, or another host's
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / ticks    # utime, stime
    return spent


def _count_cpu(db) -> Counter:
    """CPU seconds spent in `Database.run` work, by function, summed over the pool's threads."""
    spent, transaction = Counter(), db.transaction

    def counted(fn, *args, **kwargs):
        started = time.thread_time()
        try:
            return transaction(fn, *args, **kwargs)
        finally:
            spent[f"{fn.__module__}.{fn.__qualname__}"] += time.thread_time() - started
    db.transaction = counted
    return spent


def _add_members(engine, numbers: list[str]):
    """Members with these numbers, 1,000 points and more each (bench_ussd.py uses it too)."""
    from gateway.store.members import add_member
    from ledger_client import EmbeddedLedger

    now = datetime.now(timezone.utc)
    ledger = EmbeddedLedger(now=lambda: now)
    # A transaction per thousand: every opening credit updates the one issuer row, and on
    # PostgreSQL a row updated 90,000 times in one transaction is a chain of 90,000 versions
    # that each update walks (a 180 s run's members took over ten minutes to add).
    for start in range(0, len(numbers), 1000):
        with engine.begin() as conn:
            for n, phone in enumerate(numbers[start:start + 1000], start):
                add_member(conn, ledger, msisdn=phone, name=f"Member {n}", now=now,
                           language="en", points=1000 + n)


def _checks(engine) -> dict:
    from sqlalchemy import func, select

    from gateway.store.models import inbox, outbox

    with engine.connect() as conn:
        states = dict(conn.execute(select(inbox.c.state, func.count()).group_by(inbox.c.state)).all())
        mts = dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
    return dict(inbox=states, outbox=mts)


class _Profiler:
    """cProfile of the reactor thread and of every `Database.run` on the pool threads."""

    def __init__(self, db):
        import cProfile
        import threading

        self._cprofile, self._local, self._all = cProfile, threading.local(), []
        self.main = cProfile.Profile()
        transaction = db.transaction

        def profiled(fn, *args, **kwargs):
            profile = getattr(self._local, "profile", None)
            if profile is None:
                profile = self._local.profile = cProfile.Profile()
                self._all.append(profile)
            profile.enable()
            try:
                return transaction(fn, *args, **kwargs)
            finally:
                profile.disable()
        db.transaction = profiled

    def start(self):
        self.main.enable()

    def stop(self, path):
        import pstats

        self.main.disable()
        stats = pstats.Stats(self.main)
        for profile in self._all:
            stats.add(profile)
        stats.dump_stats(path)
        stats.sort_stats("tottime").print_stats(25)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="MOs per second offered")
    parser.add_argument("--seconds", type=float, default=20, help="how long to send")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--members", type=int, default=0,
                        help="phones sending, in turn (default: one per MO, so that none is "
                             "taken for a redelivery of the one before)")
    parser.add_argument("--window", type=int, default=10, help="the bind's submit_sm window")
    parser.add_argument("--batch-window", type=float, help="the inbox's batch window in "
                        "seconds (default: the config's)")
    parser.add_argument("--db-threads", type=int, help="the database thread pool's size "
                        "(default: the gateway's, 1 on SQLite, 4 on PostgreSQL)")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval for the "
                        "gateway (default: Python's, 0.005 s)")
    parser.add_argument("--log", help="write the gateway's log here (default: discard)")
    parser.add_argument("--log-format", choices=("console", "json"), default="json")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--profile", help="write a cProfile of the run here")
    parser.add_argument("--smsc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.members = args.members or int(args.rate * args.seconds) + 1
    return smsc_main(args) if args.smsc else gateway_main(args)


if __name__ == "__main__":
    sys.exit(main())
