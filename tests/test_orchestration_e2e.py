"""Dagster materialising tenant partitions through Meltano into PostgreSQL, in parallel.

Emulators play the tenants (one process per tenant, different seeds), Dagster's storage and
Meltano's state and warehouse are databases of their own (created and dropped here), and
every run is a real ``dagster asset materialize`` subprocess with the Postgres instance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import typing as t
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from services import needs_postgres

from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from meltano_warehouse import MELTANO, meltano, tap_env  # noqa: E402

DAGSTER = ROOT / ".venv-dagster" / "bin" / "dagster"
DAGSTER_PYTHON = ROOT / ".venv-dagster" / "bin" / "python"
MELTANO_PYTHON = ROOT / ".venv-meltano" / "bin" / "python"
PG_LOADER = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv"
ORCHESTRATION = ROOT / "orchestration"


pytestmark = [
    pytest.mark.meltano,
    needs_postgres,
    pytest.mark.skipif(not DAGSTER.exists(), reason=".venv-dagster is missing: run scripts/setup.sh"),
    pytest.mark.skipif(not MELTANO.exists() or not PG_LOADER.exists(),
                       reason="Meltano or target-postgres is not installed: run scripts/setup.sh"),
]

#: (asset, tenant) -> emulator arguments; one emulator per tenant.
EMULATORS = {
    ("amperity_to_postgres", "acme"): ("amperity", "--seed", "21", "--scale", "30"),
    ("amperity_to_postgres", "globex"): ("amperity", "--seed", "22", "--scale", "20"),
    # Slow on purpose: a second run of this partition starts while the first is running.
    ("amperity_to_postgres", "slowco"): ("amperity", "--seed", "23", "--scale", "20",
                                         "--latency-ms", "300"),
    ("adnuntius_to_postgres", "acme_media"): ("adnuntius", "--seed", "31", "--scale", "20"),
    ("adnuntius_to_postgres", "initech"): ("adnuntius", "--seed", "32", "--scale", "15"),
}
TENANTS = {
    "environment": "dev",
    "retry": {"max_retries": 1, "delay_seconds": 1},
    "pipelines": [
        {"tap": "tap-amperity", "target": "target-postgres",
         "tenants": {"acme": {}, "globex": {}, "slowco": {}}},
        # `broken` has no emulator: its api_url points at a closed port.
        {"tap": "tap-adnuntius", "target": "target-postgres",
         "tenants": {"acme_media": {}, "initech": {}, "broken": {}}},
    ],
}
PG_TOOL = """
import json, sys, psycopg
action, database = sys.argv[1], sys.argv[2]
url = 'postgresql://postgres@127.0.0.1:5432/'
if action in ('create', 'drop'):
    con = psycopg.connect(url + 'postgres', autocommit=True)
    if action == 'create': con.execute(f'create database {database}')
    else: con.execute(f'drop database if exists {database} with (force)')
elif action == 'counts':
    con = psycopg.connect(url + database)
    tables = con.execute('select table_name from information_schema.tables '
                         'where table_schema = %s', [sys.argv[3]]).fetchall()
    print(json.dumps({name: con.execute(f'select count(*) from {sys.argv[3]}."{name}"')
                      .fetchone()[0] for (name,) in tables}))
elif action == 'running':
    con = psycopg.connect(url + database)
    print(con.execute("select count(*) from runs where job_name = %s and state = 'RUNNING'",
                      [sys.argv[3]]).fetchone()[0])
"""


def _pg(action: str, database: str, *args: str) -> str:
    result = subprocess.run([str(MELTANO_PYTHON), "-c", PG_TOOL, action, database, *args],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Orchestra:
    """The project copy, databases, emulators and environment the runs share."""

    def __init__(self, tmp: Path, emulators: dict[tuple[str, str], EmulatorProcess]) -> None:
        self.emulators = emulators
        name = f"orch_{uuid.uuid4().hex[:10]}"
        self.meltano_db, self.dagster_db = f"{name}_meltano", f"{name}_dagster"
        self.project = tmp / "project"
        self.home = tmp / "dagster_home"
        self.env = self._environment()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "TENANT_", "DAGSTER_"))}
        for (asset, tenant), emulator in self.emulators.items():
            vendor = asset.removesuffix("_to_postgres")
            env |= tap_env(f"tenant-{vendor}-{tenant}-", emulator.tap_config)
        env |= tap_env("tenant-adnuntius-broken-", {"api_url": "http://127.0.0.1:9/api",
                                                    "network": "broken",
                                                    "api_key": "broken-key-0123"})
        meltano_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.meltano_db}"
        return env | {
            # What a shell configured for the parent taps would add; no tenant may use it.
            "TAP_AMPERITY_ACCESS_TOKEN": "parent-token-never-sent",
            "TAP_AMPERITY_API_URL": "http://127.0.0.1:9/parent",
            "MELTANO_PROJECT_ROOT": str(self.project),
            "MELTANO_DATABASE_URI": meltano_url,
            "TARGET_POSTGRES_SQLALCHEMY_URL": meltano_url,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_POSTGRES_URL": (f"postgresql+psycopg2://postgres@127.0.0.1:5432/"
                                     f"{self.dagster_db}"),
            "DAGSTER_COMPUTE_LOG_DIR": str(self.home / "logs"),
            "DAGSTER_ARTIFACT_DIR": str(self.home / "artifacts"),
        }

    def setup(self) -> None:
        """Project copy (sharing the installed plugins), Dagster home, databases."""
        (self.project / ".meltano").mkdir(parents=True)
        (self.project / "orchestration").mkdir()
        shutil.copy(ROOT / "meltano.yml", self.project / "meltano.yml")
        for kind in ("extractors", "loaders"):
            (self.project / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
        (self.project / "orchestration" / "tenants.yml").write_text(yaml.safe_dump(TENANTS))
        subprocess.run([sys.executable, str(ROOT / "scripts" / "tenants.py"), "--project",
                        str(self.project)], check=True, capture_output=True)
        self.home.mkdir()
        shutil.copy(ORCHESTRATION / "dagster.yaml", self.home / "dagster.yaml")
        _pg("create", self.meltano_db)
        _pg("create", self.dagster_db)
        # Dagster creates its tables on first use, and two processes doing so at once
        # collide (UniqueViolation on pg_type): create them once, before any parallel run.
        subprocess.run([str(DAGSTER), "instance", "migrate"], env=self.env, check=True,
                       capture_output=True, timeout=120)

    def teardown(self) -> None:
        """Drop both databases."""
        _pg("drop", self.dagster_db)
        _pg("drop", self.meltano_db)

    def start(self, asset: str, tenant: str) -> subprocess.Popen[str]:
        """``dagster asset materialize`` of one partition, as a subprocess."""
        return subprocess.Popen(
            [str(DAGSTER), "asset", "materialize", "-f", str(ORCHESTRATION / "definitions.py"),
             "-d", str(ORCHESTRATION), "--select", asset, "--partition", tenant,
             # One process per run (the default would fork a second one for the step).
             "--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})],
            cwd=self.project, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)

    def materialize_all(self, partitions: t.Iterable[tuple[str, str]]) -> float:
        """Materialise partitions in parallel; seconds taken. Every one must succeed."""
        started = time.monotonic()
        processes = {partition: self.start(*partition) for partition in partitions}
        for partition, process in processes.items():
            output, _ = process.communicate(timeout=300)
            assert process.returncode == 0, f"{partition}:\n{output[-4000:]}"
        return time.monotonic() - started

    def runs(self) -> list[dict[str, t.Any]]:
        """The instance's runs, newest first (vendor_pipelines.report)."""
        result = subprocess.run([str(DAGSTER_PYTHON), "-m", "vendor_pipelines.report",
                                 "--limit", "100"], cwd=ORCHESTRATION, env=self.env,
                                capture_output=True, text=True, timeout=120, check=True)
        return json.loads(result.stdout)

    def last_run(self, asset: str, tenant: str) -> dict[str, t.Any]:
        """The newest run of one partition."""
        return next(run for run in self.runs()
                    if run["assets"] == [asset] and run["partition"] == tenant)

    def rows(self, asset: str, tenant: str) -> dict[str, int]:
        """Rows per table in the tenant's schema."""
        schema = f"{asset.removesuffix('_to_postgres')}_{tenant}"
        return json.loads(_pg("counts", self.meltano_db, schema))

    def state(self, asset: str, tenant: str) -> dict[str, t.Any]:
        """The tenant's Meltano state, read back with ``meltano state get``."""
        state_id = f"dev:tap-{asset.removesuffix('_to_postgres')}--{tenant}-to-target-postgres"
        env = {k: v for k, v in self.env.items() if k.startswith("MELTANO_DATABASE")}
        result = meltano("--environment=dev", "state", "get", state_id, env=env,
                         root=self.project)
        return json.loads(result.stdout)["singer_state"]["bookmarks"]


@pytest.fixture(scope="module")
def broken_run(orchestra: Orchestra) -> subprocess.Popen[str]:
    """The failing tenant's run, started once (beside the parallel runs when they ask)."""
    return orchestra.start("adnuntius_to_postgres", "broken")


@pytest.fixture(scope="module")
def orchestra(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Orchestra]:
    with ExitStack() as stack:
        emulators = {key: stack.enter_context(EmulatorProcess(*args))
                     for key, args in EMULATORS.items()}
        band = Orchestra(tmp_path_factory.mktemp("orchestra"), emulators)
        band.setup()
        stack.callback(band.teardown)
        yield band


PARALLEL = [("amperity_to_postgres", "acme"), ("amperity_to_postgres", "globex"),
            ("adnuntius_to_postgres", "acme_media"), ("adnuntius_to_postgres", "initech")]
#: Different per tenant, so that each tenant's incremental run shows its own bookmark.
MUTATIONS = {"acme": 2, "globex": 4, "acme_media": 3, "initech": 5}


def test_two_tenants_of_two_taps_in_parallel_then_incremental(
        orchestra: Orchestra, broken_run: subprocess.Popen[str]) -> None:
    """A third tenant fails (and retries) beside them: the others do not notice."""
    first_seconds = orchestra.materialize_all(PARALLEL)
    first_state = {}
    for asset, tenant in PARALLEL:
        counts = orchestra.emulators[asset, tenant].counts()
        assert orchestra.rows(asset, tenant) == counts, (asset, tenant)
        run = orchestra.last_run(asset, tenant)
        assert run["status"] == "SUCCESS"
        metadata = run["materializations"][0]["metadata"]
        assert metadata["records_loaded"] == counts  # a full sync loads each record once
        assert metadata["dagster/row_count"] == sum(counts.values())
        assert metadata["schema"] == f"{asset.removesuffix('_to_postgres')}_{tenant}"
        first_state[asset, tenant] = orchestra.state(asset, tenant)
    amperity_bookmarks = {tenant: first_state["amperity_to_postgres", tenant]["audit_events"]
                          ["replication_key_value"] for tenant in ("acme", "globex")}
    assert amperity_bookmarks["acme"] != amperity_bookmarks["globex"]  # two states, not one

    for asset, tenant in PARALLEL:
        orchestra.emulators[asset, tenant].mutate(MUTATIONS[tenant])
    second_seconds = orchestra.materialize_all(PARALLEL)
    for asset, tenant in PARALLEL:
        counts = orchestra.emulators[asset, tenant].counts()
        assert orchestra.rows(asset, tenant) == counts, (asset, tenant)
        loaded = orchestra.last_run(asset, tenant)["materializations"][0]["metadata"][
            "records_loaded"]
        state = orchestra.state(asset, tenant)
        assert state != first_state[asset, tenant], (asset, tenant)
        if asset == "amperity_to_postgres":
            # Only the tenant's own new events (+ the inclusive boundary): its own bookmark.
            assert MUTATIONS[tenant] <= loaded["audit_events"] <= MUTATIONS[tenant] + 1
            assert state["audit_events"]["replication_key_value"] > \
                first_state[asset, tenant]["audit_events"]["replication_key_value"]
        else:
            assert sum(loaded.values()) < sum(counts.values()), (asset, tenant)
    print(f"\nparallel partitions: run 1 {first_seconds:.1f} s, run 2 {second_seconds:.1f} s; "
          + ", ".join(f"{a}[{p}]={sum(orchestra.rows(a, p).values())} rows"
                      for a, p in PARALLEL))


def test_second_concurrent_run_of_a_partition_is_refused(orchestra: Orchestra) -> None:
    asset, tenant = "amperity_to_postgres", "slowco"
    state_id = f"dev:tap-amperity--{tenant}-to-target-postgres"
    first = orchestra.start(asset, tenant)
    deadline = time.monotonic() + 120
    while _pg("running", orchestra.meltano_db, state_id).strip() == "0":
        assert first.poll() is None, first.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the first run never started"
        time.sleep(0.3)
    second = orchestra.start(asset, tenant)
    second_output, _ = second.communicate(timeout=300)
    assert first.poll() is None, "the first run ended before the second was refused"
    first_output, _ = first.communicate(timeout=300)
    assert second.returncode != 0, second_output[-3000:]
    assert first.returncode == 0, first_output[-3000:]

    runs = [run for run in orchestra.runs()
            if run["assets"] == [asset] and run["partition"] == tenant]
    refused = next(run for run in runs if run["status"] == "FAILURE")
    assert refused["retries"] == 0  # retrying would only race the running one
    description = refused["failures"][-1]["description"]
    assert f"Another '{state_id}' pipeline is already running" in description
    assert [run["status"] for run in runs].count("SUCCESS") == 1
    assert orchestra.rows(asset, tenant) == orchestra.emulators[asset, tenant].counts()


def test_failed_partition_retries_and_reports_the_taps_error(
        orchestra: Orchestra, broken_run: subprocess.Popen[str]) -> None:
    output, _ = broken_run.communicate(timeout=300)
    assert broken_run.returncode != 0
    assert "Cannot reach http://127.0.0.1:9/api" in output, output[-4000:]
    run = orchestra.last_run("adnuntius_to_postgres", "broken")
    assert run["status"] == "FAILURE"
    assert run["retries"] == TENANTS["retry"]["max_retries"]
    failure = run["failures"][-1]
    assert failure["description"].startswith(
        "tap-adnuntius: error: Cannot reach http://127.0.0.1:9/api"), failure
    assert "\n" not in failure["description"]
    assert failure["metadata"]["meltano_exit_code"] == 1
    assert "broken-key-0123" not in json.dumps(run) + output
