#!/usr/bin/env bash
# Create .venv (the taps, emulators and test tools) and .venv-meltano (Meltano, which needs
# SQLAlchemy < 2.1 while the SDK pulls 2.1), then install Meltano's plugins. Idempotent;
# needs only python3 (3.10+) on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
started=$(date +%s)

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip uv
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python -e '.[test]'

if [ ! -x .venv-meltano/bin/meltano ]; then
  "$PYTHON" -m venv .venv-meltano
  .venv/bin/uv pip install --quiet --python .venv-meltano/bin/python 'meltano==4.4.1'
fi
mkdir -p output
.venv-meltano/bin/meltano install > .meltano-install.log 2>&1 || {
  cat .meltano-install.log >&2
  exit 1
}
echo "setup: ready in $(( $(date +%s) - started )) s (.venv, .venv-meltano, Meltano plugins)"
