"""LiveKeywords: a running gateway takes up keyword changes on its clock, never half of one.

The clock is a task.Clock and the database a SQLite file whose `run` answers at once, so the
polling is driven step by step: no threads, no sleeps.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert
from twisted.internet import defer, task

from gateway.commands.grammar import describe, parse
from gateway.keyword_reload import LiveKeywords
from gateway.store import keywords
from gateway.store.db import Database, make_engine
from gateway.store.schema import ALL_METADATA
from gateway.store.tables_keywords import keyword_version

KEYWORDS = Path(__file__).resolve().parents[2] / "config" / "keywords.toml"
NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)


class ImmediateDatabase(Database):
    """`run` in the calling thread, failing on demand, so the clock alone drives the poll."""

    fail = False
    reads = 0

    def run(self, fn, *args, **kwargs):
        self.reads += 1
        if self.fail:
            return defer.fail(RuntimeError("database down"))
        return defer.maybeDeferred(self.transaction, fn, *args, **kwargs)


@pytest.fixture
def setup(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/k.db")
    for metadata in ALL_METADATA:
        metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(keyword_version).values(id=1, version=0))
    path = tmp_path / "keywords.toml"
    shutil.copy(KEYWORDS, path)
    clock = task.Clock()
    db = ImmediateDatabase(engine, clock)
    live = LiveKeywords(db, clock, str(path), interval=2.0)
    yield live, clock, db, path
    live.stop()
    engine.dispose()


def add(db, path, command, language, keyword):
    from gateway.commands.table import KeywordTable

    with db.engine.begin() as conn:
        keywords.add(conn, KeywordTable.load(path), command, language, keyword, by="t", now=NOW)


def understood(live, text) -> str:
    return describe(parse(text, live.current(), "KE"))


def test_a_change_is_taken_up_at_the_next_poll(setup):
    live, clock, db, path = setup
    live.refresh()
    live.start()
    add(db, path, "BAL", "en", "MYPTS")
    assert understood(live, "mypts") == "not understood"
    clock.advance(1.9)
    assert understood(live, "mypts") == "not understood"
    clock.advance(0.1)
    assert understood(live, "mypts") == "BAL(en)"


def test_without_changes_a_poll_reads_one_row_and_keeps_the_same_table(setup):
    live, clock, db, path = setup
    live.refresh()
    table = live.current()
    live.start()
    reads = db.reads
    clock.advance(2.0)
    clock.advance(2.0)
    assert db.reads == reads + 2
    assert live.current() is table


def test_an_edited_file_is_taken_up_too(setup):
    live, clock, db, path = setup
    live.refresh()
    live.start()
    path.write_text(path.read_text(encoding="utf-8").replace('en = ["BAL",', 'en = ["SALDO2", "BAL",'),
                    encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different mtime, whatever the file system's resolution
    clock.advance(2.0)
    assert understood(live, "saldo2") == "BAL(en)"
    assert live.current().display("BAL", "en") == "SALDO2"


def test_a_file_edited_into_a_conflict_keeps_the_previous_table(setup):
    live, clock, db, path = setup
    live.refresh()
    live.start()
    before = live.current()
    path.write_text(path.read_text(encoding="utf-8").replace('en = ["HELP",', 'en = ["BAL", "HELP",'),
                    encoding="utf-8")
    os.utime(path, ns=(1, 1))
    clock.advance(2.0)
    assert live.current() is before
    reads = db.reads
    clock.advance(2.0)  # still polling, and not reloading the same broken file again
    assert db.reads == reads + 1 and live.current() is before


def test_a_database_failure_keeps_the_table_and_the_polling(setup):
    live, clock, db, path = setup
    live.refresh()
    live.start()
    before = live.current()
    db.fail = True
    clock.advance(2.0)
    assert live.current() is before
    db.fail = False
    add(db, path, "CAT", "sw", "BIDHAA")
    clock.advance(2.0)
    assert understood(live, "bidhaa") == "CAT(sw)"


def test_stop_stops_polling(setup):
    live, clock, db, path = setup
    live.start()
    live.stop()
    reads = db.reads
    clock.advance(10)
    assert db.reads == reads
    assert clock.getDelayedCalls() == []
