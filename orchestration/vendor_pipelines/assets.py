"""Dagster definitions: one asset per tap x target pipeline, partitioned by tenant.

A partition's materialisation is one ``meltano run tap-<vendor>--<tenant> <target>``
(see ``meltano_run``), in the tenant's scoped environment (see ``tenants.scoped_env``).
meltano.yml's ``schedules:`` become Dagster schedules that request every tenant partition.
"""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import json
import os
import sys
import typing as t
from pathlib import Path

import dagster as dg
import yaml

from vendor_pipelines.meltano_run import run_meltano
from vendor_pipelines.tenants import (
    REPO_ROOT,
    Pipeline,
    TenantsConfig,
    load_tenants,
    scoped_env,
    tenant_settings,
)

#: Meltano's intervals that are not cron expressions (``@once`` and ``@manual`` schedule
#: nothing).
INTERVALS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
             "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
TAG_PREFIX = "vendor_pipelines"
#: dagster.yaml limits runs per value of this tag to one: tenants that share a vendor
#: account (and so its rate limit) never run at once.
ACCOUNT_TAG = f"{TAG_PREFIX}/account"
STATE_ID_TAG = f"{TAG_PREFIX}/state_id"
#: For limits per vendor (``{key: vendor_pipelines/vendor, value: iqm, limit: 2}``).
VENDOR_TAG = f"{TAG_PREFIX}/vendor"
#: Secret values shorter than this are not masked in echoed lines (they would mask words).
MIN_MASKED_LENGTH = 4


def project_root() -> Path:
    """The Meltano project: ``MELTANO_PROJECT_ROOT``, else this repository."""
    return Path(os.environ.get("MELTANO_PROJECT_ROOT") or REPO_ROOT).resolve()


def meltano_environment(config: TenantsConfig) -> str:
    """``MELTANO_ENVIRONMENT``, else tenants.yml's ``environment``."""
    return os.environ.get("MELTANO_ENVIRONMENT") or config.environment


def run_tags(pipeline: Pipeline, tenant_name: str, environment: str) -> dict[str, str]:
    """Tags of a scheduled or job run of one partition (the run coordinator reads them)."""
    tenant = pipeline.tenants[tenant_name]
    return {ACCOUNT_TAG: f"{pipeline.vendor}:{tenant.account}",
            STATE_ID_TAG: tenant.state_id(environment), VENDOR_TAG: pipeline.vendor}


def _masker(secrets: t.Iterable[str]) -> t.Callable[[str], str]:
    values = sorted({s for s in secrets if len(s) >= MIN_MASKED_LENGTH}, key=len, reverse=True)

    def mask(text: str) -> str:
        for value in values:
            text = text.replace(value, "****")
        return text
    return mask


def pipeline_asset(pipeline: Pipeline, config: TenantsConfig,
                   root: Path) -> dg.AssetsDefinition:
    """The asset of one pipeline; its partitions are the pipeline's tenants."""
    partitions = dg.StaticPartitionsDefinition(sorted(pipeline.tenants))
    retry = dg.RetryPolicy(max_retries=config.max_retries,
                           delay=config.retry_delay_seconds, backoff=dg.Backoff.EXPONENTIAL)

    @dg.asset(name=pipeline.asset_name, partitions_def=partitions, retry_policy=retry,
              group_name="meltano", kinds={"meltano", pipeline.target.removeprefix("target-")},
              description=(f"`meltano run {pipeline.tap}--<tenant> {pipeline.target}`: each "
                           "tenant into its own schema, with its own Meltano state."))
    def materialize(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        tenant = pipeline.tenants[context.partition_key]
        environment = meltano_environment(config)
        settings = tenant_settings(tenant, os.environ, root)
        mask = _masker(value for name, value in settings.items() if name in tenant.sensitive)

        def echo(line: str) -> None:
            sys.stderr.write(mask(line) + "\n")  # captured in the step's compute log

        context.log.info(f"meltano run {tenant.plugin} {tenant.target} "
                         f"(state {tenant.state_id(environment)}, schema {tenant.schema})")
        outcome = run_meltano(tenant, environment, scoped_env(tenant, os.environ, root),
                              root, echo)
        metadata: dict[str, t.Any] = {
            "tenant": tenant.name, "schema": tenant.schema,
            "state_id": tenant.state_id(environment), "meltano_exit_code": outcome.returncode,
        }
        if outcome.error:
            tail = mask("\n".join(outcome.tail))
            raise dg.Failure(description=mask(outcome.error),
                             metadata={**metadata, "log_tail": dg.MetadataValue.text(tail)},
                             # Retrying would only race the run that holds the pipeline.
                             allow_retries=not outcome.already_running)
        return dg.MaterializeResult(metadata={
            **metadata,
            "records_extracted": dg.MetadataValue.json(dict(sorted(outcome.extracted.items()))),
            "records_loaded": dg.MetadataValue.json(dict(sorted(outcome.loaded.items()))),
            "dagster/row_count": sum(outcome.loaded.values()),
        })

    return materialize


def _pipelines_of_job(job: dict[str, t.Any]) -> list[tuple[str, str]]:
    """(extractor, loader) pairs of a Meltano job's tasks (``"tap-x target-y"``)."""
    tasks = job.get("tasks") or []
    tasks = [tasks] if isinstance(tasks, str) else tasks
    pairs = []
    for task in tasks:
        words = task.split() if isinstance(task, str) else list(task)
        pairs += [(words[i], words[i + 1]) for i in range(len(words) - 1)
                  if words[i].startswith("tap-") and words[i + 1].startswith("target-")]
    return pairs


def meltano_schedules(root: Path) -> list[dict[str, t.Any]]:
    """meltano.yml's schedules, each with the (extractor, loader) pairs it runs."""
    project = yaml.safe_load((root / "meltano.yml").read_text())
    jobs = {job["name"]: job for job in project.get("jobs") or []}
    schedules = []
    for schedule in project.get("schedules") or []:
        if "job" in schedule:
            pairs = _pipelines_of_job(jobs.get(schedule["job"], {}))
        else:  # the older extractor/loader form
            pairs = [(schedule.get("extractor"), schedule.get("loader"))]
        schedules.append({**schedule, "pipelines": pairs})
    return schedules


def tenant_schedule(meltano_schedule: dict[str, t.Any], pipeline: Pipeline,
                    job: t.Any,
                    config: TenantsConfig) -> dg.ScheduleDefinition | None:
    """A Dagster schedule for a Meltano schedule: one run request per tenant per tick."""
    interval = str(meltano_schedule.get("interval", "")).strip()
    if interval in {"", "@once", "@manual"}:
        return None
    cron = INTERVALS.get(interval, interval)
    name = meltano_schedule["name"].replace("-", "_")

    @dg.schedule(name=name, cron_schedule=cron, job=job, execution_timezone="UTC",
                 description=(f"meltano.yml schedule {meltano_schedule['name']} ({interval}): "
                              f"every tenant of {pipeline.asset_name}"))
    def every_tenant(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = context.scheduled_execution_time
        stamp = tick.isoformat() if tick else "manual"
        environment = meltano_environment(config)
        return [dg.RunRequest(run_key=f"{name}:{key}:{stamp}", partition_key=key,
                              tags=run_tags(pipeline, key, environment))
                for key in sorted(pipeline.tenants)]

    return every_tenant


def build_definitions(root: Path | None = None) -> dg.Definitions:
    """Every pipeline of tenants.yml as an asset, its job, and meltano.yml's schedules."""
    root = root or project_root()
    config = load_tenants(root)
    assets, jobs, schedules = [], {}, []
    for pipeline in config.pipelines:
        asset = pipeline_asset(pipeline, config, root)
        assets.append(asset)
        jobs[(pipeline.tap, pipeline.target)] = (pipeline, dg.define_asset_job(
            name=f"{pipeline.asset_name}_job", selection=[asset.key],
            partitions_def=asset.partitions_def))
    for meltano_schedule in meltano_schedules(root):
        for pair in meltano_schedule["pipelines"]:
            if pair in jobs:
                pipeline, job = jobs[pair]
                if schedule := tenant_schedule(meltano_schedule, pipeline, job, config):
                    schedules.append(schedule)
    used_jobs = {schedule.job_name for schedule in schedules}
    return dg.Definitions(assets=assets, schedules=schedules,
                          jobs=[job for _, job in jobs.values() if job.name not in used_jobs])


def describe(defs: dg.Definitions) -> str:
    """The definitions as JSON (asset keys, partitions, schedules), for tests and humans."""
    repo = defs.get_repository_def()
    return json.dumps({
        "assets": {key.to_user_string(): sorted(
            repo.assets_defs_by_key[key].partitions_def.get_partition_keys())
            for key in repo.assets_defs_by_key},
        "schedules": {s.name: {"cron": s.cron_schedule, "job": s.job_name}
                      for s in repo.schedule_defs},
    }, sort_keys=True)
