"""The set-up the receiving-side loopback tests share (test_mo_*.py).

`LoopbackCase` is the gateway bound over loopback TCP to the simulator on a
scratch database, as in gateway_cases.py, with config overrides per class and
the counts every test ends on: how many MOs were run, how many replies queued.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from sqlalchemy import func, insert, select
from twisted.internet import defer, reactor
from twisted.trial import unittest

from conftest import POSTGRES_ADMIN_URL, postgres_skip_reason
from gateway.config import load
from gateway.store.models import inbox, outbox
from gateway.testing import LoopbackGateway, scratch_database
from gateway_cases import _tmpdir, _until

MEMBER = "254712345678"          # Jane, English, 1,350 pts
CHINESE_MEMBER = "8613800138000"  # Li Hua, Chinese, 2,600 pts
SHORT_CODE = "10655"

__all__ = ["LoopbackCase", "MEMBER", "CHINESE_MEMBER", "SHORT_CODE", "until"]

until = _until


class LoopbackCase:
    database = "sqlite"
    timeout = 30
    settings: dict = {}          # GatewayConfig fields to override

    def setUp(self):
        if self.database == "postgresql":
            reason = postgres_skip_reason()
            if reason:
                raise unittest.SkipTest(reason)
        scratch = scratch_database(self.database, _tmpdir(self), POSTGRES_ADMIN_URL)
        url = scratch.__enter__()
        self.addCleanup(scratch.__exit__, None, None, None)
        config = dataclasses.replace(load(), **self.settings)
        self.loop = LoopbackGateway(reactor, url, config=config)
        self.simulator = self.loop.simulator
        self.addCleanup(self.loop.stop)
        return self.loop.start()

    @property
    def gateway(self):
        return self.loop.gateway

    def rows(self, query):
        with self.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    def count(self, table, *where):
        return self.rows(select(func.count()).select_from(table).where(*where))[0][0]

    def executed(self) -> list[str | None]:
        """The command of every MO that was run (not answered as a redelivery), in order."""
        return [command for command, in self.rows(
            select(inbox.c.command).where(inbox.c.duplicate_of.is_(None), inbox.c.state == "done")
            .order_by(inbox.c.id))]

    def queue_mt(self, text: str) -> int:
        """An MT written straight to the outbox, as an operator's notice would be; its id."""
        now = datetime.now(timezone.utc)
        with self.gateway.engine.begin() as conn:
            outbox_id = conn.execute(insert(outbox).values(
                idempotency_key=f"test:{now.timestamp()}", source_addr=SHORT_CODE,
                destination_addr=MEMBER, text=text, language="en", state="queued", attempts=0,
                created_at=now, next_attempt_at=now)).inserted_primary_key[0]
        self.gateway.sender.wake()
        return outbox_id

    @defer.inlineCallbacks
    def settled(self):
        """Wait until every MO is processed and every reply submitted."""
        yield until(lambda: self.count(inbox, inbox.c.state != "done") == 0
                    and self.count(outbox, outbox.c.state == "queued") == 0)
