"""``meltano run tap-amperity target-...`` end to end, against the emulator, exact row counts."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

import pytest

from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from meltano_warehouse import (  # noqa: E402
    DUCKDB_PYTHON,
    MELTANO,
    duckdb_query,
    duckdb_tables,
    meltano,
    tap_env,
)

PG_PYTHON = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "python"
PRIMARY_KEYS = {"audit_events": "event_id", "profiles": "index_id, id"}
pytestmark = [
    pytest.mark.meltano,
    pytest.mark.skipif(not MELTANO.exists() or not DUCKDB_PYTHON.exists(),
                       reason="Meltano or its plugins are not installed: run scripts/setup.sh"),
]


@pytest.fixture
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "17", "--scale", "150") as emu:
        yield emu


def test_duckdb_exact_counts_incremental_run_and_state(emulator: EmulatorProcess,
                                                       tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    env = {**tap_env("tap-amperity", emulator.tap_config),
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "TARGET_DUCKDB_FILEPATH": str(database)}
    meltano("--environment=demo", "run", "tap-amperity", "target-duckdb", env=env)
    counts = emulator.counts()
    tables = duckdb_tables(database, "amperity")
    assert {name: info["rows"] for name, info in tables.items()} == counts
    for table in counts:
        key = PRIMARY_KEYS.get(table, "id")
        (total, distinct), = duckdb_query(
            database, f"select count(*), count(distinct ({key})) from amperity.{table}")  # noqa: S608
        assert total == distinct, f"duplicate primary keys in {table}"

    emulator.mutate(4)
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    meltano("--environment=demo", "run", "tap-amperity", "target-duckdb", env=env)
    tables = duckdb_tables(database, "amperity", since=since)
    assert {name: info["rows"] for name, info in tables.items()} == emulator.counts()
    assert 4 <= tables["audit_events"]["loaded_since"] <= 5  # 4 new (+ the inclusive boundary)
    # 4 new jobs, plus the jobs of the last day (ingest_lookback_days) read again.
    assert 4 <= tables["ingest_jobs"]["loaded_since"] < counts["ingest_jobs"] // 4
    assert tables["campaigns"]["loaded_since"] == counts["campaigns"] + 4  # full table

    listed = meltano("--environment=demo", "state", "list", env=env).stdout
    assert "demo:tap-amperity-to-target-duckdb" in listed
    state = json.loads(meltano("--environment=demo", "state", "get",
                               "demo:tap-amperity-to-target-duckdb", env=env).stdout)
    bookmarks = state["singer_state"]["bookmarks"]
    for stream in ("audit_events", "workflow_runs", "ingest_jobs"):
        assert bookmarks[stream]["replication_key_value"]
    text = json.dumps(state)
    for secret in (emulator.tap_config["access_token"],
                   emulator.auth["client_credentials"]["client_secret"]):
        assert secret not in text


def _postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _postgres_up(), reason="no PostgreSQL server on 127.0.0.1:5432")
@pytest.mark.skipif(not PG_PYTHON.exists(), reason="target-postgres is not installed")
def test_postgres_exact_counts(emulator: EmulatorProcess, tmp_path: Path) -> None:
    schema = f"amperity_test_{uuid.uuid4().hex[:8]}"
    env = {**tap_env("tap-amperity", emulator.tap_config),
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}
    query = (
        "import json, sys, psycopg\n"
        "con = psycopg.connect(host='127.0.0.1', port=5432, user='postgres', dbname='test')\n"
        "schema = sys.argv[1]\n"
        "tables = [r[0] for r in con.execute('select table_name from information_schema.tables "
        "where table_schema = %s', [schema]).fetchall()]\n"
        "print(json.dumps({t: con.execute(f'select count(*) from {schema}.\"{t}\"').fetchone()[0]"
        " for t in tables}))\n"
        "if len(sys.argv) > 2: con.execute(f'drop schema {schema} cascade'); con.commit()\n"
    )
    try:
        meltano("--environment=demo", "run", "tap-amperity", "target-postgres", env=env)
        result = subprocess.run([str(PG_PYTHON), "-c", query, schema], capture_output=True,
                                text=True, check=True, timeout=60)
        assert json.loads(result.stdout) == emulator.counts()
    finally:
        subprocess.run([str(PG_PYTHON), "-c", query, schema, "drop"], capture_output=True,
                       check=False, timeout=60)
