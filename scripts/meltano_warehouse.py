"""Run Meltano against the emulators and read what landed in DuckDB (demo and tests share it)."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"


def tap_env(tap: str, config: dict[str, t.Any]) -> dict[str, str]:
    """A tap config as Meltano environment variables (``TAP_X_SETTING``)."""
    prefix = tap.upper().replace("-", "_")
    return {f"{prefix}_{key.upper()}": value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()}


#: Variables of the calling shell that would change what a run does.
CALLER_SETTINGS = ("TAP_", "TARGET_", "MELTANO_")


def meltano(*args: str, env: dict[str, str], timeout: float = 600,
            root: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a Meltano command in the project, raising with its log tail on failure.

    Only ``env`` configures the run: the project's ``.env`` is ignored (``--env-file`` points
    at an empty file; Meltano would otherwise let it override the environment's config) and
    so are the caller's ``TAP_*``, ``TARGET_*`` and ``MELTANO_*`` variables.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CALLER_SETTINGS)}
    result = subprocess.run([str(MELTANO), f"--env-file={os.devnull}", *args], cwd=root,
                            env={**clean, **env}, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        msg = f"meltano {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-4000:]}"
        raise RuntimeError(msg)
    return result


QUERY = """
import duckdb, json, sys
path, schema, since = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(path, read_only=True)
tables = [r[0] for r in con.execute(
    "select table_name from information_schema.tables where table_schema = ? order by 1",
    [schema]).fetchall()]
out = {}
for table in tables:
    rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    recent = None
    if since:
        recent = con.execute(f'select count(*) from "{schema}"."{table}" '
                             "where _sdc_batched_at >= ?::timestamp", [since]).fetchone()[0]
    out[table] = {"rows": rows, "loaded_since": recent}
print(json.dumps(out))
"""


def duckdb_tables(path: Path, schema: str, *, since: str = "") -> dict[str, dict[str, int]]:
    """Rows per table (and rows batched at or after ``since``, a UTC timestamp)."""
    result = subprocess.run([str(DUCKDB_PYTHON), "-c", QUERY, str(path), schema, since],
                            capture_output=True, text=True, check=True, timeout=120)
    return json.loads(result.stdout)


def duckdb_query(path: Path, sql: str) -> list[list[t.Any]]:
    """Rows of one query (for tests)."""
    code = ("import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(json.dumps(con.execute(sys.argv[2]).fetchall(), default=str))")
    result = subprocess.run([str(DUCKDB_PYTHON), "-c", code, str(path), sql],
                            capture_output=True, text=True, check=True, timeout=120)
    return json.loads(result.stdout)
