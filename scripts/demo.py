"""The README's first command: every available tap, from its emulator into DuckDB, twice.

Run 1 is a full sync; then the emulators change some data (``/mutate``) and run 2 shows
what an incremental run moves. Every process started here is stopped, even on failure.

The demo is configured only by meltano.yml's ``demo`` environment and the emulators: the
project's ``.env`` and the shell's ``TAP_*``, ``TARGET_*`` and ``MELTANO_*`` variables are
ignored (see ``meltano_warehouse.meltano``), so a ``.env`` made for production changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_warehouse import ROOT, duckdb_query, duckdb_tables, meltano, tap_env

from emulators.process import EmulatorProcess

#: (vendor, tap, emulator arguments) for every tap that exists so far; the vendor is also the
#: extractor's load_schema, the DuckDB schema its tables land in.
TAPS = [("amperity", "tap-amperity", ["--seed", "7", "--scale", "500"]),
        ("adnuntius", "tap-adnuntius", ["--seed", "7", "--scale", "500"]),
        # IQM allows 20 requests/minute; its emulator here allows 600 and the demo
        # environment sets max_requests_per_minute: 600, so the demo takes seconds.
        ("iqm", "tap-iqm", ["--seed", "7", "--scale", "500", "--rate-limit", "600/60"]),
        ("kissmetrics", "tap-kissmetrics", ["--seed", "7", "--scale", "500",
                                            "--query-polls", "1"])]
#: As the demo environment in meltano.yml sets it (relative to the project root).
DATABASE_PATH = Path("output") / "demo.duckdb"
SYSTEM_DB_PATH = Path("output") / "demo-meltano.db"
DATABASE = ROOT / DATABASE_PATH
SYSTEM_DB = ROOT / SYSTEM_DB_PATH
MUTATIONS = 5
#: What run 2 moves, per vendor.
INCREMENTAL_NOTES = {
    "amperity": (
        "Incremental streams (audit_events, workflow_runs, ingest_jobs) load only what changed "
        "since their bookmark (workflow_runs and ingest_jobs also re-read a look-back window); "
        "profiles are re-read only for the index rebuilt since the last run "
        "(profiles_changed_indexes_only in the demo environment); campaigns, campaign_drafts "
        "and segments have no change timestamp in the API and are re-read in full."),
    "adnuntius": (
        "The list streams read every object again (the API documents no modified-since "
        "filter; server_side_update_filter is off) but load only those whose updateTime is not "
        "before the bookmark: the touched and the added ones (deletions arrive as HIDDEN), plus "
        "the boundary object at most; line_item_daily_stats re-reads today and the "
        "stats_lookback_days (3) before it."),
    "iqm": (
        "The six lists are full table (IQM documents no modified-since filter): every object "
        "is loaded again, the renamed and added ones included; campaign_daily_report re-reads "
        "today and the report_lookback_days (3) before it. Run at 600 requests/minute against "
        "the emulator (--rate-limit 600/60); IQM's own limit is 20/minute, 3 s per request."),
    "kissmetrics": (
        "Core lists are full table; raw_events reads only the export revisions after its "
        "bookmark (the added ones, plus the last one read again); report_results re-runs each "
        "people_search_v2 report from its bookmark (today's local day) and new reports from "
        "start_date, and people_search_v3 reports once (they ignore the window)."),
}


#: dbt (transform/) builds its staging views in this schema of the demo's DuckDB file.
STAGING_SCHEMA = "staging"
DBT_TARGET_PATH = ROOT / "transform" / "target"


def dbt_build(utility: str, env: dict[str, str], *args: str,
              target_path: Path = DBT_TARGET_PATH) -> dict[str, int]:
    """Run ``meltano invoke <utility> build [args]``; how many models and tests ran.

    Raises ``RuntimeError`` (with dbt's log tail) when a model or a test fails.
    """
    meltano("invoke", utility, "build", *args,
            env={"DBT_TARGET_PATH": str(target_path), **env})
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    kinds = [result["unique_id"].split(".")[0] for result in results]
    return {"models": kinds.count("model"), "tests": kinds.count("test")}


def staging_counts(database: Path, schema: str = STAGING_SCHEMA) -> dict[str, int]:
    """Rows per staging view."""
    views = [row[0] for row in duckdb_query(
        database, "select table_name from information_schema.tables "  # noqa: S608
                  f"where table_schema = '{schema}' order by 1")]
    counts = " union all ".join(f"select '{view}', count(*) from {schema}.{view}"  # noqa: S608
                                for view in views)
    return dict(duckdb_query(database, counts)) if views else {}


def build_staging(expected: dict[str, dict[str, int]]) -> list[str]:
    """Build the staging views on the demo's DuckDB file and print their rows.

    Returns the views that disagree with the emulators (one row per primary key).
    """
    env = {"DBT_TARGET": "duckdb", "DBT_DUCKDB_PATH": str(DATABASE),
           "DBT_DUCKDB_SCHEMA": STAGING_SCHEMA,
           "MELTANO_DATABASE_URI": f"sqlite:///{SYSTEM_DB}"}
    started = time.monotonic()
    try:
        ran = dbt_build("dbt-duckdb", env)
    except RuntimeError as exc:
        print(f"\ndbt build failed:\n{exc}")
        return ["dbt build"]
    print(f"\nmeltano invoke dbt-duckdb build: {ran['models']} staging models and "
          f"{ran['tests']} tests passed in {time.monotonic() - started:.1f} s "
          f"(transform/, schema {STAGING_SCHEMA}: typed, deduplicated on the primary key)")
    counts = staging_counts(DATABASE)
    print(f"{'staging view':<40} {'rows':>8} {'emulator says':>14}")
    mismatches = []
    for vendor, streams in expected.items():
        for stream, want in streams.items():
            view = f"stg_{vendor}__{stream}"
            print(f"  {view:<38} {counts.get(view, '-'):>8} {want:>14}")
            if counts.get(view) != want:
                mismatches.append(f"{STAGING_SCHEMA}.{view}")
    return mismatches


def utc_now() -> str:
    """Now, as DuckDB reads a naive UTC timestamp."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def run_all(emulators: dict[str, EmulatorProcess], root: Path = ROOT) -> float:
    """One ``meltano run`` per tap in the project at ``root``; seconds taken."""
    started = time.monotonic()
    for vendor, tap, _ in TAPS:
        env = {**tap_env(tap, emulators[vendor].tap_config),
               "MELTANO_DATABASE_URI": f"sqlite:///{root / SYSTEM_DB_PATH}"}
        meltano("--environment=demo", "run", tap, "target-duckdb", env=env, root=root)
    return time.monotonic() - started


def print_tables(tables: dict[str, dict[str, dict[str, int]]],
                 expected: dict[str, dict[str, int]], *, incremental: bool) -> list[str]:
    """Rows per table next to the emulator's counts; the tables that disagree."""
    mismatches = []
    for vendor, schema_tables in tables.items():
        if incremental:
            print(f"{vendor + '.':<24} {'rows now':>8} {'emulator says':>14} "
                  f"{'loaded by run 2':>16}")
        else:
            print(f"{vendor + '.':<24} {'rows':>8} {'emulator says':>14}")
        for table, info in schema_tables.items():
            want = expected[vendor].get(table)
            line = f"  {table:<22} {info['rows']:>8} {want if want is not None else '?':>14}"
            if incremental:
                line += f" {info['loaded_since']:>16}"
            print(line)
            if info["rows"] != want:
                mismatches.append(f"{vendor}.{table}")
        missing = set(expected[vendor]) - set(schema_tables)
        mismatches += [f"{vendor}.{table}" for table in sorted(missing)]
    return mismatches


def main() -> int:
    """Run the demo and print the tables."""
    DATABASE.parent.mkdir(exist_ok=True)
    for path in (DATABASE, SYSTEM_DB):
        path.unlink(missing_ok=True)
    began = time.monotonic()
    vendors = [vendor for vendor, _, _ in TAPS]
    with ExitStack() as stack:
        emulators = {vendor: stack.enter_context(EmulatorProcess(vendor, *args))
                     for vendor, _, args in TAPS}
        print(f"emulators: {', '.join(f'{v} at {e.base_url}' for v, e in emulators.items())}")
        print("configuration: meltano.yml's demo environment and the emulators only "
              "(.env and TAP_*/TARGET_*/MELTANO_* variables are ignored)")
        print("IQM: the emulator allows 600 requests/minute (--rate-limit 600/60) and the demo "
              "environment sets max_requests_per_minute: 600; the real IQM allows 20/minute")
        first_seconds = run_all(emulators)
        expected = {vendor: emulators[vendor].counts() for vendor in vendors}
        first = {vendor: duckdb_tables(DATABASE, vendor) for vendor in vendors}
        print(f"\nrun 1 (full sync) took {first_seconds:.1f} s -> {DATABASE.relative_to(ROOT)}")
        mismatches = print_tables(first, expected, incremental=False)

        for emulator in emulators.values():
            emulator.mutate(MUTATIONS)
        since = utc_now()
        second_seconds = run_all(emulators)
        expected = {vendor: emulators[vendor].counts() for vendor in vendors}
        second = {vendor: duckdb_tables(DATABASE, vendor, since=since) for vendor in vendors}
        print(f"\n/mutate changed {MUTATIONS} and added {MUTATIONS} records per resource; "
              f"run 2 (incremental) took {second_seconds:.1f} s")
        mismatches += print_tables(second, expected, incremental=True)
    print()
    for vendor in vendors:
        print(f"{vendor}: {INCREMENTAL_NOTES[vendor]}")
    mismatches += build_staging(expected)
    print(f"demo finished in {time.monotonic() - began:.1f} s; emulators stopped")
    if mismatches:
        print(f"MISMATCH in {', '.join(sorted(set(mismatches)))}")
        return 1
    print("every table holds exactly what the emulators say, after both runs, and so does "
          "every staging view")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
