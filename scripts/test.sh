#!/usr/bin/env bash
# Sets up (scripts/bootstrap.sh) and runs the whole test suite; extra
# arguments go to pytest.  PostgreSQL tests use JIFEN_TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/test) and are skipped, with
# the reason, when it is unreachable, unless CI=true or JIFEN_REQUIRE_POSTGRES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/pytest "$@"
