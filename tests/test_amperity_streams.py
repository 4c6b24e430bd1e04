"""tap-amperity request shaping, against requests-mock (one behaviour per test)."""

from __future__ import annotations

import datetime as dt
import re
import typing as t

import pytest
import requests_mock

from taps.amperity.client import iso_utc
from taps.amperity.tap import TapAmperity

API = "https://tenant.example.test/api"
BASE_CONFIG = {"api_url": API, "tenant": "acme", "access_token": "tok-abcdef-123",
               "start_date": "2026-10-01T00:00:00Z", "backoff_base_milliseconds": 10}


def _tap(**config: t.Any) -> TapAmperity:
    return TapAmperity(config={**BASE_CONFIG, **config}, parse_env_config=False)


def _records(tap: TapAmperity, stream: str) -> list[dict]:
    """Sync one stream the way the tap does (state set up first), returning its records."""
    for name, other in tap.streams.items():
        other.selected = name == stream
    return [r for r in tap.streams[stream]._sync_records(None, write_messages=False)]


def test_headers_and_versions_per_api() -> None:
    tap = _tap(include_campaign_drafts=True)
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(f"{API}/segments", json={"data": [{"id": "seg-1", "name": "a", "status": "active"}]})
        m.get(f"{API}/campaign-drafts", json={"data": []})
        m.get(f"{API}/indexes", json={"data": []})
        _records(tap, "segments")
        _records(tap, "campaign_drafts")
        _records(tap, "profile_indexes")
        sent = {r.path: r.headers for r in m.request_history}
    assert sent["/api/segments"]["api-version"] == "2024-04-01"
    assert sent["/api/campaign-drafts"]["api-version"] == "unstable"
    assert sent["/api/indexes"]["api-version"] == "2025-07-31"
    for headers in sent.values():
        assert headers["Amperity-Tenant"] == "acme"
        assert headers["Authorization"] == "Bearer tok-abcdef-123"


def test_campaign_drafts_only_when_enabled() -> None:
    assert "campaign_drafts" not in _tap().streams
    assert "campaign_drafts" in _tap(include_campaign_drafts=True).streams


def test_filters_are_resent_with_every_page() -> None:
    tap = _tap(page_size=2)
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(f"{API}/audit-events", [
            {"json": {"data": [{"event_id": "ae-1", "happened_at": "2026-10-02T00:00:00Z"}],
                      "next_token": "n1"}},
            {"json": {"data": [{"event_id": "ae-2", "happened_at": "2026-10-03T00:00:00Z"}]}},
        ])
        assert len(_records(tap, "audit_events")) == 2
        queries = [r.qs for r in m.request_history]
    assert queries[0] == {"limit": ["2"], "happened_from": ["2026-10-01T00:00:00.000Z"]}
    assert queries[1] == {**queries[0], "next_token": ["n1"]}


def _created_from(tap: TapAmperity) -> str:
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(f"{API}/workflow/runs", json={"data": []})
        _records(tap, "workflow_runs")
        return m.request_history[0].qs["created_from"][0]


def test_workflow_lookback_reads_before_the_bookmark_but_not_before_start_date() -> None:
    assert _created_from(_tap(workflow_lookback_days=3)) == "2026-10-01T00:00:00.000Z"
    state = {"bookmarks": {"workflow_runs": {
        "replication_key": "created_at", "replication_key_value": "2026-11-20T12:00:00+00:00"}}}
    tap = TapAmperity(config={**BASE_CONFIG, "workflow_lookback_days": 3}, state=state,
                      parse_env_config=False)
    assert _created_from(tap) == "2026-11-17T12:00:00.000Z"


def test_workflow_id_falls_back_to_the_2024_07_key() -> None:
    row = _tap().streams["workflow_runs"].post_process(
        {"workflow_id": "wf-1", "task_instances": [{"task_instance_id": "wft-1"}]})
    assert row is not None
    assert row["id"] == "wf-1"
    assert row["task_instances"][0]["id"] == "wft-1"


def test_ingest_jobs_walk_seven_day_windows_and_emit_each_job_once() -> None:
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=16)
    tap = _tap(start_date=start.isoformat())
    job = {"id": "isj-1", "workflow_id": "wf-1", "tables": [
        {"feed_id": "df-1", "job_id": "isj-1", "table_name": "t", "state": "succeeded",
         "read": 1, "errors": 0, "rejected": 0, "inserted": 1, "updated": 0,
         "started_at": "2026-11-10T04:00:00.000Z", "ended_at": "2026-11-10T04:01:00.000Z",
         "files": []},
        {"feed_id": "df-2", "job_id": "isj-1", "table_name": "u", "state": "succeeded",
         "read": 1, "errors": 0, "rejected": 0, "inserted": 1, "updated": 0,
         "started_at": "2026-11-10T03:00:00.000Z", "ended_at": "2026-11-10T04:01:00.000Z",
         "files": []}]}
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(re.compile(f"{API}/ingest/jobs.*"), [
            {"json": {"data": [job]}}, {"json": {"data": [job]}}, {"json": {"data": []}}])
        records = _records(tap, "ingest_jobs")
        windows = [(r.qs["created_from"][0], r.qs["created_to"][0]) for r in m.request_history]
    assert len(windows) == 3  # 16 days: 7 + 7 + 2, and the empty last window is still read
    for (_, end), (nxt, _) in zip(windows, windows[1:]):
        assert end == nxt
    parsed = [dt.datetime.fromisoformat(a.replace("Z", "+00:00")) for a, _ in windows]
    assert parsed[1] - parsed[0] == dt.timedelta(days=7)
    assert [r["id"] for r in records] == ["isj-1"]
    assert records[0]["started_at"] == "2026-11-10T03:00:00.000Z"


@pytest.mark.parametrize(("setting", "value"), [("max_requests_per_minute", 0),
                                                ("profile_max_requests_per_minute", -5),
                                                ("page_size", 0)])
def test_budgets_and_page_sizes_must_be_positive(setting: str, value: int) -> None:
    from taps.shared.errors import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match=setting):
        _tap(**{setting: value}).preflight()


@pytest.mark.parametrize("days", [0, 8])
def test_ingest_window_must_be_at_most_seven_days(days: int) -> None:
    from taps.shared.errors import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="ingest_window_days"):
        _tap(ingest_window_days=days).preflight()


def test_profiles_are_children_of_each_index_and_drop_unknown_fields() -> None:
    tap = _tap()
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(f"{API}/indexes", json={"data": [{"id": "idx-a", "name": "a"},
                                               {"id": "idx-b", "name": "b"}]})
        m.get(f"{API}/indexes/idx-a/profiles", json={"data": [
            {"id": "p1", "index_id": "idx-a", "attributes": {"email": "x@y.z"}, "extra": 1}]})
        m.get(f"{API}/indexes/idx-b/profiles", json={"data": [
            {"id": "p2", "index_id": "idx-b", "attributes": [{"tier": "gold"}]}]})
        contexts = [tap.streams["profile_indexes"].get_child_context(r, None)
                    for r in _records(tap, "profile_indexes")]
        profiles = [p for c in contexts
                    for p in (tap.streams["profiles"].post_process(r, c)
                              for r in tap.streams["profiles"].get_records(c))]
    assert contexts == [{"index_id": "idx-a"}, {"index_id": "idx-b"}]
    assert profiles == [{"id": "p1", "index_id": "idx-a", "attributes": {"email": "x@y.z"}},
                        {"id": "p2", "index_id": "idx-b", "attributes": {"tier": "gold"}}]


def test_profiles_of_unchanged_indexes_are_skipped_when_asked() -> None:
    state = {"bookmarks": {"profile_indexes": {
        "replication_key": "updated_at", "replication_key_value": "2026-11-20T00:00:00.000Z"}}}
    indexes = {"data": [{"id": "idx-old", "name": "a", "updated_at": "2026-11-19T00:00:00.000Z"},
                        {"id": "idx-new", "name": "b", "updated_at": "2026-11-21T00:00:00.000Z"},
                        {"id": "idx-none", "name": "c"}]}
    for only_changed, expected in [(True, ["idx-new", "idx-none"]),
                                   (False, ["idx-old", "idx-new", "idx-none"])]:
        tap = TapAmperity(config={**BASE_CONFIG, "profiles_changed_indexes_only": only_changed},
                          state=state, parse_env_config=False)
        with requests_mock.Mocker() as m:
            m.get(f"{API}/indexes", json=indexes)
            m.get(re.compile(f"{API}/indexes/.*/profiles"), json={"data": []})
            tap.streams["profile_indexes"].selected = True
            for name, stream in tap.streams.items():
                stream.selected = name in {"profile_indexes", "profiles"}
            list(tap.streams["profile_indexes"]._sync_records(None, write_messages=False))
            read = [r.path.split("/")[3] for r in m.request_history if r.path.endswith("/profiles")]
        # Each wanted index once; side by side (children.py), so in no particular order.
        assert sorted(read) == sorted(expected), only_changed


def test_ingest_jobs_reread_the_lookback_before_the_bookmark() -> None:
    bookmark = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).replace(microsecond=0)
    state = {"bookmarks": {"ingest_jobs": {"replication_key": "started_at",
                                           "replication_key_value": bookmark.isoformat()}}}
    tap = TapAmperity(config={**BASE_CONFIG, "ingest_lookback_days": 2}, state=state,
                      parse_env_config=False)
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.get(re.compile(f"{API}/ingest/jobs.*"), json={"data": []})
        _records(tap, "ingest_jobs")
        first = m.request_history[0].qs["created_from"][0]
    assert first == iso_utc(bookmark - dt.timedelta(days=2))
