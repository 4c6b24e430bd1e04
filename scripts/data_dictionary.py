"""Generate docs/dictionary/<tap>.md (every stream and field) from each tap's discovery.

.venv/bin/python scripts/data_dictionary.py          # rewrite docs/dictionary/
.venv/bin/python scripts/data_dictionary.py --check  # exit 1 naming every stale page

The catalog is the one ``<tap> --discover`` prints (built in-process, so that each stream's
class docstring can describe a stream whose schema has no description), with the optional
streams switched on. Other tools may import ``tap_streams`` for the same facts as data.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generated_blocks import TAPS  # noqa: E402

from taps.iqm import metadata as md  # noqa: E402

OUT = ROOT / "docs" / "dictionary"
SCHEMAS = ROOT / "schemas"
COMMAND = ".venv/bin/python scripts/data_dictionary.py"


@dataclass(frozen=True)
class TapSource:
    """Where a tap's class lives and the settings that switch on its optional streams."""

    module: str
    class_name: str
    vendor: str
    #: Settings given to discovery so that optional streams appear, with why.
    optional: t.Mapping[str, tuple[str, t.Any]]


#: stream -> (setting, value) that makes it appear, per tap; discovery runs with all of them.
SOURCES: dict[str, TapSource] = {
    "tap-amperity": TapSource("taps.amperity.tap", "TapAmperity", "amperity",
                              {"campaign_drafts": ("include_campaign_drafts", True)}),
    "tap-adnuntius": TapSource("taps.adnuntius.tap", "TapAdnuntius", "adnuntius", {}),
    "tap-iqm": TapSource("taps.iqm.tap", "TapIQM", "iqm", {}),
    "tap-kissmetrics": TapSource("taps.kissmetrics.tap", "TapKissmetrics", "kissmetrics",
                                 {"raw_events": ("export_bucket", "example-export-bucket")}),
}

#: Streams whose schema is (partly) built at discovery from settings: what depends on what.
CONFIGURED: dict[tuple[str, str], str] = {
    ("tap-iqm", "campaign_daily_report"): (
        "The fields below are those of the default report (dimension `campaign`, the "
        "documented metrics, daily). Each entry of the `reports` setting adds one more "
        "stream like it whose fields depend on its dimensions and columns: see "
        "[Configured reports](#configured-reports)."),
    ("tap-kissmetrics", "report_results"): (
        "The columns of a people-search report depend on the report. Catalog fields "
        "`column_1` .. `column_20` stand for unnamed columns in report order; "
        "`report_columns` names them instead (each name becomes a field), and further "
        "columns pass through (`additionalProperties`)."),
}


@dataclass(frozen=True)
class FieldEntry:
    """One field of a stream: ``parent.child`` for nested objects, ``[]`` for arrays."""

    name: str
    types: tuple[str, ...]
    format: str | None
    nullable: bool
    description: str

    @property
    def type_text(self) -> str:
        """``string (date-time)``, ``array of integer``, ``boolean, number, string``."""
        text = ", ".join(self.types) or "any"
        return f"{text} ({self.format})" if self.format else text


@dataclass(frozen=True)
class StreamEntry:
    """One stream as its catalog entry and class describe it."""

    name: str
    description: str
    key_properties: tuple[str, ...]
    replication_method: str
    replication_key: str | None
    parent: str | None
    only_with: str | None
    configured: str | None
    fields: tuple[FieldEntry, ...]


def _types(schema: t.Mapping[str, t.Any]) -> tuple[tuple[str, ...], bool]:
    """The non-null JSON types of a property and whether null is allowed."""
    raw = schema.get("type", [])
    listed = [raw] if isinstance(raw, str) else list(raw)
    return tuple(x for x in listed if x != "null"), "null" in listed or not listed


def _type_names(schema: t.Mapping[str, t.Any]) -> tuple[tuple[str, ...], str | None, bool]:
    """Types (arrays as ``array of <items>``), format and nullability of one property."""
    types, nullable = _types(schema)
    fmt = schema.get("format")
    if "array" in types:
        items = schema.get("items") or {}
        item_types, _ = _types(items)
        inner = ", ".join(item_types) or "any"
        if items.get("format"):
            inner += f" ({items['format']})"
        types = tuple(f"array of {inner}" if x == "array" else x for x in types)
    return types, fmt, nullable


def flatten_fields(properties: t.Mapping[str, t.Any], prefix: str = "") -> list[FieldEntry]:
    """Every property, nested object and array-of-object fields included, in schema order."""
    fields: list[FieldEntry] = []
    for name, schema in properties.items():
        types, fmt, nullable = _type_names(schema)
        full = f"{prefix}{name}"
        fields.append(FieldEntry(full, types, fmt, nullable,
                                 " ".join(str(schema.get("description", "")).split())))
        if isinstance(schema.get("properties"), dict):
            fields += flatten_fields(schema["properties"], f"{full}.")
        items = schema.get("items")
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):
            fields += flatten_fields(items["properties"], f"{full}[].")
    return fields


def docstring_text(doc: str | None) -> str:
    """A class docstring as Markdown paragraphs (reST ````x```` becomes ```x```)."""
    paragraphs = re.split(r"\n\s*\n", (doc or "").strip())
    text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return text.replace("``", "`")


def _root_metadata(entry: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return next((m["metadata"] for m in entry.get("metadata", []) if m["breadcrumb"] == []), {})


def _schema_file(vendor: str, stream: str) -> dict[str, t.Any] | None:
    path = SCHEMAS / vendor / f"{stream}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _switch(setting: str, value: t.Any) -> str:
    """``include_x: true`` for a flag, ``export_bucket`` set for any other setting."""
    return f"`{setting}: {json.dumps(value)}`" if isinstance(value, bool) else f"`{setting}` set"


def _discover(tap: str) -> t.Any:
    """The tap instance, discovered with every optional stream switched on."""
    source = SOURCES[tap]
    tap_class = getattr(importlib.import_module(source.module), source.class_name)
    config = dict(source.optional.values())
    return tap_class(config=config, parse_env_config=False)


def tap_streams(tap: str) -> list[StreamEntry]:
    """Every stream of ``tap``'s catalog, sorted by name."""
    source = SOURCES[tap]
    instance = _discover(tap)
    entries = []
    for entry in sorted(instance.catalog_dict["streams"], key=lambda s: s["tap_stream_id"]):
        name = entry["tap_stream_id"]
        stream = instance.streams[name]
        schema = entry["schema"]
        shipped = _schema_file(source.vendor, name)
        runtime_fields = shipped is None or set(schema["properties"]) - set(
            shipped.get("properties", {}))
        if runtime_fields and (tap, name) not in CONFIGURED:
            msg = f"{tap} {name}: schema built at run time; add a note to CONFIGURED"
            raise SystemExit(msg)
        metadata = _root_metadata(entry)
        parent = getattr(stream, "parent_stream_type", None)
        setting = source.optional.get(name)
        entries.append(StreamEntry(
            name=name,
            description=" ".join(str(schema.get("description", "")).split())
            or docstring_text(type(stream).__doc__),
            key_properties=tuple(entry.get("key_properties") or ()),
            replication_method=str(entry.get("replication_method") or "FULL_TABLE"),
            replication_key=entry.get("replication_key") or metadata.get("replication-key"),
            parent=parent.name if parent else None,
            only_with=_switch(*setting) if setting else None,
            configured=CONFIGURED.get((tap, name)),
            fields=tuple(flatten_fields(schema["properties"])),
        ))
    return entries


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "—"


def _code(names: t.Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


def _replication(stream: StreamEntry) -> str:
    if stream.replication_key:
        return f"{stream.replication_method.lower()} on `{stream.replication_key}`"
    return stream.replication_method.lower().replace("_", " ")


def iqm_configured_reports() -> str:
    """How a configured IQM report's fields are formed, from the metadata the tap ships."""
    lines = [
        "## Configured reports", "",
        "Each entry of tap-iqm's `reports` setting (`name`, `dimensions`, `columns`, "
        "`request_type`, `timezone`) is one more stream named `name`, incremental on `date`, "
        "whose primary key is `date` plus the id fields of its dimensions. Its fields are "
        "`date` (string, date), `dateRange` (string; weekly and monthly reports only), the "
        "fields of each dimension below, one field per column (typed as below; other keys "
        "are boolean, number or string), all nullable. Keys not listed here are checked "
        "against IQM's live list at sync time.", "",
        "| dimension | id fields (primary key) | fields |", "|---|---|---|",
    ]
    for dim, (ids, fields) in md.DIMENSIONS.items():
        typed = ", ".join(f"`{f}` ({'boolean, number, string' if k == md.ANY else k})"
                          for f, k in fields.items())
        lines.append(f"| `{dim}` | {_code(ids)} | {typed} |")
    lines += ["", "| column type | columns |", "|---|---|"]
    for kind in sorted(set(md.METRICS.values())):
        lines.append(f"| {kind} | {_code(k for k, v in md.METRICS.items() if v == kind)} |")
    request_types = ", ".join(f"{k} {v}" for k, v in md.REQUEST_TYPES.items())
    lines += ["", f"`request_type`: {request_types}."]
    return "\n".join(lines) + "\n"


#: Extra sections at the end of a tap's page.
APPENDICES: dict[str, t.Callable[[], str]] = {"tap-iqm": iqm_configured_reports}


def render_stream(stream: StreamEntry) -> str:
    """One stream's section: description, keys, replication, then its field table."""
    lines = [f"## `{stream.name}`", "", stream.description, ""]
    facts = [("Primary key", _code(stream.key_properties)),
             ("Replication", _replication(stream))]
    if stream.parent:
        facts.append(("Parent stream", f"`{stream.parent}` (one partition per parent record)"))
    if stream.only_with:
        facts.append(("Only with", stream.only_with))
    lines += [f"- **{label}:** {value}" for label, value in facts]
    if stream.configured:
        lines += ["", f"**Fields depend on configuration.** {stream.configured}"]
    lines += ["", "| field | type | nullable | description |", "|---|---|---|---|"]
    lines += [f"| `{f.name}` | {_cell(f.type_text)} | {'yes' if f.nullable else 'no'} | "
              f"{_cell(f.description)} |" for f in stream.fields]
    return "\n".join(lines) + "\n"


def render_page(tap: str, streams: list[StreamEntry]) -> str:
    """The whole page of one tap."""
    lines = [
        f"# {tap} data dictionary", "",
        f"<!-- Generated by scripts/data_dictionary.py from `{tap} --discover`: do not edit; "
        f"run {COMMAND}. -->", "",
        f"Every stream of `{tap}` and every field of its schema, as its Singer catalog "
        "declares them. Nested object fields are written `parent.child`, fields of objects "
        "inside arrays `parent[].child`.", "",
        "| stream | primary key | replication | fields |", "|---|---|---|---|",
    ]
    lines += [f"| [`{s.name}`](#{s.name}) | {_code(s.key_properties)} | {_replication(s)} | "
              f"{len(s.fields)} |" for s in streams]
    body = "\n".join(lines) + "\n"
    sections = [render_stream(s) for s in streams]
    if tap in APPENDICES:
        sections.append(APPENDICES[tap]())
    return "\n".join([body, *sections])


def render_index(counts: dict[str, tuple[int, int]]) -> str:
    """docs/dictionary/README.md: one line per tap."""
    lines = [
        "# Data dictionary", "",
        f"<!-- Generated by scripts/data_dictionary.py: do not edit; run {COMMAND}. -->", "",
        "One page per tap, generated from its discovery catalog (stream descriptions, "
        "primary and replication keys, every field with its type, nullability and "
        "description). `--check` fails when a schema changed without regenerating.", "",
        "| tap | streams | fields |", "|---|---:|---:|",
    ]
    lines += [f"| [{tap}]({tap}.md) | {n} | {f} |" for tap, (n, f) in counts.items()]
    return "\n".join(lines) + "\n"


def pages() -> dict[Path, str]:
    """Every generated file and its fresh text."""
    logging.disable(logging.INFO)
    out: dict[Path, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    for tap in TAPS:
        streams = tap_streams(tap)
        out[OUT / f"{tap}.md"] = render_page(tap, streams)
        counts[tap] = (len(streams), sum(len(s.fields) for s in streams))
    out[OUT / "README.md"] = render_index(counts)
    return out


def main(argv: list[str]) -> int:
    """Rewrite the pages, or with --check name each stale one and exit 1."""
    fresh = pages()
    if "--check" in argv:
        stale = [p for p, text in fresh.items()
                 if not p.exists() or p.read_text() != text]
        for path in stale:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"{shown} is out of step with the schemas: run {COMMAND}")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in fresh.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
