"""Shared set-up for the ledger tests: a ledger on each database, audited after every test."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from gateway.store.db import make_engine
from ledger_client import AccountKind, EmbeddedLedger, Transfer, audit
from ledger_client.schema import metadata

START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


class Clock:
    """The ledger's ``now``, moved by hand."""

    def __init__(self, start: datetime = START):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class Books:
    """A ledger on a fresh database, with an issuer and helpers to open funded accounts."""

    def __init__(self, engine):
        self.engine = engine
        self.clock = Clock()
        self.ledger = EmbeddedLedger(now=self.clock)
        with engine.begin() as conn:
            self.issuer = self.ledger.open_account(conn, AccountKind.OPERATOR, "issuer",
                                                   no_overdraft=False)
            self.revenue = self.ledger.open_account(conn, AccountKind.OPERATOR, "redemptions")

    def member(self, reference: str, points: int = 0) -> int:
        with self.engine.begin() as conn:
            account = self.ledger.open_account(conn, AccountKind.MEMBER, reference)
            if points:
                self.ledger.post(conn, [Transfer(f"open:{reference}", self.issuer, account,
                                                 points, "issue")])
        return account

    def post(self, *transfers: Transfer):
        with self.engine.begin() as conn:
            return self.ledger.post(conn, list(transfers))

    def balance(self, account: int):
        with self.engine.connect() as conn:
            return self.ledger.balance(conn, account)

    def journal_size(self) -> int:
        from sqlalchemy import func, select
        from ledger_client.schema import transfers
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(transfers)).scalar()


def ledger_engine(database_url: str):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    return engine


def assert_sound(engine) -> None:
    """The invariants: every ledger balances, and every total matches the journal."""
    with engine.connect() as conn:
        assert audit.problems(conn) == []


@pytest.fixture
def books(database_url):
    engine = ledger_engine(database_url)
    yield Books(engine)
    assert_sound(engine)
    engine.dispose()


def race(count: int, work) -> list:
    """Run ``work(i)`` on ``count`` threads released together; what each returned or raised."""
    start = threading.Barrier(count)
    outcomes: list = [None] * count

    def one(i):
        start.wait()
        try:
            outcomes[i] = work(i)
        except Exception as error:  # the outcome under test
            outcomes[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


class ScratchDatabase:
    """For trial test cases: fresh databases of kind ``self.database``, each with its thread
    pool started, audited and dropped at cleanup.  `open_database` sets ``self.url``,
    ``self.engine`` and ``self.db`` for the first; `scratch` gives more."""

    database = "sqlite"
    schema = "ledger"          # "ledger": the ledger's tables only; "all": every migration

    def open_database(self):
        self.url, self.engine, self.db = self.scratch(self.schema)

    def scratch(self, schema: str):
        import shutil
        import tempfile

        from twisted.internet import reactor
        from twisted.trial import unittest

        from conftest import POSTGRES_ADMIN_URL, postgres_skip_reason
        from gateway.store import migrate
        from gateway.store.db import Database
        from gateway.testing import scratch_database

        if self.database == "postgresql":
            reason = postgres_skip_reason()
            if reason:
                raise unittest.SkipTest(reason)
        directory = tempfile.mkdtemp(prefix="jifen-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        scratch = scratch_database(self.database, directory, POSTGRES_ADMIN_URL)
        url = scratch.__enter__()
        self.addCleanup(scratch.__exit__, None, None, None)
        if schema == "all":
            engine = make_engine(url)
            migrate.upgrade(engine)
        else:
            engine = ledger_engine(url)
        self.addCleanup(engine.dispose)
        db = Database(engine, reactor)
        db.start()
        self.addCleanup(db.stop)
        self.addCleanup(assert_sound, engine)
        return url, engine, db


def until(predicate, attempts: int = 1000):
    """A Deferred that fires once ``predicate()`` holds (checked every 10 ms on the reactor)."""
    from twisted.internet import defer, reactor, task

    @defer.inlineCallbacks
    def poll():
        for _ in range(attempts):
            if predicate():
                return
            yield task.deferLater(reactor, 0.01, lambda: None)
        raise AssertionError("condition never held")
    return poll()
