"""Schema migrations, run in-process with Alembic.

`upgrade` takes a PostgreSQL advisory lock first, so two gateway processes
starting together against one database migrate once, not twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gateway.store.schema import ALL_METADATA

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x6A6966656E        # "jifen"


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


#: Alembic's command API keeps its context in module globals: one at a time
#: per process.  Between processes the database lock below does the work.
_IN_PROCESS = threading.Lock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _IN_PROCESS, _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine):
    """SQLite has no advisory locks; a lock file beside the database stands in."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def downgrade(engine: Engine, revision: str) -> None:
    with _IN_PROCESS, _sqlite_file_lock(engine), engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def current(connection) -> str | None:
    """The revision the database behind ``connection`` is at (None: empty)."""
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The revision this code expects."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def drift(engine: Engine) -> list:
    """Differences between the migrated schema and the models (empty is good)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, list(ALL_METADATA))
