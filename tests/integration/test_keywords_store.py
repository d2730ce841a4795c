"""gateway/store/keywords.py and optouts.py on SQLite and PostgreSQL: changes, refusals, audit."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from gateway.commands.grammar import KeywordTable, describe, parse
from gateway.store import keywords, migrate, optouts
from gateway.store.db import make_engine
from gateway.store.tables_keywords import keyword_changes, keyword_overrides, keyword_version, opt_outs
from gateway.testing import scratch_database

from conftest import POSTGRES_ADMIN_URL, postgres_skip_reason

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
BASE = KeywordTable.load(KEYWORDS)
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated(request, tmp_path_factory):
    """One migrated database of each kind for the module: migrating per test would dominate."""
    if request.param == "postgresql" and postgres_skip_reason():
        pytest.skip(postgres_skip_reason())
    with scratch_database(request.param, tmp_path_factory.mktemp("kw"), POSTGRES_ADMIN_URL) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def engine(migrated):
    with migrated.begin() as conn:
        for table_ in (keyword_overrides, keyword_changes, opt_outs):
            conn.execute(delete(table_))
        conn.execute(update(keyword_version).values(version=0, changed_at=None))
    return migrated


def change(engine, action, *args, by="alice", **kwargs):
    with engine.begin() as conn:
        return getattr(keywords, action)(conn, BASE, *args, by=by, now=NOW, **kwargs)


def table(engine) -> KeywordTable:
    with engine.begin() as conn:
        return keywords.effective_table(conn, BASE)


def counts(engine) -> tuple[int, int, int]:
    with engine.begin() as conn:
        return (keywords.current_version(conn),
                conn.execute(select(func.count()).select_from(keyword_overrides)).scalar(),
                conn.execute(select(func.count()).select_from(keyword_changes)).scalar())


def test_an_added_keyword_is_understood_and_audited(engine):
    assert counts(engine) == (0, 0, 0)
    returned = change(engine, "add", "BAL", "en", "Mypts")
    assert describe(parse("mypts", returned, "KE")) == "BAL(en)"
    assert table(engine).keywords("BAL", "en")[-1] == "Mypts"
    assert counts(engine) == (1, 1, 1)
    with engine.begin() as conn:
        [row] = keywords.history(conn)
    assert (row.changed_by, row.action, row.command, row.language, row.keyword) == (
        "alice", "add", "BAL", "en", "Mypts")
    assert row.changed_at.replace(tzinfo=timezone.utc) == NOW


@pytest.mark.parametrize(("args", "message"), [
    (("HELP", "en", "BAL"), "keyword 'BAL' conflicts with commands.BAL.en: one keyword cannot mean both BAL and HELP in en"),
    (("HELP", "sw", "salio"), "one keyword cannot mean both BAL and HELP in sw"),
    (("CAT", "fr", "SALDO"), "conflicts with commands.CAT.fr: it would mean BAL in es but CAT in fr"),
    (("BAL", "en", "STOP"), "keyword 'STOP' is an opt-out word (commands.STOP.en), so BAL cannot use it"),
    (("REV", "en", "CANCEL"), "'CANCEL' is an opt-out word (commands.STOP.en), so REV cannot use it"),
    (("CAT", "zh", "T"), "'T' is an opt-out word (commands.STOP.zh), so CAT cannot use it"),
    (("BAL", "en", "UNSTOP"), "'UNSTOP' is an opt-in word"),
    (("REDEEM", "en", "OUI"), "'OUI' is a confirmation word (commands.YES.fr), so REDEEM cannot use it"),
    (("BAL", "zh", "确认"), "'确认' is a confirmation word"),
    (("BAL", "en", "BALANCE"), "'BALANCE' already means BAL in en"),
    (("BAL", "en", "my bal"), "can never match"),
    (("BAL", "EN", "MYPTS"), "'EN' is not one of the languages of the keywords file"),
    (("BAL", "sal", "en"), "'sal' is not one of the languages of the keywords file (en, zh"),
    (("FROB", "en", "FROB"), "no command 'FROB'; the commands are BAL, CAT"),
    (("BAL", "en", "  "), "a keyword cannot be empty"),
])
def test_a_conflicting_change_is_refused_and_nothing_is_written(engine, args, message):
    with pytest.raises(keywords.Refused) as refused:
        change(engine, "add", *args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert counts(engine) == (0, 0, 0)


def test_removing_a_file_keyword_and_adding_it_back(engine):
    change(engine, "remove", "BAL", "en", "points")
    assert "POINTS" not in table(engine).keywords("BAL", "en")
    assert describe(parse("points", table(engine), "KE")) == "BAL(fr)"  # still French
    change(engine, "add", "BAL", "en", "POINTS", by="bob")
    assert table(engine).keywords("BAL", "en") == BASE.keywords("BAL", "en")
    assert counts(engine) == (2, 0, 2)


def test_removing_an_added_keyword_deletes_the_change(engine):
    change(engine, "add", "CAT", "sw", "BIDHAA")
    change(engine, "remove", "CAT", "sw", "bidhaa")
    assert table(engine).keywords("CAT", "sw") == BASE.keywords("CAT", "sw")
    assert counts(engine) == (2, 0, 2)


def test_first_makes_a_keyword_the_one_replies_show(engine):
    change(engine, "add", "BAL", "en", "PROMO", first=True)
    assert table(engine).display("BAL", "en") == "PROMO"
    change(engine, "add", "BAL", "en", "BALANCE", first=True)  # a file keyword moved to the front
    assert table(engine).keywords("BAL", "en")[:2] == ("BALANCE", "PROMO")
    change(engine, "remove", "BAL", "en", "BALANCE")
    assert "BALANCE" not in table(engine).keywords("BAL", "en")


def test_refusals_on_remove(engine):
    with pytest.raises(keywords.Refused, match="'NOPE' is not a keyword of BAL in en"):
        change(engine, "remove", "BAL", "en", "NOPE")
    change(engine, "remove", "REV", "zh", "撤销")
    with pytest.raises(keywords.Refused, match="not a keyword of REV in zh"):
        change(engine, "remove", "REV", "zh", "撤销")
    for keyword in ("REV", "VOID"):
        change(engine, "remove", "REV", "en", keyword)
    with pytest.raises(keywords.Refused, match="REV would have no keyword left"):
        change(engine, "remove", "REV", "zh", "冲正")


def test_history_is_newest_first(engine):
    change(engine, "add", "BAL", "en", "ONE", by="a")
    change(engine, "add", "BAL", "en", "TWO", by="b")
    change(engine, "remove", "BAL", "en", "ONE", by="c")
    with engine.begin() as conn:
        rows = keywords.history(conn, limit=2)
    assert [(r.changed_by, r.action, r.keyword) for r in rows] == [("c", "remove", "ONE"), ("b", "add", "TWO")]


def test_two_operators_adding_one_keyword_to_two_commands_at_once_one_is_refused(engine):
    start = threading.Barrier(2)
    results = {}

    def add(command):
        start.wait()
        try:
            change(engine, "add", command, "en", "PROMO", by=command)
            results[command] = "added"
        except keywords.Refused as refused:
            results[command] = str(refused)

    threads = [threading.Thread(target=add, args=(c,)) for c in ("BAL", "CAT")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values())[0] == "added"
    assert "one keyword cannot mean both" in sorted(results.values())[1]
    assert counts(engine) == (1, 1, 1)


def test_opt_outs_per_phone_with_timestamps(engine):
    later = NOW + timedelta(hours=1)
    with engine.begin() as conn:
        assert optouts.is_opted_out(conn, "254712345678") is False
        optouts.set_opt_out(conn, "254712345678", True, NOW)
        optouts.set_opt_out(conn, "254712345678", True, NOW)  # said twice: still one row
        assert optouts.is_opted_out(conn, "254712345678") is True
        optouts.set_opt_out(conn, "254712345678", False, later)
        assert optouts.is_opted_out(conn, "254712345678") is False
        row = conn.execute(select(opt_outs)).one()
    assert row.opted_out_at.replace(tzinfo=timezone.utc) == NOW
    assert row.opted_in_at.replace(tzinfo=timezone.utc) == later
