"""dbt build of transform/ on what the taps land: DuckDB always, PostgreSQL when reachable.

One sync per warehouse for the module (all four taps from their emulators through Meltano),
then ``meltano invoke dbt-<adapter> build``: every model builds, every dbt test passes, each
staging view holds one row per distinct primary key of its raw table, JSON null becomes SQL
NULL and the latest version of a key wins.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing as t
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from services import postgres_up

from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import demo  # noqa: E402
from meltano_warehouse import DUCKDB_PYTHON, MELTANO, duckdb_query, meltano, tap_env  # noqa: E402

STAGING = ROOT / "transform" / "models" / "staging"
UTILITIES = ROOT / ".meltano" / "utilities"
PG_PYTHON = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "python"
EMULATORS = {"amperity": ("--seed", "23", "--scale", "60"),
             "adnuntius": ("--seed", "23", "--scale", "60"),
             "iqm": ("--seed", "23", "--scale", "40", "--rate-limit", "600/60"),
             "kissmetrics": ("--seed", "23", "--scale", "40", "--query-polls", "1")}
pytestmark = [
    pytest.mark.meltano,
    pytest.mark.skipif(not MELTANO.exists() or not DUCKDB_PYTHON.exists()
                       or not (UTILITIES / "dbt-duckdb" / "venv" / "bin" / "dbt").exists(),
                       reason="Meltano, its loaders or dbt are not installed: run scripts/setup.sh"),
]


def _primary_keys() -> dict[tuple[str, str], list[str]]:
    """(vendor, stream) -> raw primary key columns, from the generated sources."""
    keys = {}
    for path in sorted(STAGING.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                keys[source["name"], table["name"]] = table["meta"]["primary_key"]
    return keys


def _expected_test_count() -> int:
    """Data tests declared in the generated models files."""
    total = 0
    for path in STAGING.glob("*/_*__models.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            total += len(model.get("data_tests", []))
            total += sum(len(column.get("data_tests", [])) for column in model["columns"])
    return total


PRIMARY_KEYS = _primary_keys()
#: Amperity streams loaded into PostgreSQL without key properties (appended, not upserted).
APPENDED = ("campaigns", "workflow_runs")


def _distinct_keys_sql(schema: str, stream: str, keys: list[str]) -> str:
    columns = ", ".join(f'"{key}"' for key in keys)
    return f'select count(*) from (select distinct {columns} from {schema}."{stream}") as k'  # noqa: S608


def _project_copy(tmp_path: Path) -> Path:
    """meltano.yml in a new folder sharing the installed extractors and loaders, so runs here
    do not share .meltano/run/ with other tests."""
    project = tmp_path / "project"
    (project / ".meltano").mkdir(parents=True)
    (project / "meltano.yml").write_text((ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        (project / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return project


def _load(emulator: EmulatorProcess, vendor: str, loader: str, project: Path,
          env: dict[str, str]) -> None:
    meltano("--environment=demo", "run", f"tap-{vendor}", loader, root=project,
            env={**tap_env(f"tap-{vendor}", emulator.tap_config), **env})


@pytest.fixture(scope="module")
def emulators() -> t.Iterator[dict[str, EmulatorProcess]]:
    with ExitStack() as stack:
        yield {vendor: stack.enter_context(EmulatorProcess(vendor, *args))
               for vendor, args in EMULATORS.items()}


@dataclass
class Build:
    """One sync and dbt build: where it landed and what the emulators held at the time."""

    counts: dict[str, dict[str, int]]
    ran: dict[str, int]
    tmp: Path
    database: Path | None = None
    schemas: dict[str, str] | None = None


@pytest.fixture(scope="module")
def duckdb_build(emulators: dict[str, EmulatorProcess],
                 tmp_path_factory: pytest.TempPathFactory) -> Build:
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    project, database = _project_copy(tmp), tmp / "warehouse.duckdb"
    counts = {}
    for vendor, emulator in emulators.items():
        _load(emulator, vendor, "target-duckdb", project,
              {"MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
               "TARGET_DUCKDB_FILEPATH": str(database)})
        counts[vendor] = emulator.counts()
    ran = demo.dbt_build("dbt-duckdb", _duckdb_env(database, tmp), target_path=tmp / "target")
    return Build(counts, ran, tmp, database=database)


def _duckdb_env(database: Path, tmp: Path) -> dict[str, str]:
    return {"DBT_TARGET": "duckdb", "DBT_DUCKDB_PATH": str(database),
            "DBT_DUCKDB_SCHEMA": "staging", "DBT_LOG_PATH": str(tmp / "logs"),
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano-dbt.db'}"}


def test_duckdb_build_passes_every_model_and_test(duckdb_build: Build) -> None:
    assert duckdb_build.ran == {"models": len(PRIMARY_KEYS), "tests": _expected_test_count()}
    assert duckdb_build.ran["tests"] > 100


def test_duckdb_staging_rows_are_the_distinct_primary_keys(duckdb_build: Build) -> None:
    database = duckdb_build.database
    assert database is not None
    staged = demo.staging_counts(database)
    distinct = " union all ".join(
        f"select '{vendor}', '{stream}', ({_distinct_keys_sql(vendor, stream, keys)})"
        for (vendor, stream), keys in PRIMARY_KEYS.items())
    for vendor, stream, keys in duckdb_query(database, distinct):
        assert staged[f"stg_{vendor}__{stream}"] == keys == duckdb_build.counts[vendor][stream], (
            vendor, stream)


def test_duckdb_staging_columns_are_typed_and_unpacked(duckdb_build: Build) -> None:
    database = duckdb_build.database
    assert database is not None
    types = dict(duckdb_query(database, (
        "select table_name || '.' || column_name, data_type from information_schema.columns "
        "where table_schema = 'staging'")))
    stats = "stg_adnuntius__line_item_daily_stats"
    assert types[f"{stats}.window_start"] == "TIMESTAMP WITH TIME ZONE"
    assert types[f"{stats}.date"] == "DATE"
    assert types[f"{stats}.impressions"] == "BIGINT"  # HUGEINT in the raw table
    assert types[f"{stats}.cost_amount"] == "DECIMAL(38,9)"  # unpacked from cost {currency, amount}
    assert types[f"{stats}.cost_currency"] == "VARCHAR"
    assert types[f"{stats}.line_item_labels"] == "JSON"
    assert f"{stats}.cost" not in types
    assert types["stg_adnuntius__line_items.smoothed"] == "BOOLEAN"
    assert types["stg_iqm__campaigns.io_id"] == "BIGINT"
    assert types["stg_amperity__profiles.attributes"] == "JSON"
    # Naive UTC timestamps of the loader become the same instants with a time zone.
    (wrong,), = duckdb_query(database, (
        "select count(*) from staging.stg_adnuntius__line_items s join adnuntius.line_items r "
        "using (id) where s.create_time is distinct from timezone('UTC', r.createtime)"))
    assert wrong == 0


def test_duckdb_staging_keeps_the_latest_version_of_each_key(duckdb_build: Build,
                                                             tmp_path: Path) -> None:
    """Versions added beside the loaded rows: newer, older and same-time-later-batch ones."""
    assert duckdb_build.database is not None
    database = tmp_path / "versions.duckdb"
    shutil.copy(duckdb_build.database, database)
    ids = [row[0] for row in duckdb_query(
        database, "select id from amperity.campaigns order by id limit 9")]
    newer, older, tie = ids[:3], ids[3:6], ids[6:]
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        # The loader's table has a primary key: the same rows in a table without one.
        "con.execute('create table amperity.keyless as select * from amperity.campaigns')\n"
        "con.execute('drop table amperity.campaigns')\n"
        "con.execute('alter table amperity.keyless rename to campaigns')\n"
        "for ids, name, shift, batch in json.loads(sys.argv[2]):\n"
        "    con.execute(f\"insert into amperity.campaigns by name select * replace ("
        "'{name}' as name, _sdc_extracted_at + interval '{shift} seconds' as _sdc_extracted_at, "
        "_sdc_batched_at + interval '{batch} seconds' as _sdc_batched_at) "
        "from amperity.campaigns where id in (select unnest(?))\", [ids])\n"
        "con.close()\n")
    versions = [[newer, "renamed later", 3600, 0], [older, "stale", -3600, 0],
                [tie, "later batch", 0, 60]]
    subprocess.run([str(DUCKDB_PYTHON), "-c", script, str(database), json.dumps(versions)],
                   check=True, timeout=60)
    (raw,), = duckdb_query(database, "select count(*) from amperity.campaigns")
    assert raw == duckdb_build.counts["amperity"]["campaigns"] + 9

    demo.dbt_build("dbt-duckdb", _duckdb_env(database, tmp_path), "--select",
                   "stg_amperity__campaigns", target_path=tmp_path / "target")
    names = dict(duckdb_query(database, "select id, name from staging.stg_amperity__campaigns"))
    assert len(names) == duckdb_build.counts["amperity"]["campaigns"]
    assert [names[i] for i in newer] == ["renamed later"] * 3
    assert [names[i] for i in tie] == ["later batch"] * 3
    assert "stale" not in names.values()


PG_QUERY = (
    "import json, sys, psycopg\n"
    "con = psycopg.connect(host='127.0.0.1', port=5432, user='postgres', dbname='test',"
    " autocommit=True)\n"
    "cursor = con.execute(sys.argv[1])\n"
    "rows = cursor.fetchall() if cursor.description else []\n"
    "print(json.dumps([list(r) for r in rows], default=str))\n"
)


def _pg(sql: str) -> list[list[t.Any]]:
    """Rows of one statement on the local server (target-postgres's own psycopg)."""
    result = subprocess.run([str(PG_PYTHON), "-c", PG_QUERY, sql], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def postgres_build(emulators: dict[str, EmulatorProcess],
                   tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Build]:
    """Every tap into schemas of its own, Amperity twice (after /mutate) with its campaigns
    and workflow runs sent without key properties, so that target-postgres appends them (it
    upserts whatever has a key) and they hold keys twice; dbt into another schema."""
    if not postgres_up():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    if not PG_PYTHON.exists() or not (UTILITIES / "dbt-postgres" / "venv" / "bin" / "dbt").exists():
        pytest.skip("target-postgres or dbt-postgres is not installed: run scripts/setup.sh")
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    project = _project_copy(tmp)
    prefix = f"dbt_test_{uuid.uuid4().hex[:8]}"
    schemas = {vendor: f"{prefix}_{vendor}" for vendor in EMULATORS}
    staging = f"{prefix}_staging"
    try:
        counts = {}
        for vendor, emulator in emulators.items():
            env = {"MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
                   "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schemas[vendor]}
            if vendor == "amperity":
                env["TAP_AMPERITY_STREAM_MAPS"] = json.dumps(
                    {stream: {"__key_properties__": []} for stream in APPENDED})
            _load(emulator, vendor, "target-postgres", project, env)
            if vendor == "amperity":
                emulator.mutate(3)
                _load(emulator, vendor, "target-postgres", project, env)
            counts[vendor] = emulator.counts()
        env = {"DBT_TARGET": "postgres", "DBT_POSTGRES_SCHEMA": staging,
               "DBT_POSTGRES_HOST": "127.0.0.1", "DBT_POSTGRES_PORT": "5432",
               "DBT_POSTGRES_USER": "postgres", "DBT_POSTGRES_DBNAME": "test",
               "DBT_LOG_PATH": str(tmp / "logs"),
               "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano-dbt.db'}"}
        variables = json.dumps({f"{vendor}_schema": schema for vendor, schema in schemas.items()})
        ran = demo.dbt_build("dbt-postgres", env, "--vars", variables, target_path=tmp / "target")
        yield Build(counts, ran, tmp, schemas={**schemas, "staging": staging})
    finally:
        for schema in [*schemas.values(), staging]:
            _pg(f"drop schema if exists {schema} cascade")


def test_postgres_build_passes_and_rows_are_the_distinct_primary_keys(
        postgres_build: Build) -> None:
    assert postgres_build.ran == {"models": len(PRIMARY_KEYS), "tests": _expected_test_count()}
    schemas = postgres_build.schemas
    assert schemas is not None
    rows = _pg(" union all ".join(
        f"select '{vendor}', '{stream}', ({_distinct_keys_sql(schemas[vendor], stream, keys)}), "  # noqa: S608
        f"(select count(*) from {schemas['staging']}.stg_{vendor}__{stream}), "
        f"(select count(*) from {schemas[vendor]}.\"{stream}\")"
        for (vendor, stream), keys in PRIMARY_KEYS.items()))
    for vendor, stream, distinct, staged, _ in rows:
        assert staged == distinct == postgres_build.counts[vendor][stream], (vendor, stream)
    # The appended streams hold keys twice after the second Amperity run.
    repeated = {stream for vendor, stream, distinct, _, raw in rows if raw > distinct}
    assert repeated == set(APPENDED)


def test_postgres_jsonb_null_becomes_sql_null(postgres_build: Build) -> None:
    schemas = postgres_build.schemas
    assert schemas is not None
    raw, staging = schemas["amperity"], schemas["staging"]
    (null_errors, object_errors), = _pg(
        "select count(distinct id) filter (where error = 'null'::jsonb), "  # noqa: S608
        f"count(distinct id) filter (where jsonb_typeof(error) = 'object') from {raw}.workflow_runs")
    assert null_errors > 0, "target-postgres no longer stores an absent object as 'null'::jsonb"
    (unpacked, leaked), = _pg(
        "select count(error_type), count(*) filter (where r.error = 'null'::jsonb and "  # noqa: S608
        "(s.error_type is not null or s.error_message is not null or s.error_data is not null)) "
        f"from {staging}.stg_amperity__workflow_runs s "
        f"join (select distinct on (id) id, error from {raw}.workflow_runs "
        "order by id, _sdc_extracted_at desc) r using (id)")
    assert leaked == 0
    assert 0 < unpacked <= object_errors
    # No JSON column of any staging view holds the JSON value null.
    columns = _pg("select table_name, column_name from information_schema.columns "  # noqa: S608
                  f"where table_schema = '{staging}' and data_type = 'jsonb'")
    assert len(columns) > 20
    counts = _pg(" union all ".join(
        f"select count(*) from {staging}.{table} where \"{column}\" = 'null'::jsonb"  # noqa: S608
        for table, column in columns))
    assert sum(count for (count,) in counts) == 0


def test_postgres_staging_keeps_the_latest_of_a_key_loaded_twice(postgres_build: Build) -> None:
    schemas = postgres_build.schemas
    assert schemas is not None
    raw, staging = schemas["amperity"], schemas["staging"]
    (loaded, distinct, renamed), = _pg(
        "select count(*), count(distinct id), "  # noqa: S608
        "(select count(*) from (select id from "
        f"{raw}.campaigns group by id having count(distinct name) > 1) as c) "
        f"from {raw}.campaigns")
    assert loaded > distinct  # every campaign was loaded by both runs
    assert renamed == 3  # /mutate renamed three of them between the runs
    (wrong,), = _pg(
        f"select count(*) from {staging}.stg_amperity__campaigns s "  # noqa: S608
        f"join (select distinct on (id) id, name from {raw}.campaigns "
        "order by id, _sdc_extracted_at desc, _sdc_sequence desc) latest using (id) "
        "where s.name is distinct from latest.name")
    assert wrong == 0
