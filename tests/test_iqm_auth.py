"""tap-iqm auth and rate: refresh mid-sync, both token forms, the workspace id, secrets out of
DEBUG output, one clear line per wrong setting, header-less 429 waits, the 20/min budget."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import typing as t

import pytest
import requests
from misbehaving import MisbehavingServer, json_answer
from tap_runner import run_tap, tap_command, tap_env
from test_iqm_e2e import LIST_KEYS, PRIMARY_KEYS, RATE, assert_complete, config, one_line_failure

from emulators.process import EmulatorProcess
from taps.iqm.tap import TapIQM

DEBUG = {"TAP_IQM_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_token_refreshed_mid_sync() -> None:
    with EmulatorProcess("iqm", "--seed", "3", "--scale", "20", "--token-ttl", "2",
                         "--latency-ms", "30", "--rate-limit", "1800/60") as emulator:
        started = time.monotonic()
        run = run_tap("tap-iqm", config(emulator, page_size=5, max_requests_per_minute=1800))
        elapsed = time.monotonic() - started
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert elapsed > 3, "sync too short to cross the token lifetime"
    assert stats["by_path"]["/api/v3/ua/oauth/token"] >= 2, "the token was never refreshed"
    assert stats["by_status"].get("401", 0) == 0  # refreshed ahead of expires_in


@pytest.mark.parametrize(("form", "ow_id", "lookups"), [
    ("enveloped", None, 0), ("raw", None, 1), ("raw", True, 0)])
def test_both_token_forms_and_the_workspace_id(form: str, ow_id: bool | None,
                                                lookups: int) -> None:
    with EmulatorProcess("iqm", "--seed", "5", "--scale", "10", *RATE,
                         "--token-response", form) as emulator:
        extra = {"ow_id": emulator.auth["password"]["ow_id"]} if ow_id else {}
        run = run_tap("tap-iqm", config(emulator, **extra))
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert stats["by_path"].get("/api/v3/ua/user/ow-id", 0) == lookups
    assert stats["by_path"]["/api/v3/ua/oauth/token"] == 1
    assert stats["by_status"].get("403", 0) == 0  # X-IAA-OW-ID from the first call


def test_no_secret_in_debug_output() -> None:
    with EmulatorProcess("iqm", "--seed", "9", "--scale", "10", "--token-ttl", "1",
                         "--latency-ms", "40", *RATE) as emulator:
        run = run_tap("tap-iqm", config(emulator, page_size=3), env=DEBUG)
        assert run.returncode == 0, run.stderr[-2000:]
        tokens = emulator.stats()["by_path"]["/api/v3/ua/oauth/token"]
        cfg = emulator.tap_config
    assert "DEBUG" in run.stderr
    assert tokens >= 2, "the run should have refreshed its token"
    basic = base64.b64encode(f"{cfg['client_id']}:{cfg['client_secret']}".encode()).decode()
    output = run.stdout + run.stderr
    assert [s for s in (cfg["client_secret"], cfg["password"], basic) if s in output] == []
    assert UUID.findall(run.stderr) == []  # access and refresh tokens are UUIDs
    assert not re.search(r"(Bearer|Basic) (?!\*\*\*)[A-Za-z0-9._~+/=-]{6,}", output)


@pytest.fixture(scope="module")
def quiet() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("iqm", "--seed", "2", "--scale", "5", *RATE) as emulator:
        yield emulator


@pytest.mark.parametrize(("change", "expected"), [
    ({"client_secret": "0" * 32}, ["client_id and client_secret", "Bad client credentials"]),
    ({"password": "wrong-password-1"}, ["username and password", "Bad credentials"]),
    ({"ow_id": 200002}, ["Forbidden", "ow_id", "permission"]),
    ({"reports": [{"name": "bad_report", "dimensions": ["campaign"],
                   "columns": ["impressions", "nonsense"]}]},
     ["bad_report", "unknown column nonsense", "valid column keys", "impressions"]),
    ({"reports": [{"name": "bad_dims", "dimensions": ["planet"], "columns": ["clicks"]}]},
     ["unknown dimension planet", "valid dimension keys", "campaign"]),
    ({"password": None}, ["Missing setting password", "TAP_IQM_PASSWORD"]),
    ({"api_url": "http://127.0.0.1:9"}, ["Cannot reach", "api_url"]),
    ({"report_timezone": "Mars/Olympus"}, ["time zone 'Mars/Olympus'", "US/Eastern"]),
])
def test_wrong_settings_are_one_clear_line(quiet: EmulatorProcess, change: dict[str, t.Any],
                                           expected: list[str]) -> None:
    cfg = {k: v for k, v in {**config(quiet), **change}.items() if v is not None}
    run = run_tap("tap-iqm", cfg)
    line = one_line_failure(run)
    for text in expected:
        assert text in line, line
    assert "wrong-password-1" not in run.stderr
    assert "0" * 32 not in run.stderr


def test_discovery_needs_no_credentials() -> None:
    cfg = {"reports": [{"name": "by_creative", "dimensions": ["creative", "deviceType"],
                        "columns": ["impressions", "eCPM"], "request_type": 3}]}
    catalog = json.loads(subprocess.run(
        [*tap_command("tap-iqm"), "--discover", "--config", "ENV"], capture_output=True,
        text=True, check=True, env=tap_env({"TAP_IQM_REPORTS": json.dumps(cfg["reports"])}),
    ).stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(streams) == {*PRIMARY_KEYS, "by_creative"}
    report = streams["by_creative"]
    assert report["key_properties"] == ["date", "creativeId", "deviceTypeId"]
    props = report["schema"]["properties"]
    assert props["impressions"]["type"] == ["integer", "null"]
    assert props["eCPM"]["type"] == ["number", "null"]
    assert "dateRange" in props


def test_401_mid_sync_renews_once() -> None:
    logins: list[int] = []

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("/oauth/token"):
            logins.append(n)
            return json_answer({"access_token": f"tok-{len(logins):04d}-abcdef",
                                "refresh_token": "ref-0001-abcdef", "expires_in": 35999})
        if path.endswith("/user/ow-id"):
            return json_answer({"success": True, "data": 4242})
        if path == "/api/v3/cmp/basic/list" and len(logins) == 1:
            return json_answer({"success": False, "errorObjects": [{"error": "Invalid token"}]},
                               401)
        if path.endswith("/timezones"):
            return json_answer({"success": True, "data": {"data": [{"id": 11, "name": "UTC"}]}})
        if path.endswith("/report/execute") or path.endswith("/detail"):
            return json_answer({"success": True, "data": {"data": [], "totalRecords": 0}})
        return json_answer({"success": True, "data": {k: [{"campaignId": 1, "ioId": 1,
                                                           "creativeId": 1, "audienceId": 1,
                                                           "id": 1}]
                                                       for k in ("data", "ioBasicDetailsList",
                                                                 "filteredList",
                                                                 "audienceList")}})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-iqm", {"api_url": server.url, "client_id": "c", "client_secret": "s",
                                  "username": "u", "password": "p",
                                  "max_requests_per_minute": 6000})
        paths = server.paths()
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(logins) == 2  # the login, then one refresh after the 401
    assert paths.count("/api/v3/ua/user/ow-id") == 1
    assert all(len(run.records[s]) == 1 for s in LIST_KEYS)


def test_headerless_429_waits_the_rate_window() -> None:
    policy = TapIQM(config={"client_id": "c"}, parse_env_config=False).runtime.policy
    response = requests.Response()
    response.status_code = 429
    error = requests.HTTPError(response=response)
    assert min(policy.wait_for(1, error) for _ in range(20)) >= 60  # IQM's window, no guess
    times: list[float] = []

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("/oauth/token"):
            return json_answer({"access_token": "tok-0001-abcdef", "expires_in": 35999,
                                "owId": 7})
        if path == "/api/v3/cmp/basic/list":
            times.append(time.monotonic())
            if len(times) == 1:
                return json_answer({"success": False, "errorObjects": [
                    {"error": "Too many requests"}]}, 429)
        if path.endswith("/timezones"):
            return json_answer({"success": True, "data": {"data": [{"id": 11, "name": "UTC"}]}})
        return json_answer({"success": True, "data": {k: [] for k in (
            "data", "ioBasicDetailsList", "filteredList", "audienceList")} | {"totalRecords": 0}})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-iqm", {"api_url": server.url, "client_id": "c", "client_secret": "s",
                                  "username": "u", "password": "p",
                                  "rate_limit_window_seconds": 1.5,
                                  "max_requests_per_minute": 6000})
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(times) == 2
    assert times[1] - times[0] >= 1.5


def test_scaled_limit_is_never_exceeded() -> None:
    # IQM's 20/min scaled 30x into a 3-second window: several windows' worth of requests.
    with EmulatorProcess("iqm", "--seed", "7", "--scale", "20",
                         "--rate-limit", "30/3") as emulator:
        run = run_tap("tap-iqm", config(emulator, page_size=10))
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert stats["requests_total"] > 50
    assert stats["by_status"].get("429", 0) == 0
    assert stats["max_requests_in_rate_window"] <= 30


def test_default_20_per_minute() -> None:
    """The one test at IQM's real limit: zero 429s and at most 20 requests in any minute."""
    with EmulatorProcess("iqm", "--seed", "1", "--scale", "5") as emulator:
        cfg = emulator.tap_config
        assert cfg["max_requests_per_minute"] == 20
        run = run_tap("tap-iqm", cfg)
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert stats["by_status"].get("429", 0) == 0
    assert stats["max_requests_in_rate_window"] <= 20


def test_about_describes_the_tap() -> None:
    about = json.loads(subprocess.run([*tap_command("tap-iqm"), "--about", "--format", "json"],
                                      capture_output=True, text=True, check=True,
                                      env=tap_env()).stdout)
    assert "campaign_daily_report" in about["description"]
    assert "20" in about["description"]
    settings = about["settings"]["properties"]
    assert settings["client_secret"]["secret"] is True
    assert settings["password"]["secret"] is True
    assert settings["max_requests_per_minute"]["default"] == 20


def test_a_refused_page_size_is_halved_and_the_list_read_whole() -> None:
    campaigns = [{"campaignId": i} for i in range(1, 601)]
    sizes: list[int] = []

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("/oauth/token"):
            return json_answer({"access_token": "tok-0001-abcdef", "expires_in": 35999,
                                "owId": 7})
        if path == "/api/v3/cmp/basic/list":
            body = server.bodies[-1]
            size, page = body["noOfEntries"], body["pageNo"]
            sizes.append(size)
            if size > 200:
                return json_answer({"success": False, "errorObjects": [
                    {"error": "Invalid page size", "field": "noOfEntries"}]}, 422)
            rows = campaigns[(page - 1) * size: page * size]
            return json_answer({"success": True, "data": {"data": rows, "totalRecords": 600,
                                                          "filteredRecords": 600}})
        if path.endswith("/timezones"):
            return json_answer({"success": True, "data": {"data": [{"id": 11, "name": "UTC"}]}})
        return json_answer({"success": True, "data": {k: [] for k in (
            "data", "ioBasicDetailsList", "filteredList", "audienceList")} | {"totalRecords": 0}})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-iqm", {"api_url": server.url, "client_id": "c", "client_secret": "s",
                                  "username": "u", "password": "p",
                                  "max_requests_per_minute": 6000})
    assert run.returncode == 0, run.stderr[-2000:]
    assert sizes[:2] == [500, 250]
    assert sizes[2:] == [125] * 5  # 600 rows in pages of 125
    assert sorted(r["campaignId"] for r in run.records["campaigns"]) == list(range(1, 601))
    assert "refused 250 rows per page: reading pages of 125" in run.stderr
