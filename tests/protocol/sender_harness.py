"""A `Sender` on a real database with hand-driven SMSCs: task.Clock, StringTransport, no sockets.

The database work runs synchronously on the test's thread (`SyncDb`), so a
test reads as a script: rows go in, `settle()`, look at what each SMSC was
sent, answer it, `settle()`, look at the rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select
from twisted.internet import defer, task
from twisted.internet.error import ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gateway.sender import Sender
from gateway.smpp.codec import Pdu, Status, decode, encode
from gateway.smpp.protocol import EsmeFactory
from gateway.store.db import Database, make_engine
from gateway.store.models import outbox
from gateway.store.schema import ALL_METADATA

START = 1_800_000_000.0         # a clock in 2027, so datetimes look like dates
TIMEOUT = 10.0


class SyncDb(Database):
    """`Database.run` on the calling thread: deterministic under task.Clock."""

    def run(self, fn, *args, **kwargs):
        return defer.maybeDeferred(self.transaction, fn, *args, **kwargs)


class Smsc:
    """The SMSC end of one bind's connection, answered by hand."""

    def __init__(self, protocol, transport):
        self.protocol, self.transport = protocol, transport
        self.received: list[Pdu] = []

    def submits(self) -> list[Pdu]:
        """submit_sm written since the last call; keep-alives are answered on the way."""
        data, new = self.transport.value(), []
        self.transport.clear()
        while data:
            length = int.from_bytes(data[:4], "big")
            pdu, data = decode(data[:length]), data[length:]
            if pdu.command == "enquire_link":
                self.protocol.dataReceived(encode(pdu.response()))
            elif pdu.command == "submit_sm":
                new.append(pdu)
        self.received += new
        return new

    def answer(self, pdu, status=Status.OK, message_id=None):
        params = {"message_id": message_id or f"id{pdu.sequence}"} if status == Status.OK else {}
        self.protocol.dataReceived(encode(pdu.response(status, **params)))

    def answer_all(self, pdus, status=Status.OK):
        for pdu in pdus:
            self.answer(pdu, status)


class FakeBind:
    """What the sender needs of `SmppBind`: config, short codes, the bound protocol."""

    def __init__(self, clock, name="main", short_codes=("10655",), mode="transceiver",
                 window=10, tps=None, long_messages="udh"):
        self.name, self.short_codes = name, frozenset(short_codes)
        self.transmits = mode != "receiver"
        self.config = SimpleNamespace(
            name=name, system_id="jifen", password="secret", system_type="", mode=mode,
            short_codes=tuple(short_codes), enquire_link_interval=1e6,   # keep-alive: elsewhere
            response_timeout=TIMEOUT, window=window, tps=tps, long_messages=long_messages)
        self.clock = clock
        self.protocol = None

    def connect(self) -> Smsc:
        protocol = EsmeFactory(self.config, lambda pdu, name: Status.OK,
                               self.clock).buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        [bind] = [decode(transport.value())]
        transport.clear()
        protocol.dataReceived(encode(bind.response(system_id="SMSC")))
        self.protocol = protocol
        return Smsc(protocol, transport)

    def drop(self):
        protocol, self.protocol = self.protocol, None
        protocol.connectionLost(Failure(ConnectionLost()))


class SenderHarness:
    def __init__(self, database_url, binds=None, instance="test"):
        self.clock = task.Clock()
        self.clock.advance(START)
        self.engine = make_engine(database_url)
        for metadata in ALL_METADATA:
            metadata.create_all(self.engine)
        self.db = SyncDb(self.engine, self.clock)
        self.binds = binds or [FakeBind(self.clock)]
        self.sender = self.new_sender(instance)

    def new_sender(self, instance, binds=None):
        return Sender(self.db, binds or self.binds, self.clock, self.now, instance=instance)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.seconds(), timezone.utc)

    def queue(self, count=1, text="Jifen: your balance is 1,350 pts.", short_code="10655",
              **values) -> list[int]:
        now = self.now()
        with self.engine.begin() as conn:
            return [conn.execute(insert(outbox).values(**dict(dict(
                idempotency_key=f"k{short_code}-{i}-{now.timestamp()}-{text[:8]}",
                source_addr=short_code, destination_addr=f"2547000{i:05d}", text=text,
                language="en", state="queued", attempts=0, created_at=now,
                next_attempt_at=now), **values))).inserted_primary_key[0] for i in range(count)]

    def settle(self, seconds=0.0):
        """Let timers due within ``seconds`` (and everything they start) run, in order,
        then 20 ms more for the batches they leave waiting."""
        end = self.clock.seconds() + seconds
        self.clock.advance(0)
        while True:
            due = [c.getTime() for c in self.clock.getDelayedCalls() if c.getTime() <= end]
            if not due:
                break
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
        self.clock.advance(max(0.0, end - self.clock.seconds()) + 0.02)

    def rows(self, *columns):
        columns = columns or (outbox.c.id, outbox.c.state, outbox.c.attempts,
                              outbox.c.smsc_message_ids, outbox.c.error)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(select(*columns).order_by(outbox.c.id))]

    def row(self, outbox_id):
        with self.engine.connect() as conn:
            return conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()

    def close(self):
        self.engine.dispose()


def later(harness, seconds) -> datetime:
    return harness.now() + timedelta(seconds=seconds)


# Fixtures, imported by the test modules (a conftest.py here would shadow tests/conftest.py,
# which other tests import by name).

@pytest.fixture
def harness(database_url):
    """On SQLite and PostgreSQL: for what the database's answers decide."""
    harness = SenderHarness(database_url)
    yield harness
    harness.close()


@pytest.fixture
def quick(tmp_path):
    """On SQLite only: for the sender's own logic, the same on either database."""
    harness = SenderHarness(f"sqlite:///{tmp_path}/outbox.db")
    yield harness
    harness.close()
