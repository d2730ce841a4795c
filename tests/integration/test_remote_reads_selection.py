"""remote_reads.selection on each database: which senders of a batch of committed MOs get their
central figures read (active members sending BAL or HIST, MOs not yet claimed), and which not."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from gateway.commands import KeywordTable
from gateway.remote_reads import BALANCE, HISTORY, selection
from gateway.store.members import add_member
from gateway.store.models import inbox, members, outbox
from ledger_client import EmbeddedLedger

TABLE = KeywordTable.load(Path(__file__).resolve().parents[2] / "config" / "keywords.toml")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
JANE, LI, AMINA, GONE, STRANGER = ("254712345678", "8613800138000", "254722000111",
                                   "254733000222", "254799000999")


def test_only_active_members_asking_for_figures_are_read(migrated_engine):
    with migrated_engine.begin() as conn:
        conn.execute(delete(outbox))
        conn.execute(delete(inbox))
        ledger = EmbeddedLedger(now=lambda: NOW)
        for msisdn in (JANE, LI, AMINA, GONE):
            add_member(conn, ledger, msisdn=msisdn, name=msisdn, now=NOW)
        conn.execute(update(members).where(members.c.msisdn == GONE).values(status="closed"))
        sent = [(JANE, "BAL", "text", "received"), (JANE, "HIST", "text", "received"),
                (LI, "余额", "text", "received"), (LI, "REDEEM AIR50", "text", "received"),
                (AMINA, "BAL", "text", "done"),            # claimed already: not read for
                (AMINA, "", "unreadable", "received"),
                (GONE, "BAL", "text", "received"), (STRANGER, "HIST", "text", "received")]
        ids = [conn.execute(insert(inbox).values(
            bind="main", source_addr=who, destination_addr="10655", text=text, data_coding=0,
            state=state, kind=kind, received_at=NOW).returning(inbox.c.id)).scalar_one()
            for who, text, kind, state in sent]
        wanted = selection(conn, ids, TABLE, "KE")
        by_phone = {member.msisdn: reads for member, reads in wanted.items()}
        assert by_phone == {JANE: {BALANCE, HISTORY}, LI: {BALANCE}}
        jane = next(member for member in wanted if member.msisdn == JANE)
        assert jane.points_account == conn.execute(select(members.c.points_account_id).where(
            members.c.msisdn == JANE)).scalar_one()
        assert selection(conn, [], TABLE, "KE") == {}
