"""Regenerate each tap's ``settings:`` in meltano.yml from ``--about --format=json``.

.venv/bin/python scripts/meltano_settings.py          # rewrite meltano.yml
.venv/bin/python scripts/meltano_settings.py --check  # exit 1 if meltano.yml is stale

Every setting the tap accepts is declared, the SDK's built-in ones included (so that their
``TAP_<NAME>_*`` variables reach the tap), with its kind, its default as ``value`` and
``sensitive`` for secrets, the way a Meltano Hub definition does. Limits (``minimum``,
``maximum``) are taken from the config schema, never written by hand.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from generated_blocks import TAPS, about, replace_between, rewrite_or_check

ROOT = Path(__file__).resolve().parent.parent
MELTANO_YML = ROOT / "meltano.yml"
INDENT = " " * 8
ACRONYMS = {"api": "API", "url": "URL", "id": "ID", "ssl": "SSL", "ms": "ms"}
KINDS = {"string": "string", "integer": "integer", "boolean": "boolean", "object": "object",
         "array": "array", "number": "decimal"}


def about_json(tap: str) -> dict[str, t.Any]:
    """The tap's ``--about`` JSON."""
    return json.loads(about(tap, "json"))


def kind(schema: dict[str, t.Any]) -> str:
    """Meltano's setting kind for one JSON Schema property."""
    if schema.get("format") == "date-time":
        return "date_iso8601"
    types = schema.get("type", "string")
    types = [x for x in (types if isinstance(types, list) else [types]) if x != "null"]
    return KINDS[types[0]] if types else "object"


def label(name: str, schema: dict[str, t.Any]) -> str:
    """The schema's title, else the name in words."""
    return schema.get("title") or " ".join(ACRONYMS.get(w, w.capitalize())
                                           for w in name.split("_"))


def description(schema: dict[str, t.Any]) -> str:
    """The schema's description, with its limits."""
    text = " ".join(str(schema.get("description", "")).split())
    return f"{text} {limits(schema)}".strip()


def limits(schema: dict[str, t.Any]) -> str:
    """``minimum`` and ``maximum`` in words ("" without them)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"From {low} to {high}."
    if low is not None:
        return f"At least {low}."
    return f"At most {high}." if high is not None else ""


def setting(name: str, schema: dict[str, t.Any]) -> list[str]:
    """One ``settings:`` entry as YAML lines (JSON scalars are valid YAML)."""
    lines = [f"- name: {name}",
             f"  kind: {kind(schema)}",
             f"  label: {json.dumps(label(name, schema))}",
             f"  description: {json.dumps(description(schema))}"]
    if "default" in schema:
        lines.append(f"  value: {json.dumps(schema['default'])}")
    if schema.get("secret"):
        lines.append("  sensitive: true")
    return [INDENT + line for line in lines]


def settings_block(tap: str) -> str:
    """Every setting of the tap, in ``--about`` order."""
    properties = about_json(tap)["settings"]["properties"]
    return "\n".join(line for name, schema in properties.items()
                     for line in setting(name, schema))


def render(text: str) -> str:
    """meltano.yml text with every tap's settings between its markers regenerated."""
    for tap in TAPS:
        text = replace_between(
            text, f"{INDENT}# settings:{tap}:begin (scripts/meltano_settings.py)",
            f"{INDENT}# settings:{tap}:end", settings_block(tap), where="meltano.yml")
    return text


if __name__ == "__main__":
    raise SystemExit(rewrite_or_check(MELTANO_YML, render, "scripts/meltano_settings.py"))
