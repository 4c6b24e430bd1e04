"""README, meltano.yml and .env.example stay in step with the taps (every tap in TAPS)."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from generated_blocks import TAPS  # noqa: E402

BUILT_IN = ("stream_maps", "stream_map_config", "faker_config", "flattening_", "batch_config")
MELTANO_SCHEMA = next((ROOT / ".venv-meltano" / "lib").glob(
    "python3*/site-packages/meltano/schemas/meltano.schema.json"), ROOT / "missing")
PG_TARGET = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
#: Words each tap's --about description must hold: how to authenticate, where credentials are.
CREDENTIAL_WORDS = {
    "tap-amperity": ("access token", "OAuth client credentials", "tenant ID",
                     "Settings > Security > API keys"),
    "tap-adnuntius": ("API key", "username and password", "network", "Admin UI > API keys",
                      "two-factor"),
    "tap-iqm": ("`client_id`", "`client_secret`", "`username`", "`password`", "`ow_id`"),
    "tap-kissmetrics": ("Personal API Token", "Account settings > Manage API Tokens",
                        "AWS credential chain", "`aws_access_key_id`"),
}
#: The settings a copied .env.example may carry as (empty) active lines: credentials only.
CREDENTIAL_SUFFIXES = ("_TENANT", "_ACCESS_TOKEN", "_NETWORK", "_API_KEY", "_HOST", "_USER",
                       "_PASSWORD", "_DATABASE", "_CLIENT_ID", "_CLIENT_SECRET", "_USERNAME",
                       "_API_TOKEN")
#: The settings groups (auth modes) of each tap, first the one .env.example fills in.
SETTINGS_GROUPS = {
    "tap-amperity": [["tenant", "access_token"], ["tenant", "client_id", "client_secret"]],
    "tap-adnuntius": [["network", "api_key"], ["network", "username", "password"]],
    # One mode each: IQM's password grant needs the API client and the login together;
    # Kissmetrics takes a token (its S3 credentials may come from the AWS chain).
    "tap-iqm": [["client_id", "client_secret", "username", "password"]],
    "tap-kissmetrics": [["api_token"]],
}
#: Streams whose schema is built in code rather than read from schemas/<vendor>/.
CODE_SCHEMAS = {"tap-iqm": ["campaign_daily_report"]}
#: Commented .env.example values that are not the tap's default (the prod environment's).
NOT_DEFAULTS = {"start_date"}


def _vendor(tap: str) -> str:
    return tap.removeprefix("tap-")


def _prefix(tap: str) -> str:
    return tap.upper().replace("-", "_") + "_"


def test_every_tap_has_its_readme_section_and_markers() -> None:
    readme = (ROOT / "README.md").read_text()
    for tap in TAPS:
        assert f"\n## {tap}\n" in readme, tap
        assert f"<!-- settings:{tap}:begin -->" in readme, tap
        assert f"### Known unknowns ({_meltano_plugin(tap)['label']})" in readme, tap
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{tap}` |"))
        assert row.split("|")[2].strip() == "available", tap


def test_settings_tables_match_about_output() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_settings.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("tap", TAPS)
def test_every_declared_setting_is_documented(tap: str) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"<!-- settings:{tap}:begin -->", 1)[1].split(
        f"<!-- settings:{tap}:end -->", 1)[0]
    for name in _about(tap)["settings"]["properties"]:
        if not name.startswith(BUILT_IN):
            assert f"| {name} |" in section, name


def _meltano_plugin(name: str) -> dict:
    yaml = pytest.importorskip("yaml")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugins = project["plugins"]["extractors"] + project["plugins"]["loaders"]
    return next(p for p in plugins if p["name"] == name)


@functools.cache
def _about(tap: str) -> dict:
    result = subprocess.run([str(Path(sys.executable).parent / tap), "--about", "--format=json"],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.fixture(params=TAPS)
def tap(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def about(tap: str) -> dict:
    return _about(tap)


def test_meltano_yml_is_valid_for_meltanos_own_schema() -> None:
    yaml = pytest.importorskip("yaml")
    jsonschema = pytest.importorskip("jsonschema")
    if not MELTANO_SCHEMA.exists():
        pytest.skip("Meltano is not installed: run scripts/setup.sh")
    validator = jsonschema.Draft202012Validator(json.loads(MELTANO_SCHEMA.read_text()))
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(project)]
    assert not errors
    bogus = {**project, "plugins": {"extractors": [{"name": "x", "keywords": ["y"]}]}}
    assert not validator.is_valid(bogus)  # the schema is strict: the check means something


def _expected_kind(spec: dict) -> str:
    if spec.get("format") == "date-time":
        return "date_iso8601"
    types = [x for x in (spec["type"] if isinstance(spec["type"], list) else [spec["type"]])
             if x != "null"]
    return {"string": "string", "integer": "integer", "boolean": "boolean", "object": "object",
            "array": "array", "number": "decimal"}[types[0]]


def _limits(spec: dict) -> str:
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and high is not None:
        return f" From {low} to {high}."
    if low is not None:
        return f" At least {low}."
    return f" At most {high}." if high is not None else ""


def test_meltano_declares_every_tap_setting_with_its_default(tap: str, about: dict) -> None:
    """As a Hub definition: every --about setting (SDK built-ins included), kind, value, secret."""
    schema = about["settings"]["properties"]
    declared = {s["name"]: s for s in _meltano_plugin(tap)["settings"]}
    assert list(declared) == list(schema)
    for builtin in ("stream_maps", "stream_map_config", "flattening_enabled",
                    "flattening_max_depth", "batch_config", "faker_config"):
        assert builtin in declared, builtin
    for name, spec in schema.items():
        setting = declared[name]
        assert setting["kind"] == _expected_kind(spec), name
        assert bool(setting.get("sensitive")) == bool(spec.get("secret")), name
        if "default" in spec:
            assert "value" in setting, f"{name}: no value (default {spec['default']!r})"
            assert setting["value"] == spec["default"], name
        else:
            assert "value" not in setting, name
        # A limit is mentioned only as the config schema states it (scripts/meltano_settings.py).
        text = " ".join(str(spec.get("description", "")).split())
        assert setting["description"] in {text, text + _limits(spec)}, name


def test_meltano_capabilities_match_about(tap: str, about: dict) -> None:
    assert sorted(_meltano_plugin(tap)["capabilities"]) == sorted(about["capabilities"])


def test_extractor_carries_hub_metadata(tap: str) -> None:
    plugin = _meltano_plugin(tap)
    for field in ("label", "description", "docs", "repo", "namespace", "executable"):
        assert plugin.get(field), field
    assert plugin["executable"] == tap
    assert plugin["namespace"] == tap.replace("-", "_")
    assert plugin["pip_url"] == "-e ."
    assert plugin["docs"] == f"README.md#{tap}"
    # Hub-only fields: Meltano's schema accepts them only as annotations.
    hub = plugin["annotations"]["hub"]
    assert hub["keywords"]
    assert hub["domain_url"].startswith("https://")
    assert hub["maintenance_status"] in {"active", "beta", "development", "inactive", "unknown"}


def test_settings_groups_name_declared_settings(tap: str) -> None:
    """Each group of settings_group_validation is one auth mode of settings the tap declares."""
    plugin = _meltano_plugin(tap)
    declared = {s["name"] for s in plugin["settings"]}
    groups = plugin["settings_group_validation"]
    assert groups, "one group per auth mode"
    for group in groups:
        assert set(group) <= declared, group
        for name in group:  # the secrets of a group are sensitive
            if name.endswith(("secret", "password", "token", "key")):
                assert next(s for s in plugin["settings"] if s["name"] == name).get(
                    "sensitive"), name
    assert groups == SETTINGS_GROUPS[tap]


def test_every_tap_has_jobs_a_schedule_and_demo_settings(tap: str) -> None:
    yaml = pytest.importorskip("yaml")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    vendor = _vendor(tap)
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    assert jobs[f"{vendor}-to-duckdb"] == [f"{tap} target-duckdb"]
    assert jobs[f"{vendor}-to-postgres"] == [f"{tap} target-postgres"]
    assert any(s["job"].startswith(f"{vendor}-to-") for s in project["schedules"])
    declared = {s["name"] for s in _meltano_plugin(tap)["settings"]}
    for env in project["environments"]:
        for plugin in env.get("config", {}).get("plugins", {}).get("extractors", []):
            if plugin["name"] == tap:
                assert set(plugin.get("config", {})) <= declared, (env["name"], plugin)
    readme = (ROOT / "README.md").read_text()
    for command in (f"meltano run {vendor}-to-postgres",
                    f"--environment=prod run {tap} target-postgres"):
        assert command in readme, command


def test_loaders_land_each_tap_in_its_schema_and_hold_no_password() -> None:
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "meltano.yml").read_text()
    project = yaml.safe_load(text)
    for tap in TAPS:
        assert _meltano_plugin(tap)["load_schema"] == _vendor(tap)
    for loader in ("target-duckdb", "target-postgres"):
        settings = {s["name"]: s for s in _meltano_plugin(loader)["settings"]}
        assert settings["default_target_schema"]["value"] == "$MELTANO_EXTRACT__LOAD_SCHEMA"
        assert "default_target_schema" not in _meltano_plugin(loader).get("config", {})
    postgres = {s["name"]: s for s in _meltano_plugin("target-postgres")["settings"]}
    for name in ("ssl_enable", "ssl_mode", "hard_delete", "add_record_metadata",
                 "activate_version", "validate_records", "batch_size_rows", "use_copy"):
        assert name in postgres, name
    for name in ("password", "sqlalchemy_url", "ssl_client_private_key", "ssh_tunnel"):
        assert postgres[name].get("sensitive"), name
    # No password anywhere: neither a `password:` value nor user:password@ in a URL.
    configs = [p.get("config", {}) for p in project["plugins"]["loaders"]]
    for env in project["environments"]:
        configs += [p.get("config", {}) for kind in env.get("config", {}).get("plugins", {}).values()
                    for p in kind]
    for config in configs:
        assert "password" not in config
        for value in config.values():
            assert not re.search(r"://[^/@:]+:[^/@]+@", str(value)), value


def test_target_postgres_settings_exist_in_the_loader() -> None:
    if not PG_TARGET.exists():
        pytest.skip("target-postgres is not installed: run scripts/setup.sh")
    about = _about_of(PG_TARGET)
    properties = about["settings"]["properties"]
    for setting in _meltano_plugin("target-postgres")["settings"]:
        spec = properties[setting["name"]]
        assert setting["kind"] == _expected_kind(spec), setting["name"]
        if "value" in setting and setting["name"] != "default_target_schema":
            assert setting["value"] == spec.get("default"), setting["name"]
    known = {"about", "stream-maps", "activate-version", "batch", "soft-delete", "hard-delete",
             "datatype-failsafe", "schema-flattening", "structured-logging"}
    assert set(_meltano_plugin("target-postgres")["capabilities"]) == set(about["capabilities"]) & known


def _about_of(executable: Path) -> dict:
    result = subprocess.run([str(executable), "--about", "--format=json"], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def test_about_describes_streams_auth_and_credentials(tap: str, about: dict) -> None:
    description = about["description"]
    # Every stream has its schema file, and every stream is named in the description.
    names = [path.stem for path in (ROOT / "schemas" / _vendor(tap)).glob("*.json")]
    names += CODE_SCHEMAS.get(tap, [])
    assert names
    for name in names:
        assert f"`{name}`" in description, name
    for words in CREDENTIAL_WORDS[tap]:
        assert words in description, words
    markdown = subprocess.run([str(Path(sys.executable).parent / tap), "--about",
                               "--format=markdown"], capture_output=True, text=True,
                              check=True).stdout
    assert description in markdown
    # Markdown stays Markdown (a multi-line docstring would indent the rest into code blocks).
    assert "\nBuilt with the [Meltano Singer SDK]" in markdown


def _env_example_lines() -> dict[str, tuple[bool, str]]:
    """Variable -> (commented out?, value) of every assignment in .env.example."""
    lines = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        commented = line.startswith("# ")
        assignment = line.removeprefix("# ")
        if re.match(r"[A-Z][A-Z0-9_]*=", assignment):
            key, _, value = assignment.partition("=")
            lines[key] = (commented, value)
    return lines


def test_env_example_lists_every_setting(tap: str, about: dict) -> None:
    """Every setting, built-ins included; optional ones commented out with their default."""
    lines = _env_example_lines()
    properties = about["settings"]["properties"]
    groups = _meltano_plugin(tap)["settings_group_validation"]
    for name, spec in properties.items():
        key = f"{_prefix(tap)}{name.upper()}"
        assert key in lines, key
        commented, value = lines[key]
        # Active (and empty) exactly when the first auth mode needs it.
        assert commented == (name not in groups[0]), key
        if "default" in spec and name not in NOT_DEFAULTS:
            default = spec["default"]
            text = json.dumps(default) if not isinstance(default, str) else default
            assert value == text, f"{key}={value}, but the tap's default is {text}"


def test_duckdb_loader_keeps_the_pin() -> None:
    assert "duckdb~=1.2.0" in _meltano_plugin("target-duckdb")["pip_url"]


def test_env_example_carries_no_demo_values() -> None:
    """Copying it to .env overrides nothing: only empty credentials are active."""
    active = [line for line in (ROOT / ".env.example").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    assert active
    for line in active:
        key, _, value = line.partition("=")
        assert value == "", f"{key} has a value in .env.example"
        assert key.endswith(CREDENTIAL_SUFFIXES), key
    text = (ROOT / ".env.example").read_text()
    assert "demo.duckdb" not in text


def test_readme_shows_meltano_4_commands_schedules_and_nested_selection() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in ("meltano config list tap-amperity", "meltano select tap-amperity --list",
                    "meltano schedule list", *(f"meltano run {_vendor(tap)}-to-postgres"
                                               for tap in TAPS)):
        assert command in readme, command
    for old in ("meltano config tap-amperity list", "meltano select tap-amperity --list-all"):
        assert old not in readme, old
    assert "orchestrator" in readme
    assert re.search(r"meltano select tap-amperity workflow_runs ['\"]?error\.\*", readme)
