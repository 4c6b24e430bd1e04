"""Amperity streams: short declarations on top of ``AmperityStream``."""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from taps.amperity.client import AmperityStream, ProfileApiStream, iso_utc
from taps.shared.children import AnnouncesChildContexts, ReadsContextsAhead
from taps.shared.windows import DateWindowPaginator, date_windows, lookback_start

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context, Record

#: The ingest-jobs endpoint accepts windows of at most this many days (docs: "7-day window").
INGEST_MAX_WINDOW_DAYS = 7


def _parse(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _start_date(config: t.Mapping[str, t.Any]) -> dt.datetime | None:
    return _parse(config["start_date"]) if config.get("start_date") else None


class AuditEvents(AmperityStream):
    """Audit events (user and API-key activity), read from ``happened_from`` onwards.

    The API documents no order, so the bookmark is the greatest ``happened_at`` seen and is
    saved when the stream finishes (``is_sorted = False``).
    """

    name = "audit_events"
    path = "/audit-events"
    primary_keys = ("event_id",)
    replication_key = "happened_at"
    is_sorted = False

    @override
    def filters(self, context: Context | None) -> dict[str, t.Any]:
        start = self.get_starting_timestamp(context)
        return {"happened_from": iso_utc(start)} if start else {}


class WorkflowRuns(AmperityStream):
    """Workflow runs by ``created_at``, re-reading a look-back window before the bookmark.

    Runs change state after they are created; re-reading ``workflow_lookback_days`` picks
    those changes up on the next sync.
    """

    name = "workflow_runs"
    path = "/workflow/runs"
    primary_keys = ("id",)
    replication_key = "created_at"
    is_sorted = False

    @override
    def filters(self, context: Context | None) -> dict[str, t.Any]:
        start = self.get_starting_timestamp(context)
        if start is None:
            return {}
        start = lookback_start(start, lookback_days=self.config["workflow_lookback_days"],
                               earliest=_start_date(self.config))
        return {"created_from": iso_utc(start)}

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        # The 2024-07 Swagger named the key workflow_id (and task_instance_id on tasks).
        if "id" not in row and "workflow_id" in row:
            row["id"] = row["workflow_id"]
        for task in row.get("task_instances") or ():
            if isinstance(task, dict) and "id" not in task and "task_instance_id" in task:
                task["id"] = task["task_instance_id"]
        return row


class IngestJobs(AmperityStream):
    """Ingest jobs, read in consecutive windows of at most 7 days.

    ``created_from`` and ``created_to`` are required and the endpoint does not paginate.
    ``ingest_lookback_days`` before the bookmark are read again, for jobs still running then.
    The API has no job-level timestamp: ``started_at`` is derived from the earliest table.
    A job whose tables start in two windows is emitted once.
    """

    name = "ingest_jobs"
    path = "/ingest/jobs"
    primary_keys = ("id",)
    replication_key = "started_at"
    is_sorted = False

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start = self.get_starting_timestamp(context) or (
            dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=INGEST_MAX_WINDOW_DAYS)
        )
        end = dt.datetime.now(dt.timezone.utc)
        self._windows = list(date_windows(
            start, end, max_days=self.config["ingest_window_days"],
            lookback_days=self.config["ingest_lookback_days"], earliest=_start_date(self.config),
        ))
        self._recent_ids: tuple[set[str], set[str]] = (set(), set())
        if not self._windows:
            return []
        return super().get_records(context)

    @override
    def get_new_paginator(self) -> DateWindowPaginator:  # type: ignore[override]
        return DateWindowPaginator(self._windows)

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        return {"created_from": iso_utc(next_page_token.start),
                "created_to": iso_utc(next_page_token.end)}

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        query = parse_qs(urlsplit(response.request.url or "").query)
        window_start = query.get("created_from", [None])[0]
        previous, current = self._recent_ids
        self._recent_ids = (current, set())
        for job in super().parse_response(response):
            if job.get("id") in previous or job.get("id") in current:
                continue
            self._recent_ids[1].add(job.get("id"))
            starts = [tb["started_at"] for tb in job.get("tables") or () if tb.get("started_at")]
            job["started_at"] = min(starts) if starts else window_start
            yield job


class Campaigns(AmperityStream):
    """Campaigns (no change timestamp, so a full table each run)."""

    name = "campaigns"
    path = "/campaigns"
    primary_keys = ("id",)


class CampaignDrafts(Campaigns):
    """Campaign drafts: unstable API (``api-version: unstable``); only when enabled."""

    name = "campaign_drafts"
    path = "/campaign-drafts"
    api_version_setting = "campaign_drafts_api_version"


class Segments(AmperityStream):
    """Segments (full table)."""

    name = "segments"
    path = "/segments"
    primary_keys = ("id",)


class ProfileIndexes(AnnouncesChildContexts, ProfileApiStream):
    """Profile API indexes: query results published for profile lookups.

    Every index is read each run; the bookmark (greatest ``updated_at``) lets
    ``profiles_changed_indexes_only`` skip the profiles of indexes not rebuilt since.
    """

    name = "profile_indexes"
    path = "/indexes"
    primary_keys = ("id",)
    replication_key = "updated_at"
    is_sorted = False

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        # updated_at is optional in the spec: an index without one counts as changed now.
        if not row.get("updated_at"):
            row["updated_at"] = row.get("created_at") or iso_utc(self._started)
        return row

    @cached_property
    def _started(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def _unchanged_since(self, record: Record, context: Context | None) -> str | None:
        """The last run's bookmark when ``profiles_changed_indexes_only`` skips the index."""
        if self.config.get("profiles_changed_indexes_only"):
            # The bookmark of the last finished run (None on the first run).
            bookmark = self.get_context_state(context).get("replication_key_value")
            if bookmark and _parse(record["updated_at"]) < _parse(bookmark):
                return str(bookmark)
        return None

    @override
    def get_child_context(self, record: Record, context: Context | None) -> dict | None:
        if (bookmark := self._unchanged_since(record, context)) is not None:
            self.logger.info("Index %s unchanged since %s: skipping its profiles",
                             record["id"], bookmark)
            return None
        return {"index_id": record["id"]}

    @override
    def upcoming_child_contexts(self, records: list[dict],
                                context: Context | None) -> list[Context]:
        # What post_process and get_child_context will make of them, without their effects.
        return [{"index_id": record["id"]} for record in records
                if self._unchanged_since(self.post_process(dict(record), context),
                                         context) is None]


PROFILE_FIELDS = frozenset({"index_id", "id", "attributes"})


class Profiles(ReadsContextsAhead, ProfileApiStream):
    """Every profile of every index; ``attributes`` kept as an object of the index's columns."""

    name = "profiles"
    path = "/indexes/{index_id}/profiles"
    primary_keys = ("index_id", "id")
    parent_stream_type = ProfileIndexes
    _warned_unknown = False
    state_partitioning_keys: t.ClassVar[list[str]] = []
    # The biggest stream by far: per-field type conformance would cost more than everything
    # else together. post_process keeps the one thing it would do here: drop unknown fields.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        if not PROFILE_FIELDS.issuperset(row):
            unknown = row.keys() - PROFILE_FIELDS
            if not self._warned_unknown:
                self.logger.warning("Dropping fields not in the profiles schema: %s",
                                    sorted(unknown))
                self._warned_unknown = True
            for key in unknown:
                del row[key]
        attributes = row.get("attributes")
        if type(attributes) is list and len(attributes) == 1:  # one docs table's shape
            row["attributes"] = attributes[0]
        return row
