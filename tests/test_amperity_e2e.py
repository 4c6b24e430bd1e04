"""tap-amperity against its emulator over real sockets: completeness, faults, auth, resume."""

from __future__ import annotations

import functools
import json
import re
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import pytest
import tap_runner
from tap_runner import TapRun, run_tap, tap_args, tap_env

from emulators.process import EmulatorProcess

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "audit_events": ("event_id",),
    "workflow_runs": ("id",),
    "ingest_jobs": ("id",),
    "campaigns": ("id",),
    "campaign_drafts": ("id",),
    "segments": ("id",),
    "profile_indexes": ("id",),
    "profiles": ("index_id", "id"),
}
FAST_RETRIES = {"backoff_base_milliseconds": 50, "max_retries": 10}


def assert_complete(run: TapRun, counts: dict[str, int]) -> None:
    """Every stream has exactly the emulator's count, with unique non-null primary keys."""
    assert set(counts) == set(PRIMARY_KEYS)
    tap_runner.assert_complete(run, counts, PRIMARY_KEYS)


_one_line_failure = functools.partial(tap_runner.one_line_failure, tap="tap-amperity")


@pytest.fixture(scope="module")
def clean() -> t.Iterator[tuple[EmulatorProcess, TapRun]]:
    """One fault-free emulator and a full sync of it, shared by the checks below."""
    with EmulatorProcess("amperity", "--seed", "11", "--scale", "120") as emulator:
        yield emulator, run_tap("tap-amperity", emulator.tap_config)


def test_full_sync_is_complete(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    assert_complete(run, emulator.counts())
    assert run.states, "no STATE emitted"
    bookmarks = run.states[-1]["bookmarks"]
    for stream in ("audit_events", "workflow_runs", "ingest_jobs"):
        assert bookmarks[stream]["replication_key_value"], stream
        assert "progress_markers" not in bookmarks[stream]


def test_records_validate_against_their_schemas(clean: tuple[EmulatorProcess, TapRun]) -> None:
    import jsonschema  # noqa: PLC0415

    _, run = clean
    for stream, records in run.records.items():
        validator = jsonschema.Draft7Validator(run.schemas[stream]["schema"],
                                               format_checker=jsonschema.FormatChecker())
        for record in records[:200]:
            validator.validate(record)


def test_stays_within_the_rate_limit(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, _ = clean
    stats = emulator.stats()
    assert stats["by_status"].get("429", 0) == 0
    assert stats["max_requests_in_rate_window"] <= 10


def test_pagination_follows_next_token_through_short_and_empty_pages() -> None:
    with EmulatorProcess("amperity", "--seed", "5", "--scale", "90") as emulator:
        run = run_tap("tap-amperity", {**emulator.tap_config, "page_size": 7,
                                       "profile_page_size": 9})
        assert_complete(run, emulator.counts())
        by_path = emulator.stats()["by_path"]
    # 90 campaigns at 7 per page take at least 13 pages; short pages only add requests.
    assert by_path["/api/campaigns"] >= 13


FAULT_EMULATOR = ("--seed", "23", "--scale", "60")


@pytest.fixture(scope="module")
def clean_fault_keys() -> dict[str, set[tuple]]:
    """Primary keys of a fault-free sync of the emulator the fault tests use (same seed)."""
    with EmulatorProcess("amperity", *FAULT_EMULATOR) as emulator:
        run = run_tap("tap-amperity", emulator.tap_config)
        assert_complete(run, emulator.counts())
    return {stream: set(run.keys(stream, key)) for stream, key in PRIMARY_KEYS.items()}


@pytest.mark.parametrize(
    ("kind", "probability"),
    [("429", 0.25), ("500", 0.2), ("502", 0.2), ("503", 0.2), ("reset", 0.2),
     ("truncate", 0.25), ("slow", 0.08)],
)
def test_recovers_from_fault_without_loss_or_duplicates(
    kind: str, probability: float, clean_fault_keys: dict[str, set[tuple]]
) -> None:
    with EmulatorProcess("amperity", *FAULT_EMULATOR,
                         "--faults", f"{kind}={probability}") as emulator:
        config = {**emulator.tap_config, **FAST_RETRIES, "page_size": 25, "profile_page_size": 40}
        run = run_tap("tap-amperity", config)
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert stats["by_fault"].get(kind, 0) > 0, f"no {kind} fault was injected"
    for stream, key in PRIMARY_KEYS.items():
        assert set(run.keys(stream, key)) == clean_fault_keys[stream], stream


def test_token_refreshed_mid_sync_with_client_credentials() -> None:
    with EmulatorProcess("amperity", "--seed", "3", "--scale", "150",
                         "--token-ttl", "2", "--latency-ms", "40") as emulator:
        config = {k: v for k, v in emulator.tap_config.items() if k != "access_token"}
        config.update(emulator.auth["client_credentials"], page_size=10, profile_page_size=25)
        started = time.monotonic()
        run = run_tap("tap-amperity", config)
        elapsed = time.monotonic() - started
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    token_calls = stats["by_path"].get("/api/v0/oauth2/token", 0)
    assert elapsed > 4, "sync too short to cross the token lifetime"
    assert token_calls >= 2, "the token was never renewed"
    assert stats["by_status"].get("401", 0) == 0, "renewal should happen before expiry"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_resume_after_kill_loses_nothing(sig: signal.Signals) -> None:
    with EmulatorProcess("amperity", "--seed", "8", "--scale", "300",
                         "--latency-ms", "15") as emulator:
        config = {**emulator.tap_config, "page_size": 20, "profile_page_size": 50}
        counts = emulator.counts()
        _, second = tap_runner.kill_and_resume(
            "tap-amperity", config, sig, tap_runner.after_records(counts["audit_events"] + 120),
            counts, PRIMARY_KEYS)
        assert sum(len(v) for v in second.records.values()) < sum(counts.values()) + 1


def test_incremental_run_reads_only_changes() -> None:
    with EmulatorProcess("amperity", "--seed", "4", "--scale", "100") as emulator:
        first = run_tap("tap-amperity", emulator.tap_config)
        assert_complete(first, emulator.counts())
        emulator.mutate(5)
        second = run_tap("tap-amperity", {**emulator.tap_config,
                                          "profiles_changed_indexes_only": True},
                         state=first.states[-1])
        assert second.returncode == 0, second.stderr[-2000:]
        new_events = {r["event_id"] for r in second.records["audit_events"]}
        old_events = {r["event_id"] for r in first.records["audit_events"]}
        assert len(new_events - old_events) == 5
        assert len(new_events & old_events) <= 1  # the inclusive boundary may repeat
        runs = {r["id"]: r for r in second.records["workflow_runs"]}
        assert len(set(runs) - {r["id"] for r in first.records["workflow_runs"]}) == 5
        succeeded_now = [r for r in runs.values() if r.get("ended_at") and r["ended_at"] >
                         first.states[-1]["bookmarks"]["workflow_runs"]["replication_key_value"]]
        assert len(succeeded_now) >= 5, "state changes inside the look-back were missed"
        assert len(second.records["ingest_jobs"]) >= 5
        assert len(second.records["ingest_jobs"]) < len(first.records["ingest_jobs"])
        # Only the rebuilt index's profiles are read again, all of them.
        assert {r["index_id"] for r in second.records["profiles"]} == {"idx-loyalty"}
        assert len(second.records["profiles"]) == 105
        assert len(second.records["profile_indexes"]) == 3


def _secrets_in(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in text]


@pytest.mark.parametrize("mode", ["token", "client_credentials"])
def test_no_secret_in_debug_output(mode: str) -> None:
    with EmulatorProcess("amperity", "--seed", "9", "--scale", "20", "--token-ttl", "3") as emulator:
        config = {k: v for k, v in emulator.tap_config.items() if k != "access_token"}
        config.update(emulator.auth[mode])
        run = run_tap("tap-amperity", config,
                      env={"TAP_AMPERITY_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG"})
        assert run.returncode == 0, run.stderr[-2000:]
        assert "DEBUG" in run.stderr
        secrets = [str(v) for k, v in emulator.auth[mode].items() if k != "token_url"]
        secrets += [s for s in (emulator.auth.get("token") or {}).values()]
        output = run.stdout + run.stderr
        assert _secrets_in(output, secrets) == []
        assert not re.search(r"Bearer (?!\*\*\*)[A-Za-z0-9._~+/-]{6,}", output)
        assert not any("secret" in json.dumps(s).lower() for s in run.states)


@pytest.fixture(scope="module")
def quiet_emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "2", "--scale", "5") as emulator:
        yield emulator


def test_bad_token_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    run = run_tap("tap-amperity", {**quiet_emulator.tap_config, "access_token": "not-a-real-token"})
    assert "access_token" in _one_line_failure(run)
    assert "not-a-real-token" not in run.stderr


def test_bad_client_secret_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    config = {k: v for k, v in quiet_emulator.tap_config.items() if k != "access_token"}
    config.update(quiet_emulator.auth["client_credentials"], client_secret="wrong-secret-123")
    line = _one_line_failure(run_tap("tap-amperity", config))
    assert "client_secret" in line
    assert "wrong-secret-123" not in line


def test_wrong_tenant_names_the_setting(quiet_emulator: EmulatorProcess) -> None:
    run = run_tap("tap-amperity", {**quiet_emulator.tap_config, "tenant": "someone-else"})
    assert "tenant" in _one_line_failure(run)


def test_unsupported_api_version_names_the_setting(quiet_emulator: EmulatorProcess) -> None:
    run = run_tap("tap-amperity", {**quiet_emulator.tap_config, "api_version": "2019-01-01"})
    assert "api_version" in _one_line_failure(run)


def test_missing_setting_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    config = {k: v for k, v in quiet_emulator.tap_config.items() if k != "tenant"}
    assert "tenant" in _one_line_failure(run_tap("tap-amperity", config))
    config = {k: v for k, v in quiet_emulator.tap_config.items() if k != "access_token"}
    assert "access_token" in _one_line_failure(run_tap("tap-amperity", config))


def test_unreachable_url_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    run = run_tap("tap-amperity", {**quiet_emulator.tap_config, "api_url": "http://127.0.0.1:9/api"})
    line = _one_line_failure(run)
    assert "api_url" in line
    assert "Cannot reach" in line


def test_deselected_properties_are_dropped(quiet_emulator: EmulatorProcess, tmp_path: Path) -> None:
    """The fast record path only applies when nothing is deselected; deselection still works."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(quiet_emulator.tap_config))
    discovered = subprocess.run([*tap_args("tap-amperity", quiet_emulator.tap_config, tmp_path)[:1],
                                 "--config", str(config_path), "--discover"],
                                capture_output=True, text=True, check=True, env=tap_env())
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == ["properties", "status"] and entry["tap_stream_id"] == "segments":
                meta["metadata"]["selected"] = False
            if meta["breadcrumb"] == ["properties", "attributes"] and entry["tap_stream_id"] == "profiles":
                meta["metadata"]["selected"] = False
    run = run_tap("tap-amperity", quiet_emulator.tap_config, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records["segments"]
    assert all("status" not in r for r in run.records["segments"])
    assert all("attributes" not in r for r in run.records["profiles"])
    assert all("name" in r for r in run.records["campaigns"])


def test_unreachable_token_url_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    config = {k: v for k, v in quiet_emulator.tap_config.items() if k != "access_token"}
    config.update(quiet_emulator.auth["client_credentials"],
                  token_url="http://127.0.0.1:9/api/v0/oauth2/token")
    line = _one_line_failure(run_tap("tap-amperity", config))
    assert "Cannot reach the token endpoint" in line
    assert "token_url" in line
