#!/usr/bin/env bash
# Set everything up and run the whole test suite (what CI's .ci/run calls).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# Two workers (every test is independent: own emulator ports, temp dirs, databases).
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
