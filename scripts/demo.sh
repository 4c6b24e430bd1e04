#!/usr/bin/env bash
# Try every available tap without credentials: emulators -> Meltano -> DuckDB, twice.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
