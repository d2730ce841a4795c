"""Migrations build exactly what the models say, on both databases."""

import multiprocessing

from sqlalchemy import inspect

from gateway.store import migrate
from gateway.store.db import make_engine


def test_upgrade_builds_the_models_with_no_drift(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert {"members", "inbox", "outbox", "ledger_accounts",
            "ledger_transfers"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_downgrade_to_nothing_and_back(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    engine.dispose()


def _upgrade_in_child(url):
    migrate.upgrade(make_engine(url))


def test_two_processes_upgrading_at_once_migrate_once(database_url):
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_upgrade_in_child, args=(database_url,))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0, 0, 0]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert migrate.drift(engine) == []
    engine.dispose()
