"""row_normaliser: the per-row shortcut of ``normalise`` gives the same rows, keys in order."""

from __future__ import annotations

import copy
import json
import random
import typing as t
from pathlib import Path

import pytest

from taps.iqm.client import normalise, row_normaliser
from taps.iqm.reports import default_report

SCHEMAS = {path.stem: json.loads(path.read_text())
           for path in (Path(__file__).resolve().parent.parent / "schemas" / "iqm").glob("*.json")}
SCHEMAS["campaign_daily_report"] = default_report("UTC").schema()


def _value(spec: dict, rng: random.Random, depth: int = 0) -> t.Any:
    kinds = spec.get("type") or []
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if rng.random() < 0.1:
        return None
    if spec.get("format") == "date-time":
        return rng.choice([1700000000, 1700000000123, "2026-01-02T03:04:05Z", "garbage",
                           "2026-01-02 03:04:05"])
    if "integer" in kinds:
        return rng.choice(["123", "-5", 7, "x1", 3.5])
    if "object" in kinds and "properties" in spec and depth < 3:
        value = {k: _value(v, rng, depth + 1) for k, v in spec["properties"].items()
                 if rng.random() < 0.8}
        return {**value, "extra": 1} if rng.random() < 0.3 else value
    if "array" in kinds and isinstance(spec.get("items"), dict) and depth < 3:
        return [_value(spec["items"], rng, depth + 1) for _ in range(rng.randrange(3))]
    return rng.choice(["s", 1, 2.5, True, {"a": 1}])


@pytest.mark.parametrize("stream", sorted(SCHEMAS))
def test_row_normaliser_equals_normalise(stream: str) -> None:
    schema, rng = SCHEMAS[stream], random.Random(stream)
    shortcut = row_normaliser(schema)
    for _ in range(2000):
        row = {k: _value(v, rng) for k, v in schema["properties"].items() if rng.random() < 0.9}
        if rng.random() < 0.3:
            row["not_in_schema"] = "kept"
        expected, got = normalise(copy.deepcopy(row), schema), shortcut(copy.deepcopy(row))
        assert got == expected
        assert list(got) == list(expected)
