"""README stays in step with the taps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_settings_tables_match_about_output() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_settings.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_every_declared_setting_is_documented() -> None:
    from taps.amperity.tap import TapAmperity  # noqa: PLC0415

    readme = (ROOT / "README.md").read_text()
    built_in = ("stream_maps", "stream_map_config", "faker_config", "flattening_", "batch_config")
    for name in TapAmperity.config_jsonschema["properties"]:
        if not name.startswith(built_in):
            assert f"| {name} |" in readme, name
