"""README, meltano.yml and .env.example stay in step with the taps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN = ("stream_maps", "stream_map_config", "faker_config", "flattening_", "batch_config")


def test_settings_tables_match_about_output() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_settings.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_every_declared_setting_is_documented() -> None:
    from taps.amperity.tap import TapAmperity  # noqa: PLC0415

    readme = (ROOT / "README.md").read_text()
    for name in TapAmperity.config_jsonschema["properties"]:
        if not name.startswith(BUILT_IN):
            assert f"| {name} |" in readme, name


def _meltano_plugin(name: str) -> dict:
    yaml = pytest.importorskip("yaml")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugins = project["plugins"]["extractors"] + project["plugins"]["loaders"]
    return next(p for p in plugins if p["name"] == name)


def test_meltano_settings_mirror_the_config_schema() -> None:
    from taps.amperity.tap import TapAmperity  # noqa: PLC0415

    kinds = {"string": "string", "integer": "integer", "boolean": "boolean"}
    schema = TapAmperity.config_jsonschema["properties"]
    declared = {s["name"]: s for s in _meltano_plugin("tap-amperity")["settings"]}
    own = {k: v for k, v in schema.items() if not k.startswith(BUILT_IN)}
    assert set(declared) == set(own)
    for name, spec in own.items():
        types = [x for x in (spec["type"] if isinstance(spec["type"], list) else [spec["type"]])
                 if x != "null"]
        expected = "date_iso8601" if spec.get("format") == "date-time" else kinds[types[0]]
        assert declared[name]["kind"] == expected, name
        assert bool(declared[name].get("sensitive")) == bool(spec.get("secret")), name


def test_env_example_lists_every_setting() -> None:
    from taps.amperity.tap import TapAmperity  # noqa: PLC0415

    text = (ROOT / ".env.example").read_text()
    for name in TapAmperity.config_jsonschema["properties"]:
        if not name.startswith(BUILT_IN):
            assert f"TAP_AMPERITY_{name.upper()}=" in text, name


def test_duckdb_loader_keeps_the_pin() -> None:
    assert "duckdb~=1.2.0" in _meltano_plugin("target-duckdb")["pip_url"]
