"""Doubles and harnesses for tests: the project's, and an operator's own.

`scratch_database` gives a throwaway database (a SQLite file, or a uniquely
named PostgreSQL database dropped afterwards) so that what an earlier run
left behind can never change a result.  `LoopbackGateway` is the real
gateway bound over TCP on 127.0.0.1 to the SMSC simulator.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twisted.internet import defer, threads

from gateway.app import Gateway
from gateway.config import GatewayConfig, load
from gateway.smpp.simulator import Simulator
from gateway.store import migrate
from gateway.store.members import add_member

__all__ = ["Simulator", "LoopbackGateway", "scratch_database", "postgres_available"]


def postgres_available(admin_url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = create_engine(_psycopg(admin_url))
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as error:  # any driver or network failure means "not here"
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"


@contextlib.contextmanager
def scratch_database(kind: str, directory, admin_url: str):
    """A URL to an empty database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{directory}/jifen-{uuid.uuid4().hex[:8]}.db"
        return
    name = f"jifen_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_psycopg(admin_url)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def in_scratch_directory(test) -> str:
    """Run the rest of a trial ``test`` in a fresh directory, removed afterwards; its path.

    The demo writes its database and log under ./var, which must not be the repository's.
    """
    here = os.getcwd()
    scratch = tempfile.TemporaryDirectory()
    test.addCleanup(scratch.cleanup)
    os.chdir(scratch.name)
    test.addCleanup(os.chdir, here)
    return scratch.name


def _psycopg(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SAMPLE = (
    dict(msisdn="254712345678", name="Jane Wanjiru", language="en", points=1350),
    dict(msisdn="8613800138000", name="Li Hua", language="zh", points=2600),
    dict(msisdn="254722000111", name="Amina Otieno", language=None, points=40),
)


class LoopbackGateway:
    """A simulator and a gateway bound to it, on ``database_url``."""

    def __init__(self, reactor, database_url: str, config: GatewayConfig | None = None,
                 members=SAMPLE):
        self.reactor = reactor
        self.simulator = Simulator({"jifen": "secret"})
        self._base = config or load()
        self._url = database_url
        self._members = members
        self.gateway = None

    @property
    def short_code(self) -> str:
        return self.gateway.config.binds[0].short_codes[0]

    @defer.inlineCallbacks
    def start(self, migrate_first=True):
        port = self.simulator.listen(self.reactor)
        # Every configured bind goes to the simulator, each with its own account.
        binds = tuple(replace(bind, host="127.0.0.1", port=port, password="secret",
                              reconnect_initial_delay=0.1, reconnect_max_delay=1.0)
                      for bind in self._base.binds)
        self.simulator.accounts.update({bind.system_id: "secret" for bind in binds})
        config = replace(self._base, database_url=self._url, binds=binds)
        self.gateway = Gateway(config, self.reactor)
        if migrate_first:
            yield threads.deferToThread(self._prepare)
        yield self.gateway.startService()
        yield self.simulator.wait_bound()

    def _prepare(self):
        migrate.upgrade(self.gateway.engine)
        with self.gateway.engine.begin() as conn:
            for member in self._members:
                add_member(conn, self.gateway.ledger, now=datetime.now(timezone.utc), **member)

    @defer.inlineCallbacks
    def stop(self):
        if self.gateway is not None and self.gateway.running:
            yield self.gateway.stopService()
        yield self.simulator.stop()
        if self.gateway is not None:
            self.gateway.engine.dispose()

    @defer.inlineCallbacks
    def exchange(self, msisdn: str, message: str):
        """Send one MO and wait for the MT that answers it."""
        reply = self.simulator.next_mt()
        yield self.simulator.deliver(msisdn, self.short_code, message)
        mt = yield reply
        return mt
