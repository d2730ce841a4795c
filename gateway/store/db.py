"""Engines and the thread pool that keeps database work off the reactor.

`Database.run(fn, *args)` calls ``fn(connection, *args)`` inside one
transaction on a pool thread and returns a Deferred of its result.  SQLite
allows one writer at a time, so there the pool has one thread: queuing in
Python is cheaper than "database is locked" retries.  PostgreSQL gets a few.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(
                hide_password=False)
        # No pre-ping: it is a round trip before every transaction, a tenth of an MO's cost
        # at load. After a server restart the first statement on a pooled connection fails
        # instead; SQLAlchemy then invalidates the whole pool, and every caller of the
        # database already retries (inbox: ESME_RX_T_APPN; processor, sender, outcomes,
        # postings, USSD: again later).
        return create_engine(url, pool_size=8, max_overflow=4,
                             connect_args={"options": _postgres_options(parsed)})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _postgres_options(parsed) -> str:
    """Server settings for every connection: a plan per run, unless the URL's options say otherwise.

    psycopg prepares a statement after a few runs, and PostgreSQL then keeps a
    generic plan made with the table sizes of that moment.  Autovacuum's ANALYZE
    replaces it as the tables grow; where autovacuum is off (as on this project's
    CI machines) nothing does, and a gateway started on empty tables kept plans
    that read whole tables: the inbox's redelivery lookup, the outbox updates and
    the ledger's account updates, a little slower with every MO.  A custom plan
    per run costs the server about 0.1 ms a statement and follows the tables.
    The URL's own ``options`` come last, so ``-c plan_cache_mode=auto`` there wins.
    """
    given = parsed.query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    return f"-c plan_cache_mode=force_custom_plan {given}".strip()


def _sqlite_begin(connection):
    # pysqlite opens a transaction only at the first write, so a SAVEPOINT
    # that comes first starts one of its own, and releasing it COMMITS, out
    # from under the caller's transaction.  Beginning explicitly fixes that;
    # IMMEDIATE takes the write lock at once, so two connections can never
    # read, then both try to write and fail with SQLITE_BUSY.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record):
    dbapi_connection.isolation_level = None      # we issue BEGIN ourselves (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")   # durable in WAL mode across app crashes
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (the default is 2): the ledger's indexes stay in memory past a
    # million transfers, so a posting costs the same as on an empty journal.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """An engine plus the threads its blocking calls run on."""

    def __init__(self, engine: Engine, reactor, threads: int | None = None):
        self.engine = engine
        self._reactor = reactor
        self._size = threads or (1 if is_sqlite(engine) else 4)
        self._pool = None

    def start(self):
        """Start the threads; a stopped Database may be started again."""
        if self._pool is None:
            self._pool = ThreadPool(minthreads=1, maxthreads=self._size, name="jifen-db")
            self._pool.start()
            self._trigger = self._reactor.addSystemEventTrigger("during", "shutdown",
                                                                self.stop)

    def stop(self):
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            try:
                self._reactor.removeSystemEventTrigger(self._trigger)
            except ValueError:      # we are that trigger, firing at shutdown
                pass

    def run(self, fn, *args, **kwargs):
        """Run ``fn(connection, ...)`` in one transaction, off the reactor."""
        return deferToThreadPool(self._reactor, self._pool, self.transaction, fn,
                                 *args, **kwargs)

    def transaction(self, fn, *args, **kwargs):
        """The same as `run`, on the calling thread (CLI and tests)."""
        with self.engine.begin() as connection:
            return fn(connection, *args, **kwargs)
