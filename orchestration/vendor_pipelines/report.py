"""What the Dagster instance recorded about recent partition runs, as JSON.

``DAGSTER_HOME=... .venv-dagster/bin/python -m vendor_pipelines.report [--limit N]`` (from
``orchestration/``) prints one object per run, newest first: asset, partition, status,
retries, the failure description and the materialisation's metadata (rows per stream).
"""

import argparse
import json
import typing as t

import dagster as dg


def _metadata(metadata: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def run_report(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, t.Any]:
    """One run: its partition, outcome, retries and metadata."""
    report: dict[str, t.Any] = {
        "run_id": run.run_id, "job": run.job_name, "status": run.status.value,
        "partition": run.tags.get("dagster/partition"),
        "assets": sorted(key.to_user_string() for key in run.asset_selection or ()),
        "retries": 0, "failures": [], "materializations": [],
    }
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            report["retries"] += 1
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            user = data.user_failure_data if data else None
            report["failures"].append({
                "description": user.description if user else None,
                "error": data.error.message.strip() if data and data.error else None,
                "metadata": _metadata(user.metadata) if user else {}})
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            report["materializations"].append({
                "asset": materialization.asset_key.to_user_string(),
                "partition": materialization.partition,
                "metadata": _metadata(materialization.metadata)})
    stats = instance.get_run_stats(run.run_id)
    if stats.start_time and stats.end_time:
        report["seconds"] = round(stats.end_time - stats.start_time, 1)
    if not report["assets"]:  # a job run (schedules): the assets it materialised
        report["assets"] = sorted({m["asset"] for m in report["materializations"]})
    return report


def main() -> None:
    """Print the newest runs of the instance in ``DAGSTER_HOME``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=args.limit)
        print(json.dumps([run_report(instance, run) for run in runs], indent=1, default=str))


if __name__ == "__main__":
    main()
