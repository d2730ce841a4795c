"""Shared set-up for the agent tests: a migrated database with members, goods, the sample agent
network (config/sample_agents.csv: M01 > S01 > shops A1023 and A2001) and an `AgencyService`."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import select

import agents as rules
from gateway import catalog
from gateway.agency import AgencyService, AgencySettings, network
from gateway.msisdn import normalize
from gateway.store.members import add_member
from gateway.store.tables_agents import agent_redemptions
from ledger_client import EmbeddedLedger

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 12, 9, 0, tzinfo=timezone.utc)
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SHOP, OTHER_SHOP = "254733000111", "254733000222"      # A1023 Shop Li, A2001 Duka Amina
JANE, LI = "254712345678", "8613800138000"
GOODS = (
    catalog.Item("RICE5", "groceries", "goods", 500, {"en": "Rice 5kg", "zh": "大米5公斤"}, stock=20),
    catalog.Item("LAMP", "solar", "goods", 2_000, {"en": "Solar lamp"}, stock=1),
    catalog.Item("AIR50", "airtime", "airtime", 100, {"en": "Airtime 50"}),
)


def load_sample_network(conn, now: datetime, region: str = "KE") -> rules.ImportResult:
    text = (CONFIG / "sample_agents.csv").read_text(encoding="utf-8")
    return network.import_csv(conn, text, lambda raw: normalize(raw, region), now)


class Agency:
    """The database and the service, with the clock in the test's hands."""

    def __init__(self, engine, **settings):
        self.engine = engine
        self.now = NOW
        self.ledger = EmbeddedLedger(now=lambda: self.now)
        self.service = AgencyService(AgencySettings(
            limits=rules.load_limits(CONFIG / "agents.toml"),
            plans=rules.load_plans(CONFIG / "commissions.toml"), namespace="test", **settings),
            self.ledger, hasher=CHEAP_HASHER, rng=random.Random(7))
        self._keys = 0
        with engine.begin() as conn:
            for item in GOODS:
                catalog.add(conn, item, NOW)
            add_member(conn, self.ledger, msisdn=JANE, name="Jane Wanjiru", now=NOW,
                       language="en", points=50_000)
            add_member(conn, self.ledger, msisdn=LI, name="李华", now=NOW, language="zh",
                       points=2_600)
            assert load_sample_network(conn, NOW).ok

    def tick(self, **span) -> None:
        self.now += timedelta(**span)

    def rdm(self, member: str = JANE, item: str = "RICE5", qty: int | None = 2, *,
            agent: str = SHOP, pin: str | None = None, key: str | None = None):
        self._keys += 1
        with self.engine.begin() as conn:
            return self.service.start(conn, agent_msisdn=agent, member_msisdn=member, item=item,
                                      quantity=qty, pin=pin, key=key or f"mo:{self._keys}",
                                      short_code="10655", language="en", now=self.now)

    def answer(self, code: str, *, phone: str = JANE, approve: bool = True):
        with self.engine.begin() as conn:
            return self.service.answer(conn, msisdn=phone, code=code, approve=approve, now=self.now)

    def call(self, fn, *args, **kwargs):
        """`fn(service, conn, ..., now)` from aftersales.py in one transaction."""
        with self.engine.begin() as conn:
            return fn(self.service, conn, *args, now=self.now, **kwargs)

    def available(self, msisdn: str = JANE) -> int:
        with self.engine.connect() as conn:
            account = self.ledger.open_account(conn, "member", msisdn)
            return self.ledger.balance(conn, account).available

    def stock(self, code: str) -> int | None:
        with self.engine.connect() as conn:
            return catalog.find(conn, code).stock

    def redemption(self, reference: str):
        with self.engine.connect() as conn:
            return conn.execute(select(agent_redemptions).where(
                agent_redemptions.c.reference == reference)).one()

    def states(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(agent_redemptions.c.state)
                                     .order_by(agent_redemptions.c.id)).scalars())
