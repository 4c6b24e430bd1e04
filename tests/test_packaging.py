"""A real wheel installs into a fresh venv and carries the schemas and every console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
sys.path.insert(0, str(ROOT / "scripts"))

from generated_blocks import TAPS  # noqa: E402

#: Settings that make --discover list every stream (some are optional).
DISCOVER_CONFIG = {"tap-amperity": {"include_campaign_drafts": True},
                   "tap-kissmetrics": {"export_bucket": "acme-kissmetrics-export"}}
#: Streams whose schema is built in code (from the report's dimensions and metrics).
CODE_SCHEMAS = {"tap-iqm": {"campaign_daily_report"}}
#: One stream per tap whose schema must carry a given property.
SAMPLE_PROPERTY = {"tap-amperity": ("profiles", "attributes"),
                   "tap-adnuntius": ("line_item_daily_stats", "impressions"),
                   "tap-iqm": ("campaign_daily_report", "impressions"),
                   "tap-kissmetrics": ("raw_events", "revision")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the sources and install it into a new venv."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([UV, "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((work / "dist").glob("vendor_taps-*.whl"))
    venv = work / "venv"
    subprocess.run([UV, "venv", "--python", sys.executable, str(venv)], check=True,
                   capture_output=True, timeout=120)
    subprocess.run([UV, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    return venv


@pytest.mark.parametrize("tap", TAPS)
def test_discover_from_the_wheel_has_every_schema(installed: Path, tmp_path: Path,
                                                  tap: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(DISCOVER_CONFIG.get(tap, {})))
    result = subprocess.run([str(installed / "bin" / tap), "--config", str(config),
                             "--discover"], capture_output=True, text=True, check=True,
                            timeout=120, cwd=tmp_path)
    streams = {s["tap_stream_id"]: s for s in json.loads(result.stdout)["streams"]}
    vendor = tap.removeprefix("tap-")
    files = {p.stem for p in (ROOT / "schemas" / vendor).glob("*.json")}
    assert set(streams) == files | CODE_SCHEMAS.get(tap, set())
    stream, prop = SAMPLE_PROPERTY[tap]
    assert streams[stream]["schema"]["properties"][prop]


def test_emulator_script_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(installed / "bin" / "tap-emulator"), "--help"],
                            capture_output=True, text=True, check=True, timeout=60)
    assert "--faults" in result.stdout
    files = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import taps, pathlib; print(pathlib.Path(taps.__file__).parent)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert "site-packages" in files  # the wheel, not this checkout
