"""The composition root: builds every service from the config.

Nothing else in the gateway wires things together.  Start here to see what
talks to what: binds hand MOs to the inbox, the inbox hands committed MOs to
the processor, the processor wakes the sender, and the sender drains the
outbox through the binds.  The clock is the reactor's; `now()` for database
timestamps derives from it, so tests that move the clock move both.
"""

from __future__ import annotations

from datetime import datetime, timezone

import structlog
from twisted.application import service
from twisted.internet import defer

from gateway.commands.grammar import KeywordTable
from gateway.config import GatewayConfig
from gateway.pipeline import Inbox, Processor
from gateway.sender import Sender
from gateway.smpp.bind import SmppBind
from gateway.store import migrate
from gateway.store.db import Database, make_engine
from ledger_client import EmbeddedLedger

log = structlog.get_logger(__name__)


class SchemaOutOfDate(Exception):
    """The database is not at the schema this code expects."""


class Gateway(service.MultiService):
    """Everything one gateway process runs."""

    def __init__(self, config: GatewayConfig, reactor, engine=None):
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.engine = engine or make_engine(config.database_url)
        self.db = Database(self.engine, reactor)
        self.ledger = EmbeddedLedger(now=self.now)
        self.keywords = KeywordTable.load(config.keywords_path)
        self.inbox = Inbox(
            self.db, reactor, self.now, region=config.phone_region,
            alphabets={b.name: b.default_data_coding for b in config.binds},
            batch_window=config.inbox_batch_window, committed=self._committed)
        self.binds = [SmppBind(b, self.inbox.receive, reactor, ready=self._bind_ready)
                      for b in config.binds]
        self.sender = Sender(self.db, self.binds, reactor, self.now)
        self.processor = Processor(
            self.db, self.ledger, lambda: self.keywords, self.now,
            default_language=config.default_language, replies_queued=self.sender.wake)
        for bind in self.binds:
            bind.setServiceParent(self)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.reactor.seconds(), timezone.utc)

    def _committed(self, inbox_ids):
        self.processor.process(inbox_ids)

    def _bind_ready(self, bind):
        self.sender.wake()

    @defer.inlineCallbacks
    def startService(self):
        self.db.start()
        revision = yield self.db.run(migrate.current)
        if revision != migrate.head():
            self.db.stop()
            raise SchemaOutOfDate(
                f"database is at schema {revision or 'none'}, this gateway needs "
                f"{migrate.head()}: run `jifen db upgrade`")
        yield self.processor.recover()
        self.sender.start()
        log.info("gateway.started", binds=[b.name for b in self.binds])
        super().startService()

    @defer.inlineCallbacks
    def stopService(self):
        yield super().stopService()       # binds unbind first
        self.sender.stop()
        self.db.stop()
        log.info("gateway.stopped")
