#!/usr/bin/env python
"""Transfers per second on the embedded ledger: single postings and batches of 100, on SQLite
and PostgreSQL, with an empty journal and with a long history already in it.

    scripts/bench_ledger.py                       # 1,000,000 transfers of history (a few minutes)
    scripts/bench_ledger.py --history 20000       # a quick run
    scripts/bench_ledger.py --databases sqlite --single 3000 --batches 100

What it shows: the cost of a posting does not grow with the journal, because a posting reads
and writes account rows and index entries, never the history.  Each figure is a separate run of
committed transactions: "single" is one transfer per `post` call and per transaction, as the
ledger service posts a request (one thread, and --threads threads each on its own connection,
all crediting one revenue account as redemptions do, and again with a revenue account per
thread, which shows what that one hot row costs); "single, 100 per commit" is one call per
transfer, 100 calls to a transaction, as the gateway's processor posts the redemptions of a
batch of MOs; "batch" is one call of 100 transfers per transaction.  The history is bulk-loaded
(COPY on PostgreSQL, executemany on SQLite) straight into the journal, with the account totals
to match, and the ledger's audit is run at the end of each database's run.  Each figure is the
median of --repeat runs: on a shared machine a single run says as much about the neighbours, so
each also gives the CPU a transfer took, here and (read from /proc) in the PostgreSQL backends,
which the neighbours disturb less; the load average is printed with each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from gateway.store.db import make_engine  # noqa: E402
from gateway.testing import scratch_database  # noqa: E402
from ledger_client import AccountKind, EmbeddedLedger, Transfer, audit  # noqa: E402
from ledger_client.schema import accounts, metadata, transfers as journal  # noqa: E402

MEMBERS = 10_000
BATCH = 100


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--history", type=int, default=1_000_000,
                        help="transfers already in the journal for the second round")
    parser.add_argument("--single", type=int, default=2000, help="single postings to time")
    parser.add_argument("--batches", type=int, default=60, help="batches of 100 to time")
    parser.add_argument("--threads", type=int, default=4, help="threads for concurrent singles")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the median is reported")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "JIFEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args(argv)
    rows = []
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as directory, \
                scratch_database(kind, directory, args.postgres_url) as url:
            rows += bench(kind, url, args)
    print(json.dumps(rows))
    return 0


def bench(kind: str, url: str, args) -> list[dict]:
    engine = make_engine(url)
    metadata.create_all(engine)
    ledger = EmbeddedLedger()
    with engine.begin() as conn:
        issuer = ledger.open_account(conn, AccountKind.OPERATOR, "issuer", no_overdraft=False)
        revenues = [ledger.open_account(conn, AccountKind.OPERATOR, "redemptions" + suffix)
                    for suffix in ["", *(f"-{t}" for t in range(1, args.threads))]]
    members = open_members(engine)
    fund(engine, ledger, issuer, members)
    results = []
    for history in (0, args.history):
        if history:
            load_history(engine, kind, issuer, members, history)
        size = journal_size(engine)
        print(f"{kind:<10} journal {size:>9,}  load average {os.getloadavg()[0]:.2f}", flush=True)
        runs: dict[str, list[Figure]] = {}
        for attempt in range(args.repeat):
            for name, figure in measure(engine, ledger, members, revenues, args,
                                        f"h{history}r{attempt}"):
                runs.setdefault(name, []).append(figure)
        for name, figures in runs.items():
            results.append(report(kind, size, name, figures))
    with engine.connect() as conn:
        problems = audit.problems(conn)
    print(f"{kind:<10} audit: {'sound' if not problems else problems[:3]}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    engine.dispose()
    return results


@dataclass
class Figure:
    """One timed run: transfers, wall seconds, and CPU seconds of this process (SQLite runs
    in it) and of the PostgreSQL backends that served it (None where /proc cannot tell)."""

    transfers: int
    seconds: float
    cpu: float
    server_cpu: float | None

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds


def report(kind: str, size: int, name: str, figures: list[Figure]) -> dict:
    """Print and return the median of ``figures``, with the CPU each transfer took."""
    figure = statistics.median(f.per_second for f in figures)
    cpu = statistics.median(f.cpu / f.transfers * 1e6 for f in figures)
    servers = [f.server_cpu / f.transfers * 1e6 for f in figures if f.server_cpu is not None]
    server = statistics.median(servers) if servers else None
    print(f"{kind:<10} journal {size:>9,}  {name:<26} {figure:>9,.0f} transfers/s  CPU/transfer "
          f"{cpu:,.0f} us here" + (f" + {server:,.0f} us PostgreSQL" if server is not None else "")
          + f"  (median of {len(figures)}: {', '.join(f'{f.per_second:,.0f}' for f in figures)})",
          flush=True)
    return dict(database=kind, journal=size, run=name, per_second=round(figure),
                cpu_us=round(cpu), server_cpu_us=None if server is None else round(server))


def measure(engine, ledger, members, revenues, args, tag):
    revenue, threads = revenues[0], args.threads
    yield "single, 1 thread", singles(engine, ledger, members, [revenue], args.single, 1, tag)
    yield (f"single, {threads} threads", singles(engine, ledger, members, [revenue] * threads,
                                                 args.single, threads, tag + "t"))
    # The same with a revenue account per thread: what the one hot revenue row costs.
    yield (f"single, {threads} thr., {threads} revenues",
           singles(engine, ledger, members, revenues, args.single, threads, tag + "u"))
    yield (f"single, {BATCH} per commit",
           batches(engine, ledger, members, revenue, args.batches, tag + "c", one_call=False))
    yield f"batches of {BATCH}", batches(engine, ledger, members, revenue, args.batches, tag)


def singles(engine, ledger, members, revenues, count, threads, tag) -> Figure:
    """``count`` transfers, one per `post` call and per transaction, on ``threads`` threads,
    thread ``t`` crediting ``revenues[t]``."""
    per_thread = count // threads
    start = threading.Barrier(threads + 1)
    server_cpu = []

    def work(t):
        with engine.connect() as conn:
            before = backend_cpu(conn)
            start.wait()
            for i in range(per_thread):
                member = members[(t * per_thread + i) % len(members)]
                with conn.begin():          # as the ledger service posts: one per request
                    ledger.post(conn, [Transfer(f"{tag}:s{t}:{i}", member, revenues[t], 1,
                                                "redeem")], savepoint=False)
            after = backend_cpu(conn)
            server_cpu.append(None if before is None or after is None else after - before)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    server = None if None in server_cpu else sum(server_cpu)
    return Figure(per_thread * threads, seconds, cpu, server)


def batches(engine, ledger, members, revenue, count, tag, one_call=True) -> Figure:
    """``count`` commits of `BATCH` transfers: one `post` call each, or (``one_call`` False)
    one call per transfer, each in its own savepoint, as the gateway's processor posts the
    redemptions of a batch of MOs inside one transaction."""
    with engine.connect() as conn:
        server = backend_cpu(conn)
        began, cpu = time.perf_counter(), time.process_time()
        for b in range(count):
            batch = [Transfer(f"{tag}:b{b}:{i}", members[(b * BATCH + i) % len(members)],
                              revenue, 1, "redeem") for i in range(BATCH)]
            with conn.begin():
                if one_call:
                    ledger.post(conn, batch)
                else:
                    for transfer in batch:
                        ledger.post(conn, [transfer])
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        after = backend_cpu(conn)
        server = None if server is None or after is None else after - server
        return Figure(count * BATCH, seconds, cpu, server)


def backend_cpu(conn) -> float | None:
    """CPU seconds used so far by the PostgreSQL backend serving ``conn``, read from /proc
    (the server on this machine); None for SQLite, whose work counts in this process."""
    if conn.dialect.name != "postgresql":
        return None
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    conn.rollback()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")    # utime + stime


def open_members(engine) -> list[int]:
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(accounts), [dict(
            ledger="points", kind="member", reference=f"m{n}", no_overdraft=1, closed=0,
            debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
            created_at=now) for n in range(MEMBERS)])
        return list(conn.execute(select(accounts.c.id).where(accounts.c.kind == "member")
                                 .order_by(accounts.c.id)).scalars())


def fund(engine, ledger, issuer, members) -> None:
    with engine.begin() as conn:
        for start in range(0, len(members), 1000):
            ledger.post(conn, [Transfer(f"fund:{m}", issuer, m, 1_000_000, "issue")
                               for m in members[start:start + 1000]])


def load_history(engine, kind, issuer, members, count) -> None:
    """``count`` issue transfers straight into the journal, totals adjusted to match."""
    began = time.perf_counter()
    now = datetime.now(timezone.utc)
    rows = ((f"hist:{n}", "points", issuer, members[n % len(members)], 1, "issue", "single",
             None, None, now) for n in range(count))
    columns = ("id", "ledger", "debit_account_id", "credit_account_id", "amount", "code",
               "kind", "pending_id", "reference", "created_at")
    with engine.begin() as conn:
        if kind == "postgresql":
            with conn.connection.cursor() as cursor:
                with cursor.copy(f"COPY ledger_transfers ({', '.join(columns)}) FROM STDIN") \
                        as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            chunk = []
            for row in rows:
                chunk.append(dict(zip(columns, row)))
                if len(chunk) == 50_000:
                    conn.execute(insert(journal), chunk)
                    chunk = []
            if chunk:
                conn.execute(insert(journal), chunk)
        per_member, extra = divmod(count, len(members))
        conn.execute(update(accounts).where(accounts.c.kind == "member").values(
            credits_posted=accounts.c.credits_posted + per_member))
        if extra:
            conn.execute(update(accounts).where(accounts.c.id.in_(members[:extra])).values(
                credits_posted=accounts.c.credits_posted + 1))
        conn.execute(update(accounts).where(accounts.c.id == issuer).values(
            debits_posted=accounts.c.debits_posted + count))
    if kind == "postgresql":
        # What autovacuum would soon do to a freshly loaded table, done now rather than
        # in the middle of the measurement.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    if kind == "sqlite":
        # One giant load transaction leaves a WAL as big as the data; day-to-day commits are
        # checkpointed as they go, so start the measurement from a checkpointed file.
        raw = engine.raw_connection()       # outside any transaction, as the pragma needs
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    print(f"{kind:<10} loaded {count:,} transfers of history in "
          f"{time.perf_counter() - began:.1f} s", flush=True)


def journal_size(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(journal)).scalar()


if __name__ == "__main__":
    sys.exit(main())
