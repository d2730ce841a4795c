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
all crediting one revenue account as redemptions do); "single, 100 per commit" is one call per transfer, 100 calls to a transaction,
as the gateway's processor posts the redemptions of a batch of MOs; "batch" is one call of 100
transfers per transaction.  The history is bulk-loaded (COPY on PostgreSQL,
executemany on SQLite) straight into the journal, with the account totals to match, and the
ledger's audit is run at the end of each database's run.  Each figure is the median of
--repeat runs: on a shared machine a single run says as much about the neighbours.
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
        revenue = ledger.open_account(conn, AccountKind.OPERATOR, "redemptions")
    members = open_members(engine)
    fund(engine, ledger, issuer, members)
    results = []
    for history in (0, args.history):
        if history:
            load_history(engine, kind, issuer, members, history)
        size = journal_size(engine)
        runs: dict[str, list[float]] = {}
        for attempt in range(args.repeat):
            for name, figure in measure(engine, ledger, members, revenue, args,
                                        f"h{history}r{attempt}"):
                runs.setdefault(name, []).append(figure)
        for name, figures in runs.items():
            figure = statistics.median(figures)
            results.append(dict(database=kind, journal=size, run=name,
                                per_second=round(figure)))
            print(f"{kind:<10} journal {size:>9,}  {name:<22} {figure:>9,.0f} transfers/s  "
                  f"(median of {len(figures)}: {', '.join(f'{f:,.0f}' for f in figures)})",
                  flush=True)
    with engine.connect() as conn:
        problems = audit.problems(conn)
    print(f"{kind:<10} audit: {'sound' if not problems else problems[:3]}", flush=True)
    engine.dispose()
    return results


def measure(engine, ledger, members, revenue, args, tag):
    yield "single, 1 thread", singles(engine, ledger, members, revenue, args.single, 1, tag)
    yield (f"single, {args.threads} threads",
           singles(engine, ledger, members, revenue, args.single, args.threads, tag + "t"))
    yield (f"single, {BATCH} per commit",
           batches(engine, ledger, members, revenue, args.batches, tag + "c", one_call=False))
    yield f"batches of {BATCH}", batches(engine, ledger, members, revenue, args.batches, tag)


def singles(engine, ledger, members, revenue, count, threads, tag) -> float:
    per_thread = count // threads
    start = threading.Barrier(threads + 1)

    def work(t):
        with engine.connect() as conn:
            start.wait()
            for i in range(per_thread):
                member = members[(t * per_thread + i) % len(members)]
                with conn.begin():          # as the ledger service posts: one per request
                    ledger.post(conn, [Transfer(f"{tag}:s{t}:{i}", member, revenue, 1,
                                                "redeem")], savepoint=False)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - began)


def batches(engine, ledger, members, revenue, count, tag, one_call=True) -> float:
    """``count`` commits of `BATCH` transfers: one `post` call each, or (``one_call`` False)
    one call per transfer, each in its own savepoint, as the gateway's processor posts the
    redemptions of a batch of MOs inside one transaction."""
    with engine.connect() as conn:
        began = time.perf_counter()
        for b in range(count):
            batch = [Transfer(f"{tag}:b{b}:{i}", members[(b * BATCH + i) % len(members)],
                              revenue, 1, "redeem") for i in range(BATCH)]
            with conn.begin():
                if one_call:
                    ledger.post(conn, batch)
                else:
                    for transfer in batch:
                        ledger.post(conn, [transfer])
        return count * BATCH / (time.perf_counter() - began)


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
