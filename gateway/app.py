"""The composition root: builds every service from the config.

Nothing else in the gateway wires things together.  Start here to see what
talks to what: binds hand MOs to the inbox, the inbox hands committed MOs to
the processor, the processor wakes the sender, and the sender drains the
outbox through the binds.  The clock is the reactor's; `now()` for database
timestamps derives from it, so tests that move the clock move both.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

import structlog
from twisted.application import service
from twisted.internet import defer

import agents as agent_rules
from gateway import local_days, redaction
from gateway.agency import AgencyService, AgencySettings, AgencySweeper
from gateway.agency.queued import AgencyPostings
from gateway.central_accounts import CentralAccounts
from gateway.config import GatewayConfig
from gateway.keyword_reload import LiveKeywords
from gateway.ledger_poster import LedgerPoster
from gateway.pipeline import Inbox, Processor
from gateway.redeem import Pins, RedemptionService, postings
from gateway.remote_reads import RemoteReads
from gateway.sender import Sender
from gateway.smpp.bind import SmppBind
from gateway.store import migrate
from gateway.store.db import Database, make_engine
from gateway.ussd_wiring import build_ussd
from ledger_client import EmbeddedLedger, HoldSweeper, HttpLedger, ThreadedLedger

log = structlog.get_logger(__name__)


def _instance_name() -> str:
    """Who holds an outbox row's claim: readable for operators, unique per process start."""
    return f"{socket.gethostname()[:24]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def build_redemptions(config: GatewayConfig, ledger: EmbeddedLedger) -> RedemptionService:
    """Self-redemption as configured: with the embedded ledger it posts in the MO's own
    transaction; with the central ledger it queues postings for the `LedgerPoster`."""
    return RedemptionService(
        ledger=ledger if config.ledger.kind == "embedded" else None,
        pins=Pins(attempts=config.redemption.pin_attempts,
                  lockout=timedelta(seconds=config.redemption.pin_lockout)),
        namespace=config.ledger.namespace, pin_required=config.redemption.pin_required,
        max_quantity=config.redemption.max_quantity, zone=local_days.zone(config.timezone))


def build_agency(config: GatewayConfig, ledger: EmbeddedLedger) -> AgencyService:
    """Assisted redemption as configured (config/agents.toml, config/commissions.toml).

    With the embedded ledger its hold, approval and claw-backs post in the MO's own transaction;
    with the central ledger they are queued for the `LedgerPoster` (gateway/agency/queued.py).
    """
    agents_config = config.agents
    return AgencyService(AgencySettings(
        limits=agent_rules.load_limits(agents_config.rules_path),
        plans=agent_rules.load_plans(agents_config.commissions_path),
        hold_timeout=agents_config.hold_timeout, code_attempts=agents_config.code_attempts,
        reversal_window=timedelta(seconds=agents_config.reversal_window),
        dispute_window=timedelta(seconds=agents_config.dispute_window),
        currency=agents_config.settlement_currency,
        settlement_per_point=agents_config.settlement_per_point,
        namespace=config.ledger.namespace, zone=local_days.zone(config.timezone)),
        ledger if config.ledger.kind == "embedded" else None)


def build_postings_owners(redemptions: RedemptionService, agency: AgencyService,
                          keywords) -> postings.Owners:
    """Who settles each queued posting, by its purpose: self-redemption or the agency."""
    return postings.Owners({
        **{purpose: postings.Owner(redemptions.settle) for purpose in postings.SELF_REDEMPTION},
        **AgencyPostings(agency, keywords).owners()})


def _ledger_service(config: GatewayConfig, ledger: EmbeddedLedger, db, reactor):
    """The asynchronous `Ledger` the poster sends queued postings to."""
    if config.ledger.kind == "embedded":
        return ThreadedLedger(ledger, db.run)
    return HttpLedger(config.ledger.url, reactor, timeout=config.ledger.timeout,
                      attempts=config.ledger.attempts,
                      backoff=config.ledger.retry_initial_delay,
                      max_backoff=config.ledger.retry_max_delay)


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
        self.keywords = LiveKeywords(self.db, reactor, config.keywords_path,
                                     config.keywords_reload_interval)
        self.inbox = Inbox(
            self.db, reactor, self.now, region=config.phone_region,
            alphabets={b.name: b.default_data_coding for b in config.binds},
            batch_window=config.inbox_batch_window, committed=self._committed,
            id_formats={b.name: b.receipt_id_format for b in config.binds},
            parts_timeout=config.mo_parts_timeout,
            redelivery_window=config.mo_redelivery_window,
            secret_key=redaction.configured_key(config.secret_key))
        self.binds = [SmppBind(b, self._received, reactor, ready=self._bind_ready)
                      for b in config.binds]
        self.sender = Sender(self.db, self.binds, reactor, self.now, instance=_instance_name())
        self.redemptions = build_redemptions(config, self.ledger)
        self.agency = build_agency(config, self.ledger)
        self.ledger_service = _ledger_service(config, self.ledger, self.db, reactor)
        # One cache of account ids, for the reads and the poster (central_accounts.py).
        accounts = CentralAccounts(self.ledger_service)
        # BAL and HIST read the central ledger before their MO's transaction (remote_reads.py).
        self.remote_reads = (None if config.ledger.kind == "embedded" else RemoteReads(
            self.db, self.ledger_service, reactor, timeout=config.ledger.read_timeout,
            accounts=accounts))
        self.processor = Processor(
            self.db, self.ledger, self.keywords.current, self.now,
            default_language=config.default_language, region=config.phone_region,
            replies_queued=self.sender.take, leases=self.sender.leases,
            redemptions=self.redemptions, agency=self.agency, remote_reads=self.remote_reads,
            clock=reactor)
        for bind in self.binds:
            bind.setServiceParent(self)
        owners = build_postings_owners(self.redemptions, self.agency, self.keywords.current)
        LedgerPoster(self.db, self.ledger_service, owners.settle, reactor, self.now,
                     initial_delay=config.ledger.retry_initial_delay,
                     max_delay=config.ledger.retry_max_delay,
                     settled=self.sender.wake, delayed=owners.delayed,
                     accounts=accounts).setServiceParent(self)
        self.ussd = build_ussd(self)              # after the binds, sender and redemptions
        if config.ledger.kind == "embedded":      # the central service sweeps its own holds
            HoldSweeper(self.ledger, self.db.run, reactor,
                        interval=config.ledger.hold_sweep_interval).setServiceParent(self)
        AgencySweeper(self.agency, self.db.run, reactor, self.now,
                      interval=config.agents.sweep_interval,
                      swept=self.sender.wake).setServiceParent(self)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.reactor.seconds(), timezone.utc)

    def _received(self, pdu, bind_name):
        """A deliver_sm: USSD to its dialogue (on a bind with a dialect), anything else to the inbox."""
        if self.ussd.claims(pdu, bind_name):
            return self.ussd.receive(pdu, bind_name)
        return self.inbox.receive(pdu, bind_name)

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
        yield self.keywords.refresh()     # the operator's changes, before any message is read
        yield self.processor.recover()
        self.keywords.start()
        self.sender.start()
        self.inbox.start()
        self.ussd.start()
        log.info("gateway.started", binds=[b.name for b in self.binds])
        super().startService()

    @defer.inlineCallbacks
    def stopService(self):
        yield self.sender.stop()          # no new MTs; what is in flight answered and recorded
        yield super().stopService()       # then the binds unbind
        if isinstance(self.ledger_service, HttpLedger):
            yield self.ledger_service.close()
        self.inbox.stop()
        self.processor.stop()
        self.ussd.stop()
        self.keywords.stop()
        self.db.stop()
        log.info("gateway.stopped")
