"""Shared test set-up: which databases the integration tests run on.

PostgreSQL tests use the server named by JIFEN_TEST_POSTGRES_URL (default:
the project machines' 127.0.0.1:5432, trust auth, database `test`).  In CI
(CI=true) or with JIFEN_REQUIRE_POSTGRES=1 an unreachable server fails the
run; a developer without PostgreSQL sees those tests skipped, with the reason.
"""

import os

from gateway.testing import postgres_available

POSTGRES_ADMIN_URL = os.environ.get("JIFEN_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = (os.environ.get("CI") == "true"
                    or os.environ.get("JIFEN_REQUIRE_POSTGRES") == "1")

_postgres_problem = postgres_available(POSTGRES_ADMIN_URL)


def postgres_skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can); raises when they must."""
    if _postgres_problem is None:
        return None
    if REQUIRE_POSTGRES:
        raise RuntimeError(f"PostgreSQL is required (CI) but unreachable at "
                           f"{POSTGRES_ADMIN_URL}: {_postgres_problem}")
    return f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL} ({_postgres_problem})"


def pytest_configure(config):
    from gateway import logs

    # Log lines go to stderr, which pytest captures and shows for failures.
    logs.configure("console", "info")


import pytest  # noqa: E402  (kept beside the fixture that needs it)

from gateway.testing import scratch_database  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """An empty database of each kind, dropped afterwards."""
    if request.param == "postgresql":
        reason = postgres_skip_reason()
        if reason:
            pytest.skip(reason)
    with scratch_database(request.param, tmp_path, POSTGRES_ADMIN_URL) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_engine(request, tmp_path_factory):
    """One migrated database of each kind per test module, as an engine.

    Migrating takes most of a small database test's time; a module that empties the tables it
    uses before each test can share one.
    """
    from gateway.store import migrate
    from gateway.store.db import make_engine

    if request.param == "postgresql" and postgres_skip_reason():
        pytest.skip(postgres_skip_reason())
    with scratch_database(request.param, tmp_path_factory.mktemp("db"), POSTGRES_ADMIN_URL) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


def write_config(path, database_url: str):
    """A gateway.toml at `path` for the CLI: `database_url`, region KE, the repository's keywords."""
    from pathlib import Path

    keywords = Path(__file__).resolve().parents[1] / "config" / "keywords.toml"
    Path(path).write_text(
        f'[gateway]\ndatabase = "{database_url}"\nphone_region = "KE"\nkeywords = "{keywords}"\n'
        '[[smsc.binds]]\nname = "main"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "jifen"\npassword = "secret"\nshort_codes = ["10655"]\n', encoding="utf-8")
    return str(path)
