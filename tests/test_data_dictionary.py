"""docs/dictionary/ stays in step with the taps' catalogs and documents every stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import data_dictionary  # noqa: E402
from generated_blocks import TAPS  # noqa: E402


def test_pages_match_the_schemas() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "data_dictionary.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tap", TAPS)
def test_every_catalog_stream_and_field_is_on_its_page(tap: str, tmp_path: Path) -> None:
    """The console script's own --discover (optional streams on), read against the page."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(dict(data_dictionary.SOURCES[tap].optional.values())))
    catalog = json.loads(subprocess.run(
        [str(Path(sys.executable).parent / tap), "--discover", "--config", str(config)],
        capture_output=True, text=True, check=True).stdout)
    page = (ROOT / "docs" / "dictionary" / f"{tap}.md").read_text()
    sections = {part.split("`", 1)[0]: part for part in page.split("\n## `")[1:]}
    assert catalog["streams"]
    for stream in catalog["streams"]:
        name = stream["tap_stream_id"]
        assert name in sections, f"{name} missing from docs/dictionary/{tap}.md"
        for field in stream["schema"]["properties"]:
            assert f"\n| `{field}` |" in sections[name], f"{name}.{field}"
    index = (ROOT / "docs" / "dictionary" / "README.md").read_text()
    assert f"| [{tap}]({tap}.md) | {len(catalog['streams'])} |" in index


def test_check_names_the_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(data_dictionary, "OUT", tmp_path)
    assert data_dictionary.main([]) == 0
    assert data_dictionary.main(["--check"]) == 0
    page = tmp_path / "tap-iqm.md"
    page.write_text(page.read_text().replace("| `campaignId` | integer |", "| `campaignId` | string |"))
    capsys.readouterr()
    assert data_dictionary.main(["--check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{page} is out of step with the schemas: run {data_dictionary.COMMAND}"]


def test_nested_and_array_fields_are_flattened() -> None:
    schema = {
        "id": {"type": "string", "description": "Key."},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "ref": {"type": ["object", "null"], "properties": {"id": {"type": ["integer"]}}},
        "tags": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
        "warnings": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": ["string", "null"], "description": "A | B"}}}},
        "value": {"description": "Anything."},
    }
    rows = [(f.name, f.type_text, f.nullable, f.description)
            for f in data_dictionary.flatten_fields(schema)]
    assert rows == [
        ("id", "string", False, "Key."),
        ("at", "string (date-time)", True, ""),
        ("ref", "object", True, ""),
        ("ref.id", "integer", False, ""),
        ("tags", "array of string", True, ""),
        ("warnings", "array of object", False, ""),
        ("warnings[].code", "string", True, "A | B"),
        ("value", "any", True, "Anything."),
    ]
