"""``meltano run tap-<vendor> target-...`` end to end, against the emulators, exact row counts."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

import pytest
from services import needs_postgres

from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from generated_blocks import TAPS  # noqa: E402
from meltano_warehouse import (  # noqa: E402
    DUCKDB_PYTHON,
    MELTANO,
    duckdb_query,
    duckdb_tables,
    meltano,
    tap_env,
)

PG_PYTHON = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "python"
PRIMARY_KEYS = {"audit_events": "event_id", "profiles": "index_id, id",
                "line_item_daily_stats": "date, line_item_id"}
#: tap-iqm names its keys after the resource (DuckDB folds them to lower case).
IQM_PRIMARY_KEYS = {"campaigns": "campaignid", "insertion_orders": "ioid",
                    "creatives": "creativeid", "audiences": "audienceid",
                    "campaign_daily_report": "date, campaignid"}
KISSMETRICS_PRIMARY_KEYS = {"report_results": "report_id, window_start, person_key",
                            "raw_events": "revision, line"}
#: The emulator each tap's tests run against.
EMULATOR_ARGS = {"tap-amperity": ("amperity", "--seed", "17", "--scale", "150"),
                 "tap-adnuntius": ("adnuntius", "--seed", "17", "--scale", "150"),
                 # 600 requests/minute, not IQM's 20: the tap's budget follows the emulator's.
                 "tap-iqm": ("iqm", "--seed", "17", "--scale", "60", "--rate-limit", "600/60"),
                 "tap-kissmetrics": ("kissmetrics", "--seed", "17", "--scale", "60",
                                     "--query-polls", "1")}
#: Credentials that satisfy each tap's first settings group (never sent anywhere).
DUMMY_CREDENTIALS = {"tap-amperity": {"tenant": "acme", "access_token": "not-a-real-token"},
                     "tap-adnuntius": {"network": "acme", "api_key": "not-a-real-key"},
                     "tap-iqm": {"client_id": "acme", "client_secret": "not-a-real-secret",
                                 "username": "api@acme.example", "password": "not-real"},
                     "tap-kissmetrics": {"api_token": "not-a-real-token"}}
#: A stream map per tap that drops one property.
STREAM_MAPS = {"tap-amperity": {"audit_events": {"principal_email": None}},
               "tap-adnuntius": {"users": {"username": None}},
               "tap-iqm": {"campaigns": {"organizationName": None}},
               "tap-kissmetrics": {"raw_events": {"properties": None}}}
pytestmark = [
    pytest.mark.meltano,
    pytest.mark.skipif(not MELTANO.exists() or not DUCKDB_PYTHON.exists(),
                       reason="Meltano or its plugins are not installed: run scripts/setup.sh"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project per test: Meltano writes each run's catalog and config under
    .meltano/run/<plugin>/, which parallel runs of one plugin in one project would share."""
    return _project_copy(tmp_path)


@pytest.fixture
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess(*EMULATOR_ARGS["tap-amperity"]) as emu:
        yield emu


@pytest.fixture
def adnuntius() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess(*EMULATOR_ARGS["tap-adnuntius"]) as emu:
        yield emu


@pytest.fixture
def iqm() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess(*EMULATOR_ARGS["tap-iqm"]) as emu:
        yield emu


@pytest.fixture
def kissmetrics() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess(*EMULATOR_ARGS["tap-kissmetrics"]) as emu:
        yield emu


@pytest.fixture(params=TAPS)
def tap_and_emulator(request: pytest.FixtureRequest) -> t.Iterator[tuple[str, EmulatorProcess]]:
    with EmulatorProcess(*EMULATOR_ARGS[request.param]) as emu:
        yield request.param, emu


def test_duckdb_exact_counts_incremental_run_and_state(emulator: EmulatorProcess,
                                                       tmp_path: Path, project: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    env = {**tap_env("tap-amperity", emulator.tap_config),
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "TARGET_DUCKDB_FILEPATH": str(database)}
    meltano("--environment=demo", "run", "tap-amperity", "target-duckdb", env=env, root=project)
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
    meltano("--environment=demo", "run", "tap-amperity", "target-duckdb", env=env, root=project)
    tables = duckdb_tables(database, "amperity", since=since)
    assert {name: info["rows"] for name, info in tables.items()} == emulator.counts()
    assert 4 <= tables["audit_events"]["loaded_since"] <= 5  # 4 new (+ the inclusive boundary)
    # 4 new jobs, plus the jobs of the last day (ingest_lookback_days) read again.
    assert 4 <= tables["ingest_jobs"]["loaded_since"] < counts["ingest_jobs"] // 4
    assert tables["campaigns"]["loaded_since"] == counts["campaigns"] + 4  # full table

    listed = meltano("--environment=demo", "state", "list", env=env, root=project).stdout
    assert "demo:tap-amperity-to-target-duckdb" in listed
    state = json.loads(meltano("--environment=demo", "state", "get",
                               "demo:tap-amperity-to-target-duckdb", env=env, root=project).stdout)
    bookmarks = state["singer_state"]["bookmarks"]
    for stream in ("audit_events", "workflow_runs", "ingest_jobs"):
        assert bookmarks[stream]["replication_key_value"]
    text = json.dumps(state)
    for secret in (emulator.tap_config["access_token"],
                   emulator.auth["client_credentials"]["client_secret"]):
        assert secret not in text


def _adnuntius_ids(database: Path) -> set[str]:
    return {row[0] for row in duckdb_query(database, "select id from adnuntius.line_items")}


def test_adnuntius_duckdb_exact_counts_incremental_run_and_state(
        adnuntius: EmulatorProcess, tmp_path: Path, project: Path) -> None:
    """Run 1 with the API key, run 2 (after /mutate) with a password login, one state."""
    database = tmp_path / "warehouse.duckdb"
    common = {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
              "TARGET_DUCKDB_FILEPATH": str(database)}
    env = {**tap_env("tap-adnuntius", adnuntius.tap_config), **common}
    meltano("--environment=demo", "run", "tap-adnuntius", "target-duckdb", env=env,
            root=project)
    counts = adnuntius.counts()
    assert "line_item_daily_stats" in counts
    tables = duckdb_tables(database, "adnuntius")
    assert {name: info["rows"] for name, info in tables.items()} == counts
    for table in counts:
        key = PRIMARY_KEYS.get(table, "id")
        (total, distinct), = duckdb_query(
            database, f"select count(*), count(distinct ({key})) from adnuntius.{table}")  # noqa: S608
        assert total == distinct, f"duplicate primary keys in {table}"
    (hidden,), = duckdb_query(
        database, "select count(*) from adnuntius.line_items where objectstate = 'HIDDEN'")
    assert hidden, "HIDDEN (deleted) line items must arrive"
    first_ids = _adnuntius_ids(database)

    mutated = 4
    adnuntius.mutate(mutated)
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    password = {k: v for k, v in adnuntius.tap_config.items() if k != "api_key"}
    password.update(adnuntius.auth["password"])
    meltano("--environment=demo", "run", "tap-adnuntius", "target-duckdb",
            env={**tap_env("tap-adnuntius", password), **common}, root=project)
    after = adnuntius.counts()
    tables = duckdb_tables(database, "adnuntius", since=since)
    rows = {name: info["rows"] for name, info in tables.items()}
    stats = "line_item_daily_stats"
    for stream, total in after.items():
        if stream == stats:
            continue
        assert rows[stream] == total, stream
        # Touched (every second one set HIDDEN) and added objects; the boundary may repeat.
        changed = min(mutated, counts[stream]) + mutated
        assert changed <= tables[stream]["loaded_since"] <= min(changed + 1, total), stream
    # Stats: the stats_lookback_days (3) before the bookmark (today) and today are read again.
    today = dt.datetime.now(dt.timezone.utc).date()
    first_day = (today - dt.timedelta(days=3)).isoformat()
    (recent,), = duckdb_query(database, "select count(*) from adnuntius.line_item_daily_stats "  # noqa: S608
                                        f"where cast(date as varchar) >= '{first_day}'")
    assert tables[stats]["loaded_since"] == recent
    # Line items added by /mutate deliver nothing yet: the stats table is exact.
    assert len(_adnuntius_ids(database) - first_ids) == mutated
    assert rows[stats] == after[stats] == counts[stats]

    state_id = "demo:tap-adnuntius-to-target-duckdb"
    listed = meltano("--environment=demo", "state", "list", env=env, root=project).stdout
    assert state_id in listed
    state = json.loads(meltano("--environment=demo", "state", "get", state_id, env=env,
                               root=project).stdout)
    bookmarks = state["singer_state"]["bookmarks"]
    assert set(bookmarks) == set(counts)
    for stream, bookmark in bookmarks.items():
        assert bookmark["replication_key_value"], stream
    assert bookmarks[stats]["replication_key_value"] == today.isoformat()
    text = json.dumps(state)
    secrets = [adnuntius.tap_config["api_key"], adnuntius.auth["password"]["password"]]
    for secret in secrets:
        assert secret not in text
    assert not re.search(r"token|password|api_key", text, re.IGNORECASE)


@needs_postgres
@pytest.mark.skipif(not PG_PYTHON.exists(), reason="target-postgres is not installed")
def test_postgres_exact_counts(tap_and_emulator: tuple[str, EmulatorProcess],
                               tmp_path: Path, project: Path) -> None:
    tap, emulator = tap_and_emulator
    schema = f"{tap.removeprefix('tap-')}_test_{uuid.uuid4().hex[:8]}"
    env = {**tap_env(tap, emulator.tap_config),
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
        meltano("--environment=demo", "run", tap, "target-postgres", env=env, root=project)
        result = subprocess.run([str(PG_PYTHON), "-c", query, schema], capture_output=True,
                                text=True, check=True, timeout=60)
        assert json.loads(result.stdout) == emulator.counts()
    finally:
        subprocess.run([str(PG_PYTHON), "-c", query, schema, "drop"], capture_output=True,
                       check=False, timeout=60)


MELTANO_PYTHON = ROOT / ".venv-meltano" / "bin" / "python"
PG_ADMIN = (
    "import sys, psycopg\n"
    "con = psycopg.connect(host='127.0.0.1', port=5432, user='postgres', dbname='postgres',"
    " autocommit=True)\n"
    "action, name = sys.argv[1], sys.argv[2]\n"
    "if action == 'create': con.execute(f'create database {name}')\n"
    "if action == 'drop': con.execute(f'drop database if exists {name} with (force)')\n"
    "if action == 'state':\n"
    "    db = psycopg.connect(host='127.0.0.1', port=5432, user='postgres', dbname=name)\n"
    "    print('\\n'.join(r[0] for r in db.execute('select state_id from state')))\n"
)


def _pg_admin(action: str, database: str) -> str:
    """Run one admin action with Meltano's own psycopg (the postgres extra)."""
    result = subprocess.run([str(MELTANO_PYTHON), "-c", PG_ADMIN, action, database],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{action} {database}: {result.stderr[-2000:]}"
    return result.stdout


def _jsonl_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@needs_postgres
def test_postgres_system_database_holds_state(emulator: EmulatorProcess, tmp_path: Path,
                                              project: Path) -> None:
    """MELTANO_DATABASE_URI=postgresql+psycopg://...: run, state get, incremental run."""
    database = f"meltano_state_{uuid.uuid4().hex[:10]}"
    _pg_admin("create", database)  # fails without psycopg in .venv-meltano
    env = {**tap_env("tap-amperity", emulator.tap_config),
           "MELTANO_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"}
    state_id = "dev:tap-amperity-to-target-jsonl"
    try:
        first, second = tmp_path / "run1", tmp_path / "run2"
        for folder in (first, second):
            folder.mkdir()
        meltano("--environment=dev", "run", "tap-amperity", "target-jsonl",
                env={**env, "TARGET_JSONL_DESTINATION_PATH": str(first)}, root=project)
        counts = emulator.counts()
        assert _jsonl_lines(first / "audit_events.jsonl") == counts["audit_events"]

        # The state is in PostgreSQL, and Meltano reads it back from there.
        assert state_id in _pg_admin("state", database).split()
        state = json.loads(meltano("--environment=dev", "state", "get", state_id,
                                   env=env, root=project).stdout)
        assert state["singer_state"]["bookmarks"]["audit_events"]["replication_key_value"]

        emulator.mutate(3)
        meltano("--environment=dev", "run", "tap-amperity", "target-jsonl",
                env={**env, "TARGET_JSONL_DESTINATION_PATH": str(second)}, root=project)
        # Only the 3 new events (+ the inclusive boundary): the bookmark came from PostgreSQL.
        assert 3 <= _jsonl_lines(second / "audit_events.jsonl") <= 4
        assert _jsonl_lines(second / "campaigns.jsonl") == counts["campaigns"] + 3
    finally:
        _pg_admin("drop", database)


def _project_copy(tmp_path: Path) -> Path:
    """meltano.yml in a new folder that shares this project's installed plugins."""
    project = tmp_path / "project"
    (project / ".meltano").mkdir(parents=True)
    (project / "output").mkdir()
    (project / "meltano.yml").write_text((ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        (project / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return project


def test_demo_ignores_a_dotenv_made_from_the_example(
        emulator: EmulatorProcess, adnuntius: EmulatorProcess, iqm: EmulatorProcess,
        kissmetrics: EmulatorProcess, tmp_path: Path) -> None:
    """``cp .env.example .env``, filled in and with every optional line uncommented."""
    import demo  # noqa: PLC0415

    project = _project_copy(tmp_path)
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        assignment = line.removeprefix("# ")
        if assignment[:1].isupper() and "=" in assignment:
            key, _, value = assignment.partition("=")
            lines.append(f"{key}={value or 'from-dotenv'}")
    # What a user's production .env would also change for the demo, were it read.
    lines += ["TARGET_DUCKDB_FILEPATH=output/warehouse.duckdb",
              "TAP_AMPERITY_START_DATE=2099-01-01T00:00:00Z",
              "TAP_AMPERITY_PAGE_SIZE=0",
              "TAP_ADNUNTIUS_START_DATE=2099-01-01T00:00:00Z",
              "TAP_ADNUNTIUS_PAGE_SIZE=0",
              "TAP_ADNUNTIUS_NETWORK=from-dotenv",
              "TAP_IQM_START_DATE=2099-01-01T00:00:00Z",
              "TAP_IQM_MAX_REQUESTS_PER_MINUTE=1",
              "TAP_KISSMETRICS_START_DATE=2099-01-01T00:00:00Z",
              "TAP_KISSMETRICS_EXPORT_BUCKET=from-dotenv",
              "MELTANO_ENVIRONMENT=prod",
              "MELTANO_DATABASE_URI=postgresql+psycopg://nobody@127.0.0.1:9/none"]
    (project / ".env").write_text("\n".join(lines) + "\n")

    emulators = {"amperity": emulator, "adnuntius": adnuntius, "iqm": iqm,
                 "kissmetrics": kissmetrics}
    assert {vendor for vendor, _, _ in demo.TAPS} == set(emulators)
    demo.run_all(emulators, root=project)
    for vendor, emu in emulators.items():
        tables = duckdb_tables(project / demo.DATABASE_PATH, vendor)
        assert {name: info["rows"] for name, info in tables.items()} == emu.counts(), vendor
    assert not (project / "output" / "warehouse.duckdb").exists()
    assert (project / demo.SYSTEM_DB_PATH).exists()


@pytest.mark.parametrize("tap", TAPS)
def test_meltano_passes_defaults_and_builtin_settings_to_the_tap(tap: str) -> None:
    """``value:`` defaults and the SDK's built-ins reach the tap's config through Meltano."""
    maps = STREAM_MAPS[tap]
    settings = {**DUMMY_CREDENTIALS[tap], "stream_maps": maps, "flattening_enabled": "true",
                "flattening_max_depth": "2"}
    config = json.loads(meltano("--environment=dev", "invoke", "--dump=config", tap,
                                env=tap_env(tap, settings)).stdout)
    # Meltano merges the user's maps into meltano.yml's (tap-iqm and tap-kissmetrics load
    # their union-typed columns as text there).
    assert {stream: config["stream_maps"][stream] for stream in maps} == maps
    assert config["flattening_enabled"] is True
    assert config["flattening_max_depth"] == 2
    about = json.loads(subprocess.run([str(Path(sys.executable).parent / tap), "--about",
                                       "--format=json"], capture_output=True, text=True,
                                      check=True).stdout)
    for name, spec in about["settings"]["properties"].items():
        if "default" in spec:
            assert config[name] == spec["default"], name


def _assert_unique_keys(database: Path, schema: str, tables: t.Iterable[str],
                        keys: dict[str, str]) -> None:
    for table in tables:
        key = keys.get(table, "id")
        (total, distinct), = duckdb_query(
            database, f"select count(*), count(distinct ({key})) from {schema}.{table}")  # noqa: S608
        assert total == distinct, f"duplicate primary keys in {schema}.{table}"


def _state(state_id: str, env: dict[str, str], project: Path) -> dict:
    listed = meltano("--environment=demo", "state", "list", env=env, root=project).stdout
    assert state_id in listed
    return json.loads(meltano("--environment=demo", "state", "get", state_id, env=env,
                              root=project).stdout)


def test_iqm_duckdb_exact_counts_incremental_run_and_state(
        iqm: EmulatorProcess, tmp_path: Path, project: Path) -> None:
    """Full table lists and campaign_daily_report, then a run after /mutate re-reading only
    the report's look-back; the emulator at 600 requests/minute (IQM allows 20)."""
    database = tmp_path / "warehouse.duckdb"
    env = {**tap_env("tap-iqm", iqm.tap_config),
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "TARGET_DUCKDB_FILEPATH": str(database)}
    assert iqm.tap_config["max_requests_per_minute"] == 600
    meltano("--environment=demo", "run", "tap-iqm", "target-duckdb", env=env, root=project)
    counts = iqm.counts()
    assert counts["campaign_daily_report"] > counts["campaigns"]
    tables = duckdb_tables(database, "iqm")
    assert {name: info["rows"] for name, info in tables.items()} == counts
    _assert_unique_keys(database, "iqm", counts, IQM_PRIMARY_KEYS)

    mutated = 3
    iqm.mutate(mutated)
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    meltano("--environment=demo", "run", "tap-iqm", "target-duckdb", env=env, root=project)
    after = iqm.counts()
    tables = duckdb_tables(database, "iqm", since=since)
    assert {name: info["rows"] for name, info in tables.items()} == after
    report = "campaign_daily_report"
    assert after[report] == counts[report]
    for stream, total in after.items():
        if stream != report:  # full table: every object again, the added ones included
            assert total == counts[stream] + mutated, stream
            assert tables[stream]["loaded_since"] == total, stream
    # The report re-reads report_lookback_days (3) before its bookmark (today), and today.
    first_day = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3)).isoformat()
    (recent,), = duckdb_query(database, f"select count(*) from iqm.{report} "  # noqa: S608
                                        f"where cast(date as varchar) >= '{first_day}'")
    assert 0 < tables[report]["loaded_since"] == recent < after[report]

    state = _state("demo:tap-iqm-to-target-duckdb", env, project)
    bookmarks = state["singer_state"]["bookmarks"]
    assert bookmarks[report]["replication_key_value"]
    text = json.dumps(state)
    for secret in (iqm.tap_config["client_secret"], iqm.tap_config["password"]):
        assert secret not in text
    assert not re.search(r"token|password|secret", text, re.IGNORECASE)


def test_kissmetrics_duckdb_exact_counts_incremental_run_and_state(
        kissmetrics: EmulatorProcess, tmp_path: Path, project: Path) -> None:
    """Core lists, report_results through the Query API and raw_events from the S3 export,
    then a run after /mutate that reads only new revisions and the reports' open windows."""
    database = tmp_path / "warehouse.duckdb"
    env = {**tap_env("tap-kissmetrics", kissmetrics.tap_config),
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "TARGET_DUCKDB_FILEPATH": str(database)}
    meltano("--environment=demo", "run", "tap-kissmetrics", "target-duckdb", env=env,
            root=project)
    counts = kissmetrics.counts()
    assert counts["report_results"]
    assert counts["raw_events"]
    tables = duckdb_tables(database, "kissmetrics")
    assert {name: info["rows"] for name, info in tables.items()} == counts
    _assert_unique_keys(database, "kissmetrics", counts, KISSMETRICS_PRIMARY_KEYS)
    (last_revision,), = duckdb_query(database, "select max(revision) from kissmetrics.raw_events")

    mutated = 3
    kissmetrics.mutate(mutated)
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    meltano("--environment=demo", "run", "tap-kissmetrics", "target-duckdb", env=env,
            root=project)
    after = kissmetrics.counts()
    tables = duckdb_tables(database, "kissmetrics", since=since)
    assert {name: info["rows"] for name, info in tables.items()} == after
    for stream in ("accounts", "products", "reports", "events", "properties", "metrics"):
        assert tables[stream]["loaded_since"] == after[stream], stream  # full table
    # raw_events: the new revisions (and at most the last one read again).
    (new_lines,), = duckdb_query(database, "select count(*) from kissmetrics.raw_events "  # noqa: S608
                                           f"where revision > {last_revision}")
    assert new_lines == after["raw_events"] - counts["raw_events"] > 0
    (boundary,), = duckdb_query(database, "select count(*) from kissmetrics.raw_events "  # noqa: S608
                                          f"where revision = {last_revision}")
    assert new_lines <= tables["raw_events"]["loaded_since"] <= new_lines + boundary
    assert tables["report_results"]["loaded_since"] < after["report_results"]

    state = _state("demo:tap-kissmetrics-to-target-duckdb", env, project)
    bookmarks = state["singer_state"]["bookmarks"]
    assert bookmarks["raw_events"]["replication_key_value"] >= last_revision
    assert bookmarks["report_results"]
    text = json.dumps(state)
    for secret in (kissmetrics.tap_config["api_token"],
                   kissmetrics.tap_config["aws_secret_access_key"]):
        assert secret not in text
    assert not re.search(r"api_token|secret|password", text, re.IGNORECASE)
