#!/usr/bin/env bash
# Create .venv (the taps, emulators and test tools) and .venv-meltano (Meltano, which needs
# SQLAlchemy < 2.1 while the SDK pulls 2.1), then install Meltano's plugins. Idempotent;
# needs only python3 (3.10+) on the machine.
#
# Everything is installed with bytecode compiled (uv installs without it by default, and with
# PYTHONDONTWRITEBYTECODE set every tap start would recompile its imports, ~0.4 s).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
started=$(date +%s)
# Read by every `uv pip install`, including the ones `meltano install` runs for each plugin
# (Meltano's default venv backend is uv); meltano.yml's top-level env sets it as well.
export UV_COMPILE_BYTECODE=1

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip uv
fi
.venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -e '.[test]'

if [ ! -x .venv-meltano/bin/python ]; then
  "$PYTHON" -m venv .venv-meltano
fi
# The postgres extra (psycopg) lets MELTANO_DATABASE_URI=postgresql+psycopg://... hold state.
.venv/bin/uv pip install --quiet --compile-bytecode --python .venv-meltano/bin/python \
  'meltano[postgres]==4.4.1'
# dbt (transform/) and Dagster (orchestration/) each get a venv of their own, from the pinned
# requirements.txt in their folder.
for part in transform:.venv-dbt orchestration:.venv-dagster; do
  dir=${part%%:*}
  venv=${part#*:}
  if [ -f "$dir/requirements.txt" ]; then
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    .venv/bin/uv pip install --quiet --compile-bytecode --python "$venv/bin/python" \
      -r "$dir/requirements.txt"
  fi
done
mkdir -p output
.venv-meltano/bin/meltano install > .meltano-install.log 2>&1 || {
  cat .meltano-install.log >&2
  exit 1
}
# uv compiles only what it installs itself with bytecode on: venvs made before bytecode was
# switched on, or given a package by a plain `pip install` since, are compiled here. A stamp
# marks a compiled venv; installing a package changes site-packages, which is then newer
# than the stamp. Some plugin dependencies ship Python 2 files that cannot compile; they are
# never imported.
for venv in .venv .venv-meltano .meltano/*/*/venv; do
  if [ -x "$venv/bin/python" ]; then
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    if [ ! -e "$venv/.bytecode-compiled" ] || [ "$site" -nt "$venv/.bytecode-compiled" ]; then
      "$venv/bin/python" -m compileall -q -j0 "$site" > /dev/null 2>&1 || true
      touch "$venv/.bytecode-compiled"
    fi
  fi
done
# Editable installs (the taps themselves, `pip_url: -e .`) are not in site-packages.
.venv/bin/python -m compileall -q taps emulators > /dev/null
echo "setup: ready in $(( $(date +%s) - started )) s (.venv, .venv-meltano, Meltano plugins)"
