"""orchestration/: tenants.yml, the generated child plugins, scoped credentials, Dagster defs.

The runs themselves (Postgres, emulators, parallel partitions) are in
test_orchestration_e2e.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "orchestration"))
sys.path.insert(0, str(ROOT / "scripts"))

from meltano_warehouse import MELTANO, meltano  # noqa: E402
from vendor_pipelines.meltano_run import MeltanoOutcome  # noqa: E402
from vendor_pipelines.tenants import (  # noqa: E402
    PLUGINS_FILE,
    TENANTS_FILE,
    TenantsError,
    load_tenants,
    render_plugins,
    scoped_env,
)

DAGSTER_PYTHON = ROOT / ".venv-dagster" / "bin" / "python"
GENERATOR = ROOT / "scripts" / "tenants.py"
needs_dagster = pytest.mark.skipif(not DAGSTER_PYTHON.exists(),
                                   reason=".venv-dagster is missing: run scripts/setup.sh")
needs_meltano = pytest.mark.skipif(not MELTANO.exists(),
                                   reason=".venv-meltano is missing: run scripts/setup.sh")


def _project(tmp_path: Path, tenants: dict) -> Path:
    """meltano.yml and a tenants.yml in a new folder."""
    (tmp_path / "orchestration").mkdir(parents=True)
    shutil.copy(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    (tmp_path / TENANTS_FILE).write_text(yaml.safe_dump(tenants))
    return tmp_path


TWO_AMPERITY_TENANTS = {"pipelines": [{"tap": "tap-amperity", "target": "target-postgres",
                                       "tenants": {"acme": {"config": {"tenant": "acme"}},
                                                   "acme_eu": {"config": {"tenant": "eu"}},
                                                   "globex": {}}}]}


def _generate(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATOR), "--project", str(project), *args],
                          capture_output=True, text=True, check=False)


def test_generated_plugins_file_is_up_to_date() -> None:
    result = _generate(ROOT, "--check")
    assert result.returncode == 0, result.stderr
    plugins = yaml.safe_load((ROOT / PLUGINS_FILE).read_text())["plugins"]["extractors"]
    config = load_tenants(ROOT)
    assert len(plugins) == sum(len(p.tenants) for p in config.pipelines)
    assert {p.tap for p in config.pipelines} == {"tap-amperity", "tap-adnuntius", "tap-iqm",
                                                 "tap-kissmetrics"}
    assert {p.target for p in config.pipelines} == {"target-postgres"}


def test_generator_writes_and_check_detects_a_stale_file(tmp_path: Path) -> None:
    project = _project(tmp_path, TWO_AMPERITY_TENANTS)
    assert _generate(project, "--check").returncode == 1  # missing
    assert _generate(project).returncode == 0
    assert _generate(project, "--check").returncode == 0
    plugins = yaml.safe_load((project / PLUGINS_FILE).read_text())["plugins"]["extractors"]
    assert plugins[0] == {"name": "tap-amperity--acme", "inherit_from": "tap-amperity",
                          "load_schema": "amperity_acme", "config": {"tenant": "acme"}}
    assert [p["load_schema"] for p in plugins] == ["amperity_acme", "amperity_acme_eu",
                                                   "amperity_globex"]
    tenants = TWO_AMPERITY_TENANTS["pipelines"][0]["tenants"]
    edited = {"pipelines": [{**TWO_AMPERITY_TENANTS["pipelines"][0],
                             "tenants": {**tenants, "initech": {}}}]}
    (project / TENANTS_FILE).write_text(yaml.safe_dump(edited))
    result = _generate(project, "--check")
    assert result.returncode == 1
    assert "out of date" in result.stderr
    assert "tap-amperity--initech" not in (project / PLUGINS_FILE).read_text()  # check writes nothing


@pytest.mark.parametrize(("tenants", "message"), [
    ({"acme": {"config": {"access_token": "x"}}}, "access_token is a secret"),
    ({"Acme": {}}, "tenant name 'Acme'"),
    ({"a__b": {}}, "tenant name 'a__b'"),
    ({}, "no tenants"),
])
def test_tenants_file_errors(tmp_path: Path, tenants: dict, message: str) -> None:
    project = _project(tmp_path, {"pipelines": [{"tap": "tap-amperity", "tenants": tenants}]})
    with pytest.raises(TenantsError, match=message):
        load_tenants(project)
    result = _generate(project)
    assert result.returncode == 2
    assert message in result.stderr


def test_unknown_plugin_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, {"pipelines": [{"tap": "tap-nope", "tenants": {"a": {}}}]})
    with pytest.raises(TenantsError, match=r"'tap-nope' is not a plugin in meltano\.yml"):
        load_tenants(project)


#: A shell where the parent tap, another tap and three tenants are all configured.
CALLER_ENV = {
    "PATH": "/usr/bin",
    "TAP_AMPERITY_ACCESS_TOKEN": "parent-token-0001",
    "TAP_AMPERITY_TENANT": "parent-tenant",
    "TAP_AMPERITY__GLOBEX_ACCESS_TOKEN": "stale-child-var-0002",
    "TAP_ADNUNTIUS_API_KEY": "other-tap-key-0003",
    "TENANT_AMPERITY_ACME__ACCESS_TOKEN": "acme-token-0004",
    "TENANT_AMPERITY_ACME__API_URL": "http://127.0.0.1:1/api",
    "TENANT_AMPERITY_ACME_EU__ACCESS_TOKEN": "acme-eu-token-0005",
    "TENANT_AMPERITY_GLOBEX__ACCESS_TOKEN": "globex-token-0006",
    "TENANT_ADNUNTIUS_ACME__API_KEY": "adnuntius-acme-key-0007",
    "TARGET_POSTGRES_SQLALCHEMY_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "everyone_together",
    "MELTANO_DATABASE_URI": "sqlite:///state.db",
}


def test_scoped_env_holds_only_the_tenants_own_credentials(tmp_path: Path) -> None:
    project = _project(tmp_path, TWO_AMPERITY_TENANTS)
    acme = load_tenants(project).tenant("amperity_to_postgres", "acme")
    env = scoped_env(acme, CALLER_ENV, project)
    assert {k: v for k, v in env.items() if k.startswith(("TAP_", "TENANT_"))} == {
        "TAP_AMPERITY__ACME_ACCESS_TOKEN": "acme-token-0004",
        "TAP_AMPERITY__ACME_API_URL": "http://127.0.0.1:1/api"}
    others = [v for k, v in CALLER_ENV.items() if k.startswith(("TAP_", "TENANT_"))
              and not k.startswith("TENANT_AMPERITY_ACME__")]
    assert not set(others) & set(env.values())
    # The target keeps its settings, but every tenant has its own schema.
    assert env["TARGET_POSTGRES_SQLALCHEMY_URL"] == CALLER_ENV["TARGET_POSTGRES_SQLALCHEMY_URL"]
    assert env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] == "amperity_acme"
    assert env["MELTANO_DATABASE_URI"] == "sqlite:///state.db"


def test_secrets_file_and_variables(tmp_path: Path) -> None:
    tenants = {"pipelines": [{"tap": "tap-amperity", "tenants": {
        "globex": {"secrets_file": ".secrets/globex.yml", "config": {"tenant": "globex"}},
        "initech": {"secrets_file": ".secrets/missing.yml"}}}]}
    project = _project(tmp_path, tenants)
    (project / ".secrets").mkdir()
    (project / ".secrets" / "globex.yml").write_text(
        "client_id: globex-client\nclient_secret: from-file-secret\naccess_token: file-token\n")
    config = load_tenants(project)
    env = scoped_env(config.tenant("amperity_to_postgres", "globex"), CALLER_ENV, project)
    assert env["TAP_AMPERITY__GLOBEX_CLIENT_SECRET"] == "from-file-secret"
    assert env["TAP_AMPERITY__GLOBEX_CLIENT_ID"] == "globex-client"
    assert env["TAP_AMPERITY__GLOBEX_ACCESS_TOKEN"] == "globex-token-0006"  # the variable wins
    with pytest.raises(TenantsError, match=r"missing\.yml does not exist"):
        scoped_env(config.tenant("amperity_to_postgres", "initech"), CALLER_ENV, project)


@needs_meltano
def test_meltano_gives_the_child_plugin_only_its_tenants_token(tmp_path: Path) -> None:
    """Through Meltano itself: unscoped, the parent's TAP_* variables reach the child."""
    project = _project(tmp_path, TWO_AMPERITY_TENANTS)
    assert _generate(project).returncode == 0
    tenant = load_tenants(project).tenant("amperity_to_postgres", "globex")
    leaky = {k: v for k, v in CALLER_ENV.items() if k.startswith("TAP_AMPERITY_ACCESS")}

    def dumped(env: dict[str, str]) -> dict:
        result = meltano("--environment=dev", "invoke", "--dump=config", tenant.plugin,
                         env=env, root=project)
        return json.loads(result.stdout)

    assert dumped(leaky)["access_token"] == "parent-token-0001"  # what scoping prevents
    config = dumped({k: v for k, v in scoped_env(tenant, CALLER_ENV, project).items()
                     if k.startswith(("TAP_", "TARGET_"))})
    assert config["access_token"] == "globex-token-0006"
    assert "tenant" not in config  # the parent's TAP_AMPERITY_TENANT did not reach it


def _meltano_line(event: str, level: str = "info", **extra: object) -> str:
    return json.dumps({"event": event, "level": level, **extra}) + "\n"


def test_outcome_reads_record_counts_and_the_taps_error_line() -> None:
    outcome = MeltanoOutcome(returncode=1)
    metric = {"type": "counter", "metric": "record_count", "value": 30}
    lines = [
        _meltano_line("Environment 'dev' is active"),
        _meltano_line("METRIC", name="tap-amperity--acme", producer=True,
                      metric_info={**metric, "tags": {"stream": "profiles", "context": {"i": 1}}}),
        _meltano_line("METRIC", name="tap-amperity--acme", producer=True,
                      metric_info={**metric, "tags": {"stream": "profiles", "context": {"i": 2}}}),
        _meltano_line("METRIC", name="target-postgres", consumer=True,
                      metric_info={**metric, "value": 60, "tags": {"stream": "profiles"}}),
        _meltano_line("METRIC", name="tap-amperity--acme", producer=True,
                      metric_info={**metric, "metric": "http_request_count", "tags": {}}),
        _meltano_line("tap-amperity: error: Cannot reach http://127.0.0.1:9/api", "error",
                      name="tap-amperity--acme", producer=True),
        _meltano_line("Broken pipe", "error", name="target-postgres", consumer=True),
        _meltano_line("Extractor failed", "error"),
        _meltano_line("Block run completed", "error", success=False),
        "not json at all\n",
    ]
    shown = [outcome.read(line) for line in lines]
    assert outcome.extracted == {"profiles": 60}
    assert outcome.loaded == {"profiles": 60}
    assert outcome.error == "tap-amperity: error: Cannot reach http://127.0.0.1:9/api"
    assert not outcome.already_running
    assert shown[1] is None  # metrics are not echoed
    assert shown[0] == "info meltano: Environment 'dev' is active"
    assert shown[-1] == "not json at all"


def test_outcome_knows_meltanos_refusal_of_a_second_run() -> None:
    outcome = MeltanoOutcome(returncode=1)
    outcome.read(_meltano_line("Another 'dev:tap-amperity--acme-to-target-postgres' pipeline "
                               "is already running which started at ...", "error"))
    assert outcome.already_running
    assert outcome.error.startswith("Another 'dev:tap-amperity--acme")
    assert MeltanoOutcome(returncode=0).error is None


DESCRIBE = """
import json, sys
import dagster as dg
from vendor_pipelines.assets import build_definitions, describe
from pathlib import Path
defs = build_definitions(Path(sys.argv[1]))
out = json.loads(describe(defs))
repo = defs.get_repository_def()
asset = repo.assets_defs_by_key[dg.AssetKey("amperity_to_postgres")]
policy = asset.op.retry_policy
out["retry"] = [policy.max_retries, policy.delay, policy.backoff.value]
out["requests"] = {}
for schedule in repo.schedule_defs:
    with dg.build_schedule_context(scheduled_execution_time=__import__("datetime").datetime(2026, 1, 1), repository_def=repo) as context:
        requests = schedule.evaluate_tick(context).run_requests
    out["requests"][schedule.name] = [[r.partition_key, r.tags, r.run_key] for r in requests]
print(json.dumps(out))
"""


@needs_dagster
def test_dagster_definitions_follow_tenants_and_meltano_schedules(tmp_path: Path) -> None:
    tenants = {"retry": {"max_retries": 4, "delay_seconds": 2},
               "pipelines": [TWO_AMPERITY_TENANTS["pipelines"][0],
                             {"tap": "tap-iqm", "tenants": {"acme": {}, "globex": {},
                                                            "hooli": {"account": "acme"}}},
                             {"tap": "tap-iqm", "target": "target-jsonl",
                              "tenants": {"acme": {}}}]}
    project = _project(tmp_path, tenants)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    result = subprocess.run([str(DAGSTER_PYTHON), "-c", DESCRIBE, str(project)], env=env,
                            cwd=ROOT / "orchestration", capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert out["assets"] == {"amperity_to_postgres": ["acme", "acme_eu", "globex"],
                             "iqm_to_postgres": ["acme", "globex", "hooli"],
                             "iqm_to_jsonl": ["acme"]}
    # meltano.yml: amperity-hourly runs amperity-to-postgres, iqm-daily iqm-to-postgres; the
    # adnuntius and kissmetrics schedules have no tenants here, iqm_to_jsonl no schedule.
    assert out["schedules"] == {
        "amperity_hourly": {"cron": "0 * * * *", "job": "amperity_to_postgres_job"},
        "iqm_daily": {"cron": "0 0 * * *", "job": "iqm_to_postgres_job"}}
    assert out["retry"] == [4, 2, "EXPONENTIAL"]
    amperity, iqm = out["requests"]["amperity_hourly"], out["requests"]["iqm_daily"]
    assert [r[0] for r in amperity] == ["acme", "acme_eu", "globex"]
    assert amperity[0][1]["vendor_pipelines/account"] == "amperity:acme"
    assert amperity[0][1]["vendor_pipelines/state_id"] == \
        "dev:tap-amperity--acme-to-target-postgres"
    assert amperity[0][1]["dagster/partition"] == "acme"
    assert amperity[0][1]["vendor_pipelines/vendor"] == "amperity"
    assert len({r[2] for r in amperity}) == 3  # one run key per tenant and tick
    # hooli shares acme's IQM account (and rate limit): one account tag, one run at a time.
    assert [r[1]["vendor_pipelines/account"] for r in iqm] == ["iqm:acme", "iqm:globex",
                                                                "iqm:acme"]


@needs_dagster
def test_shipped_definitions_load() -> None:
    """The code location dagster dev loads: four pipelines, meltano.yml's four schedules."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    code = ("import definitions, json; from vendor_pipelines.assets import describe; "
            "print(describe(definitions.defs))")
    result = subprocess.run([str(DAGSTER_PYTHON), "-c", code], env=env,
                            cwd=ROOT / "orchestration", capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    config = load_tenants(ROOT)
    assert out["assets"] == {p.asset_name: sorted(p.tenants) for p in config.pipelines}
    assert set(out["schedules"]) == {"amperity_hourly", "adnuntius_daily", "iqm_daily",
                                     "kissmetrics_daily"}
    assert render_plugins(config) == (ROOT / PLUGINS_FILE).read_text()


def test_interrupted_run_sends_sigterm_to_meltano(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster terminating a run must not leave Meltano's run "running" (it would refuse
    the next one): the subprocess gets SIGTERM, so the tap writes its state and stops."""
    from vendor_pipelines import meltano_run  # noqa: PLC0415

    marker = tmp_path / "terminated"
    fake = tmp_path / "meltano"
    fake.write_text("#!/usr/bin/env bash\n"
                    f"trap 'echo term > {marker}; kill %1; exit 143' TERM\n"
                    "echo '{\"event\": \"Running job\", \"level\": \"info\"}'\n"
                    "sleep 30 & wait\n")
    fake.chmod(0o755)
    monkeypatch.setattr(meltano_run, "MELTANO", fake)
    tenant = load_tenants(_project(tmp_path, TWO_AMPERITY_TENANTS)).tenant(
        "amperity_to_postgres", "acme")

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        meltano_run.run_meltano(tenant, "dev", dict(os.environ), tmp_path, interrupt)
    assert marker.read_text().strip() == "term"
