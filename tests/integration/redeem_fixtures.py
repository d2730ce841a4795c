"""Shared set-up for the catalogue and redemption tests: a migrated gateway database with
members, a few catalogue items and a `RedemptionService`, on each database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select

from gateway import catalog
from gateway.redeem import Pins, RedemptionService
from gateway.store import migrate
from gateway.store.db import make_engine
from gateway.store.members import ISSUER
from gateway.store.models import members
from ledger_client import POINTS, AccountKind, EmbeddedLedger, Transfer, audit
from ledger_client.schema import accounts

NOW = datetime(2026, 12, 12, 12, 0, tzinfo=timezone.utc)
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

ITEMS = (
    catalog.Item("AIR50", "airtime", "airtime", 100, {"en": "Airtime 50", "zh": "话费50"}),
    catalog.Item("MOVIE", "vouchers", "voucher", 600, {"en": "Cinema ticket", "zh": "电影票"},
                 stock=5, per_member_limit=2),
    catalog.Item("RICE5", "food", "goods", 500, {"en": "Rice 5kg", "zh": "大米5公斤"}, stock=9),
    catalog.Item("SOLAR", "vouchers", "voucher", 1200, {"en": "Solar lamp"}, stock=3,
                 sale_starts_at=NOW + timedelta(hours=1), sale_ends_at=NOW + timedelta(hours=2)),
)


class Shop:
    """A gateway database with members and a catalogue, and the service over it."""

    def __init__(self, engine, *, queued: bool = False, pin_required: bool = False):
        self.engine = engine
        self.now = NOW
        self.ledger = EmbeddedLedger(now=lambda: self.now)
        self.pins = Pins(hasher=CHEAP_HASHER)
        self.service = RedemptionService(ledger=None if queued else self.ledger, pins=self.pins,
                                         pin_required=pin_required, namespace="test")
        with engine.begin() as conn:
            for item in ITEMS:
                catalog.add(conn, item, NOW)
        self._keys = 0

    def members(self, count: int, points: int, prefix: str = "2547") -> list[int]:
        """``count`` members with ``points`` each, in a few bulk statements."""
        numbers = [f"{prefix}{n:08d}" for n in range(count)]
        with self.engine.begin() as conn:
            issuer = self.ledger.open_account(conn, *ISSUER, no_overdraft=False)
            conn.execute(insert(accounts), [dict(
                ledger=POINTS, kind=AccountKind.MEMBER.value, reference=msisdn, no_overdraft=1,
                closed=0, debits_posted=0, credits_posted=0, debits_pending=0,
                credits_pending=0, created_at=NOW) for msisdn in numbers])
            account = dict(conn.execute(select(accounts.c.reference, accounts.c.id).where(
                accounts.c.reference.in_(numbers))).all())
            conn.execute(insert(members), [dict(
                msisdn=msisdn, name=f"Member {n}", language="en",
                points_account_id=account[msisdn], status="active", created_at=NOW)
                for n, msisdn in enumerate(numbers)])
            ids = dict(conn.execute(select(members.c.msisdn, members.c.id).where(
                members.c.msisdn.in_(numbers))).all())
            openings = [Transfer(f"open:{msisdn}", issuer, account[msisdn], points, "issue")
                        for msisdn in numbers]
            for start in range(0, len(openings), 500):
                self.ledger.post(conn, openings[start:start + 500])
        return [ids[msisdn] for msisdn in numbers]

    def redeem(self, member_id: int, code: str, quantity: int = 1, *, key: str | None = None,
               pin: str | None = None):
        self._keys += 1
        with self.engine.begin() as conn:
            return self.service.redeem(conn, member_id=member_id, item_code=code,
                                       quantity=quantity, key=key or f"mo:{self._keys}",
                                       now=self.now, short_code="10655", language="en", pin=pin)

    def available(self, member_id: int) -> int:
        with self.engine.connect() as conn:
            account = conn.execute(select(members.c.points_account_id).where(
                members.c.id == member_id)).scalar_one()
            return self.ledger.balance(conn, account).available

    def item(self, code: str) -> catalog.Item:
        with self.engine.connect() as conn:
            return catalog.find(conn, code)

    def rows(self, query):
        with self.engine.connect() as conn:
            return conn.execute(query).all()


@pytest.fixture
def gateway_engine(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    with engine.connect() as conn:
        assert audit.problems(conn) == []
    engine.dispose()


@pytest.fixture
def shop(gateway_engine):
    return Shop(gateway_engine)
