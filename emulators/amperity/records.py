"""Amperity records (shapes from the OpenAPI components), generated per index on demand."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import typing as t

from emulators.amperity.data import (
    CAMPAIGN_NAMES,
    CITIES,
    EVENT_TYPES,
    FIRST,
    LAST,
    SEGMENT_NAMES,
    TABLES,
    TIERS,
    WORKFLOW_NAMES,
    WORKFLOW_TYPES,
    Timeline,
    code,
    iso,
    mix,
)
from emulators.framework.http import HTTPError

TENANT = "acme"
#: GUESS: three published indexes; names and filter fields are illustrative.
INDEXES: list[dict[str, t.Any]] = [
    {"id": "idx-loyalty", "name": "loyalty_members",
     "description": "Profiles from the loyalty program", "filter_fields": ["loyalty_id", "email"]},
    {"id": "idx-web", "name": "web_visitors",
     "description": "Known visitors of the web store", "filter_fields": ["email"]},
    {"id": "idx-stores", "name": "store_customers",
     "description": "Customers seen at a store in the last year", "filter_fields": ["city"]},
]
RUNNING_SHARE = 0.08  # the newest 8% of workflow runs are still running (GUESS)


@functools.lru_cache(maxsize=4096)
def _utc_day(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")


def _day(epoch: float) -> str:
    """``YYYYMMDD`` of a UTC moment (one strftime per day, not per record)."""
    return _utc_day(int(epoch // 86400))


def _index_from_id(identifier: str, prefix: str) -> int:
    """Record index encoded in our ids (``<prefix>-<day>-<index>-<code>``)."""
    parts = identifier.split("-")
    if len(parts) != 4 or parts[0] != prefix or not parts[2].isdigit():
        raise HTTPError(404, "The requested entity does not exist.")
    return int(parts[2])


class Dataset:
    """Every resource of one tenant: timelines, overlays of mutations, renderers."""

    def __init__(self, *, seed: int, scale: int, started: float) -> None:
        """Timelines only; records are rendered when asked for."""
        self.seed, self.scale, self.started = seed, scale, started
        self.audit = Timeline(seed, 1, scale, started)
        self.workflows = Timeline(seed, 2, scale, started)
        self.ingest = Timeline(seed, 3, scale, started)
        self.campaigns_t = Timeline(seed, 4, scale, started)
        self.drafts_t = Timeline(seed, 5, scale, started)
        self.segments_t = Timeline(seed, 6, scale, started)
        self.renamed: dict[tuple[str, int], float] = {}
        self.finished: dict[int, float] = {}
        self.profiles_added = [0] * len(INDEXES)
        self.profile_updates: dict[tuple[int, int], float] = {}
        self.index_updated = [started - 3600 * (k + 1) for k in range(len(INDEXES))]

    # Audit events (AuditEvent, additionalProperties false) -------------------------------

    def audit_event(self, i: int) -> dict[str, t.Any]:
        """One audit event; every required field, object_name on most."""
        h = mix(self.seed, 11, i)
        first, last = FIRST[h & 15], LAST[(h >> 4) & 15]
        sandbox = (h >> 8) % 5 == 0
        event: dict[str, t.Any] = {
            "event_id": f"ae-{code(h >> 12, 6)}{i}",
            "event_type": EVENT_TYPES[(h >> 20) & 7],
            "tenant": f"{TENANT}-sb-{(h >> 24) % 90000 + 10000}" if sandbox else TENANT,
            "tenant_family": TENANT,
            "happened_at": iso(self.audit.at(i)),
            "principal_id": f"google-apps|{first.lower()}@{TENANT}.com",
            "principal_name": f"{first} {last}",
            # GUESS: the spec requires a string; the docs say NULL for API keys. We follow the spec.
            "principal_email": f"{first.lower()}@{TENANT}.com",
            "object_id": f"seg-{code(h >> 30, 9)}",
            "origin_ip": f"10.{(h >> 40) & 255}.{(h >> 48) & 255}.{(h >> 56) & 255}",
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)",
            "session_id": code(h * 31 + i, 32),
        }
        if (h >> 36) % 4:
            event["object_name"] = f"{TENANT.title()} {SEGMENT_NAMES[(h >> 33) % 6]}"
        return event

    # Campaigns, drafts, segments (additionalProperties false) -----------------------------

    def _name(self, kind: str, i: int, names: list[str]) -> str:
        base = f"{names[mix(self.seed, len(kind), i) % len(names)]} #{i}"
        return f"{base} (renamed)" if (kind, i) in self.renamed else base

    def campaign(self, i: int, *, kind: str = "cc") -> dict[str, t.Any]:
        """Campaign: id, name, deliver_at (absent for unscheduled ones)."""
        h = mix(self.seed, 12, i)
        record: dict[str, t.Any] = {"id": f"{kind}-{code(h, 9)}{i}",
                                    "name": self._name(kind, i, CAMPAIGN_NAMES)}
        if h % 3:
            record["deliver_at"] = iso(self.started + ((h >> 8) % (90 * 86400)) - 45 * 86400)
        return record

    def campaign_draft(self, i: int) -> dict[str, t.Any]:
        """CampaignDraft: the Campaign shape (OAS-unstable)."""
        return self.campaign(i, kind="cd")

    def segment(self, i: int) -> dict[str, t.Any]:
        """Segment: id, name, status (required in OAS-2024)."""
        h = mix(self.seed, 13, i)
        return {"id": f"seg-{code(h, 9)}{i}", "name": self._name("sg", i, SEGMENT_NAMES),
                "status": "active" if h % 4 else "inactive"}

    # Workflow runs (Workflow is open) -----------------------------------------------------

    def _running(self, i: int) -> bool:
        return i >= int(self.scale * (1 - RUNNING_SHARE)) and i not in self.finished

    def workflow_at(self, i: int, *, verbose: bool = False) -> dict[str, t.Any]:
        """One run; states seen in the docs' JSON examples (running is a GUESS spelling)."""
        h = mix(self.seed, 14, i)
        created = self.workflows.at(i)
        first = FIRST[h & 15]
        automated = (h >> 4) % 3 == 0
        run: dict[str, t.Any] = {
            "id": f"wf-{_day(created)}-{i:05d}-{code(h >> 8, 6)}",
            "type": WORKFLOW_TYPES[(h >> 14) & 3],
            "name": WORKFLOW_NAMES[(h >> 16) % 5],
            "tenant": TENANT,
            "created_at": iso(created),
            "principal_id": "amperity-scheduler" if automated
            else f"google-apps|{first.lower()}@{TENANT}.com",
            "principal_name": "Automated workflow" if automated else first,
            "principal_email": "" if automated else f"{first.lower()}@{TENANT}.com",
            "launched_version": f"etv-{_day(created)}-{(h >> 20) % 99999:05d}-{code(h >> 24, 6)}",
            "current_version": f"etv-{_day(created)}-{(h >> 20) % 99999:05d}-{code(h >> 24, 6)}",
            "warn_after_ms": 86400000,
        }
        if self._running(i):
            run["state"] = "running"
        else:
            roll = (h >> 30) % 20
            run["state"] = "succeeded" if roll < 15 else "failed" if roll < 18 else "canceled"
            run["ended_at"] = iso(self.finished.get(i, created + 60 + (h >> 36) % 3600))
            if run["state"] == "failed":
                run["error"] = {"type": "amperity.workflow.task.stitch/table",
                                "message": "Task failed: stitch input table is empty.",
                                "attribution": "customer" if h & 1 else "platform"}
        if verbose:
            run["task_instances"] = [{
                "id": f"wft-{_day(created)}-{i:05d}-{code(h >> 40, 6)}", "state": run["state"],
                "tenant": TENANT, "created_at": run["created_at"], "workflow_id": run["id"],
                "label": run["name"], "execution_type": "spark-sql", "timeout_ms": 172800000,
            }]
        return {k: run[k] for k in sorted(run, key=_WORKFLOW_ORDER.index)}

    def workflow(self, identifier: str, *, verbose: bool) -> dict[str, t.Any]:
        """get-workflow: overview has 7 fields, verbose everything [research 4.7]."""
        i = _index_from_id(identifier, "wf")
        if i >= len(self.workflows):
            raise HTTPError(404, "The requested entity does not exist.")
        run = self.workflow_at(i, verbose=verbose)
        if run["id"] != identifier:
            raise HTTPError(404, "The requested entity does not exist.")
        if verbose:
            return run
        return {k: v for k, v in run.items()
                if k in {"id", "type", "name", "tenant", "created_at", "ended_at", "state"}}

    # Ingest jobs (IngestJobDetails, additionalProperties false) ---------------------------

    def _table_starts(self, i: int) -> list[float]:
        h = mix(self.seed, 15, i)
        gap = min(0.3 * self.ingest.step, 60.0) if i < self.scale else 1.0
        return [self.ingest.at(i) + k * gap for k in range(1 + (h & 1))]

    def ingest_job_at(self, i: int) -> dict[str, t.Any]:
        """One job with one or two feeds, each with one file."""
        h = mix(self.seed, 16, i)
        starts = self._table_starts(i)
        job_id = f"isj-{_day(starts[0])}-{i:05d}-{code(h, 6)}"
        tables = []
        for k, start in enumerate(starts):
            read = 1000 + (h >> (8 + k)) % 9000
            errors = (h >> 20) % 50
            tables.append({
                "feed_id": f"df-{code(h >> (10 + k), 8)}", "job_id": job_id,
                "table_name": TABLES[(h >> (30 + k)) & 3], "state": "succeeded",
                "read": read, "errors": errors, "rejected": errors // 2,
                "inserted": read - errors, "updated": (h >> 40) % 100,
                "started_at": iso(start), "ended_at": iso(start + 30 + (h >> 44) % 600),
                "files": [{"file_id": f"cb-{_day(start)}-{i:05d}-{code(h >> 50, 5)}/part{k}.avro",
                           "name": f"part{k}.avro", "read": read, "errors": errors}],
            })
        return {"id": job_id, "workflow_id": f"wf-{_day(starts[0])}-{i:05d}-{code(h >> 3, 6)}",
                "tables": tables}

    def ingest_jobs_between(self, lo: float, hi: float) -> list[dict[str, t.Any]]:
        """Jobs with a feed started in [lo, hi), newest first (matches on started_at)."""
        first = self.ingest.first_at_or_after(lo - 60.0)
        last = self.ingest.first_at_or_after(hi)
        return [self.ingest_job_at(i) for i in range(last - 1, first - 1, -1)
                if any(lo <= s < hi for s in self._table_starts(i))]

    def ingest_job(self, identifier: str) -> dict[str, t.Any]:
        """get-ingest-job."""
        i = _index_from_id(identifier, "isj")
        if i >= len(self.ingest) or self.ingest_job_at(i)["id"] != identifier:
            raise HTTPError(404, "The requested entity does not exist.")
        return self.ingest_job_at(i)

    # Profile API --------------------------------------------------------------------------

    def index_key(self, index_id: str) -> int:
        """Position of an index, or 404."""
        for key, index in enumerate(INDEXES):
            if index["id"] == index_id:
                return key
        raise HTTPError(404, "The requested entity does not exist.")

    def index_at(self, key: int) -> dict[str, t.Any]:
        """Index: id, name, description, created_at, updated_at."""
        index = INDEXES[key]
        return {"id": index["id"], "name": index["name"], "description": index["description"],
                "created_at": iso(self.started - 200 * 86400 + key * 86400),
                "updated_at": iso(self.index_updated[key])}

    def index(self, index_id: str) -> dict[str, t.Any]:
        """get-index."""
        return self.index_at(self.index_key(index_id))

    def profile_count(self, index_id: str) -> int:
        """Profiles in an index, including added ones."""
        return self.scale + self.profiles_added[self.index_key(index_id)]

    def profile_at(self, index_id: str, key: int, i: int) -> dict[str, t.Any]:
        """One profile as a dict (slow path: single gets and filters)."""
        h = mix(self.seed, 100 + key, i)
        first, last = FIRST[h & 15], LAST[(h >> 4) & 15]
        attributes = {
            "first_name": first, "last_name": last,
            "email": f"{first.lower()}.{last.lower()}{i}@example.com",
            "loyalty_id": f"{(h >> 8) % 1000000000:09d}-{i % 10}",
            "loyalty_tier": "platinum" if (key, i) in self.profile_updates
            else TIERS[(h >> 40) & 3],
            "city": CITIES[(h >> 44) & 7],
        }
        return {"id": f"cl-{key}{i:08d}", "index_id": index_id, "attributes": attributes}

    def profiles_page(self, index_id: str, key: int, start: int, end: int) -> bytes:
        """The JSON array of profiles [start, end), built as text (the hot path)."""
        seed, updates = self.seed, self.profile_updates
        parts = []
        for i in range(start, end):
            h = mix(seed, 100 + key, i)
            first, last = FIRST[h & 15], LAST[(h >> 4) & 15]
            tier = "platinum" if (key, i) in updates else TIERS[(h >> 40) & 3]
            parts.append(
                f'{{"id":"cl-{key}{i:08d}","index_id":"{index_id}","attributes":{{'
                f'"first_name":"{first}","last_name":"{last}",'
                f'"email":"{first.lower()}.{last.lower()}{i}@example.com",'
                f'"loyalty_id":"{(h >> 8) % 1000000000:09d}-{i % 10}",'
                f'"loyalty_tier":"{tier}","city":"{CITIES[(h >> 44) & 7]}"}}}}'
            )
        return ("[" + ",".join(parts) + "]").encode()

    def profile(self, index_id: str, profile_id: str) -> dict[str, t.Any]:
        """get-profile."""
        key = self.index_key(index_id)
        digits = profile_id[4:] if profile_id.startswith(f"cl-{key}") else ""
        if not digits.isdigit() or int(digits) >= self.profile_count(index_id):
            raise HTTPError(404, "The requested entity does not exist.")
        return self.profile_at(index_id, key, int(digits))

    # Counts and mutations -----------------------------------------------------------------

    def counts(self, start: float) -> dict[str, int]:
        """Records a full sync from ``start`` yields, per tap stream."""
        last_table = bisect.bisect_left(range(len(self.ingest)), start,
                                        key=lambda i: self._table_starts(i)[-1])
        return {
            "audit_events": len(self.audit) - self.audit.first_at_or_after(start),
            "workflow_runs": len(self.workflows) - self.workflows.first_at_or_after(start),
            "ingest_jobs": len(self.ingest) - last_table,
            "campaigns": len(self.campaigns_t),
            "campaign_drafts": len(self.drafts_t),
            "segments": len(self.segments_t),
            "profile_indexes": len(INDEXES),
            "profiles": sum(self.scale + added for added in self.profiles_added),
        }

    def mutate(self, count: int, now: float) -> dict[str, t.Any]:
        """Update ``count`` records and add ``count`` per resource, stamped ``now``."""
        finished = [i for i in range(len(self.workflows) - 1, -1, -1) if self._running(i)][:count]
        for i in finished:
            self.finished[i] = now
        for timeline in (self.audit, self.workflows, self.ingest, self.campaigns_t,
                         self.drafts_t, self.segments_t):
            for _ in range(count):
                timeline.add(now)
        for kind, timeline in (("cc", self.campaigns_t), ("cd", self.drafts_t),
                               ("sg", self.segments_t)):
            for i in range(min(count, timeline.scale)):
                self.renamed[(kind, i)] = now
        for i in range(min(count, self.scale)):
            self.profile_updates[(0, i)] = now
        self.profiles_added[0] += count
        self.index_updated[0] = now
        return {
            "audit_events": {"added": count, "updated": 0},  # the audit log is append-only
            "workflow_runs": {"added": count, "finished": len(finished)},
            "ingest_jobs": {"added": count},
            "campaigns": {"added": count, "renamed": count},
            "campaign_drafts": {"added": count, "renamed": count},
            "segments": {"added": count, "renamed": count},
            "profiles": {"index": INDEXES[0]["id"], "added": count, "updated": count},
        }


_WORKFLOW_ORDER = ["id", "state", "type", "name", "tenant", "created_at", "ended_at",
                   "principal_id", "principal_name", "principal_email", "launched_version",
                   "current_version", "warn_after_ms", "task_instances", "error"]
