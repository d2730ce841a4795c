"""PostgreSQL plans that follow the tables as they grow.

A gateway starts on empty tables and runs for months.  psycopg prepares a
statement after a few runs, and PostgreSQL then keeps a generic plan made
with the table sizes of that moment: on an empty inbox, a scan of the whole
table.  These tests warm the statements up on nearly empty tables, fill them,
and count the sequential scans the next run makes (pg_stat_xact_user_tables,
this connection's own counts, so nothing else on the server adds to them).
"""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text

from conftest import POSTGRES_ADMIN_URL, postgres_skip_reason
from gateway import intake
from gateway.store import migrate
from gateway.store.db import make_engine
from gateway.store.models import inbox
from gateway.testing import scratch_database
from ledger_client import EmbeddedLedger
from ledger_client.types import Transfer, TransferKind

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)
KEY = b"k" * 32
#: The ledger's tables that grow with members and postings (holds stay few).
LEDGER_TABLES = ("ledger_accounts", "ledger_transfers")


@pytest.fixture
def engine(tmp_path):
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with scratch_database("postgresql", tmp_path, POSTGRES_ADMIN_URL) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


def bal_from(phone: str) -> intake.Whole:
    return intake.Whole(dict(bind="main", data_coding=0, source_addr=phone,
                             destination_addr="10655", kind="text", text="BAL"))


def sequential_scans(conn, table: str) -> int:
    return conn.execute(text("SELECT coalesce(sum(seq_scan), 0)::bigint FROM pg_stat_xact_user_tables "
                             "WHERE relname = :table"), dict(table=table)).scalar_one()


def test_redelivery_lookup_uses_the_index_once_the_inbox_has_grown(engine):
    with engine.connect() as conn:      # one connection: its prepared statements persist
        for n in range(12):
            with conn.begin():
                intake.take(conn, [bal_from(f"25471000{n:04d}")], NOW, WINDOW, KEY)
        with conn.begin():
            conn.execute(insert(inbox), [
                dict(bind="main", data_coding=0, source_addr=f"25472{n:07d}",
                     destination_addr="10655", kind="text", text="BAL", state="done",
                     received_at=NOW) for n in range(20_000)])
        with conn.begin():
            before = sequential_scans(conn, "inbox")
            taken = intake.take(conn, [bal_from("254710000003")], NOW, WINDOW, KEY)
            scans = sequential_scans(conn, "inbox") - before
    assert taken[0] > 20_000                # a redelivery of the fourth MO, found
    assert scans == 0


def test_every_connection_asks_for_custom_plans(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_the_urls_options_are_kept_and_may_choose_generic_plans(tmp_path):
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    options = "?options=-c%20statement_timeout%3D4321%20-c%20plan_cache_mode%3Dauto"
    with scratch_database("postgresql", tmp_path, POSTGRES_ADMIN_URL) as url:
        engine = make_engine(url + options)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "4321ms"
                assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "auto"
        finally:
            engine.dispose()


def test_ledger_postings_use_the_indexes_once_accounts_have_grown(engine):
    ledger = EmbeddedLedger(now=lambda: NOW)

    def redeem_once(conn, n: int) -> None:
        member = ledger.open_account(conn, "member", f"m{n}")
        ledger.post(conn, [Transfer(f"issue-{n}", issuer, member, 100, "issue")])
        ledger.post(conn, [Transfer(f"hold-{n}", member, revenue, 10, "redeem",
                                    kind=TransferKind.PENDING, timeout=600)])
        ledger.post(conn, [Transfer(f"post-{n}", 0, 0, 0, "redeem", kind=TransferKind.POST,
                                    pending_id=f"hold-{n}")])
        ledger.balance(conn, member)
        ledger.history(conn, member)

    with engine.connect() as conn:
        with conn.begin():
            revenue = ledger.open_account(conn, "revenue", "coalition", no_overdraft=False)
            issuer = ledger.open_account(conn, "issuer", "operator", no_overdraft=False)
        for n in range(12):
            with conn.begin():
                redeem_once(conn, n)
        with conn.begin():
            members = [ledger.open_account(conn, "member", f"grown{n}") for n in range(2_000)]
        for batch in range(50):
            with conn.begin():
                ledger.post(conn, [Transfer(f"grow-{batch}-{n}", issuer, members[n], 5, "issue")
                                   for n in range(100)])
        with conn.begin():
            before = {table: sequential_scans(conn, table) for table in LEDGER_TABLES}
            redeem_once(conn, 12)
            scans = {table: sequential_scans(conn, table) - before[table]
                     for table in LEDGER_TABLES}
    assert scans == {table: 0 for table in LEDGER_TABLES}
