"""Members: who may use the short code, and where their points live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from gateway.store.models import members
from ledger_client import EmbeddedLedger, Transfer

#: Points are issued from the operator's account, which may go negative:
#: its debit balance is the programme's liability.
ISSUER = ("operator", "issuer")


def add_member(conn, ledger: EmbeddedLedger, *, msisdn: str, name: str, now: datetime,
               language: str | None = None, points: int = 0) -> int:
    """Register a member (or find them) and credit ``points`` once."""
    existing = conn.execute(select(members.c.id).where(members.c.msisdn == msisdn)).scalar()
    account = ledger.open_account(conn, "member", msisdn)
    if existing is None:
        existing = conn.execute(insert(members).values(
            msisdn=msisdn, name=name, language=language, points_account_id=account,
            status="active", created_at=now)).inserted_primary_key[0]
    if points:
        issuer = ledger.open_account(conn, *ISSUER, no_overdraft=False)
        # One opening credit per member: seeding twice changes nothing.
        ledger.post(conn, [Transfer(f"opening:{msisdn}", issuer, account, points, "issue")])
    return existing


def list_members(conn, ledger: EmbeddedLedger) -> list[tuple]:
    rows = conn.execute(select(members).order_by(members.c.id)).all()
    return [(row.msisdn, row.name, row.language or "-",
             ledger.balance(conn, row.points_account_id).available) for row in rows]
