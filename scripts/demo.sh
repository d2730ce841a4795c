#!/usr/bin/env bash
# Sets up (scripts/bootstrap.sh) and runs `jifen demo` on the embedded
# defaults; arguments go to it (e.g. --script scripts/demo-bal.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/jifen demo "$@"
