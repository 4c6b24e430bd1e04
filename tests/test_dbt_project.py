"""transform/: the dbt utilities Meltano installs and the profile they run with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MELTANO_SCHEMA = next((ROOT / ".venv-meltano" / "lib").glob(
    "python3*/site-packages/meltano/schemas/meltano.schema.json"), ROOT / "missing")
UTILITIES = {plugin["name"]: plugin for plugin in yaml.safe_load(
    (ROOT / "transform" / "dbt.meltano.yml").read_text())["plugins"]["utilities"]}


def test_dbt_meltano_yml_is_valid_for_meltanos_own_schema_and_included() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not MELTANO_SCHEMA.exists():
        pytest.skip("Meltano is not installed: run scripts/setup.sh")
    validator = jsonschema.Draft202012Validator(json.loads(MELTANO_SCHEMA.read_text()))
    document = yaml.safe_load((ROOT / "transform" / "dbt.meltano.yml").read_text())
    assert [e.message for e in validator.iter_errors(document)] == []
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    assert "./transform/*.meltano.yml" in project["include_paths"]


@pytest.mark.parametrize("name", ["dbt-duckdb", "dbt-postgres"])
def test_utility_has_the_standard_dbt_shape(name: str) -> None:
    utility = UTILITIES[name]
    assert utility["namespace"] == name.replace("-", "_")
    assert utility["executable"] == "dbt"
    assert {"build", "run", "test", "docs-generate"} <= set(utility["commands"])
    # Every requirement pinned exactly; dbt-core 1.12 needs a wheel from outside PyPI.
    pins = dict(requirement.split("==") for requirement in utility["pip_url"].split())
    assert pins["dbt-core"].startswith("1.11.")
    assert pins[name] == {"dbt-duckdb": "1.11.1", "dbt-postgres": "1.11.0"}[name]
    settings = {setting["name"]: setting for setting in utility["settings"]}
    assert settings["project_dir"]["env"] == "DBT_PROJECT_DIR"
    assert settings["profiles_dir"]["env"] == "DBT_PROFILES_DIR"
    assert settings["target"]["value"] == name.removeprefix("dbt-")


def test_utility_envs_are_the_ones_profiles_yml_reads() -> None:
    profiles = (ROOT / "transform" / "profiles.yml").read_text()
    read = set(re.findall(r"env_var\('(\w+)'", profiles))
    for utility in UTILITIES.values():
        envs = {setting["env"] for setting in utility["settings"]}
        assert envs - {"DBT_PROJECT_DIR", "DBT_PROFILES_DIR"} <= read, utility["name"]
    assert "env_var('DBT_DUCKDB_PATH', 'output/demo.duckdb')" in profiles
    assert "env_var('DBT_POSTGRES_HOST', '127.0.0.1')" in profiles


def test_dbt_reads_duckdb_files_in_the_loaders_format() -> None:
    """target-duckdb pins duckdb (1.3 drops rows); dbt's duckdb must open the same files."""
    loaders = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
    target = next(loader for loader in loaders if loader["name"] == "target-duckdb")
    loader_pin = re.search(r"(?<![\w-])duckdb~=(\d+\.\d+)", target["pip_url"])
    assert loader_pin
    assert f"duckdb=={loader_pin.group(1)}." in UTILITIES["dbt-duckdb"]["pip_url"]
