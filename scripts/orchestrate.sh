#!/usr/bin/env bash
# `dagster dev` on the demo: one emulator per tenant of orchestration/tenants.yml, Meltano's
# state and warehouse and Dagster's storage in the local PostgreSQL (127.0.0.1:5432).
# Usage: bash scripts/orchestrate.sh [--port 3000]; then open http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-dagster/bin/dagster ] || [ ! -x .venv-meltano/bin/meltano ]; then
  echo "orchestrate: run scripts/setup.sh first (needs .venv, .venv-meltano, .venv-dagster)" >&2
  exit 1
fi
.venv/bin/python scripts/tenants.py --check
exec .venv/bin/python orchestration/demo.py "$@"
