"""tap-kissmetrics: secrets kept out of DEBUG output, one clear line per wrong setting, and
stuck or failing queries failing their window while earlier bookmarks stay."""

from __future__ import annotations

import json
import re
import subprocess
import typing as t

import pytest
import requests
from tap_runner import run_tap, tap_command, tap_env
from test_kissmetrics_e2e import config, one_line_failure

from emulators.process import EmulatorProcess
from taps.kissmetrics.tap import TapKissmetrics

DEBUG = {"TAP_KISSMETRICS_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG"}


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("kissmetrics", "--seed", "2", "--scale", "20", "--query-polls", "1",
                         "--problem-reports") as emulator:
        yield emulator


def reports(emulator: EmulatorProcess) -> list[dict[str, t.Any]]:
    answer = requests.get(f"{emulator.tap_config['core_api_url']}/reports?limit=100", timeout=10,
                          headers={"Authorization": f"Bearer {emulator.tap_config['api_token']}"})
    return answer.json()["data"]


def report_id(emulator: EmulatorProcess, *, name: str = "", kind: str = "") -> str:
    return next(r["id"] for r in reports(emulator)
                if name in r["name"] and (not kind or r["report_type"] == kind))


def test_no_secret_in_debug_output(emulator: EmulatorProcess) -> None:
    good = report_id(emulator, kind="people_search_v2")
    run = run_tap("tap-kissmetrics", config(emulator, report_ids=[good]), env=DEBUG)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "DEBUG" in run.stderr
    output = run.stdout + run.stderr
    for secret in (emulator.tap_config["api_token"],
                   emulator.tap_config["aws_secret_access_key"]):
        assert secret not in output
    assert not re.search(r"Bearer (?!\*\*\*)[A-Za-z0-9._~+/-]{6,}", output)


def test_bad_token_is_one_clear_line(emulator: EmulatorProcess) -> None:
    run = run_tap("tap-kissmetrics", config(emulator, api_token="not-a-real-token"))
    line = one_line_failure(run)
    assert "check api_token" in line
    assert "not-a-real-token" not in run.stderr


def test_unknown_report_id_is_one_clear_line(emulator: EmulatorProcess) -> None:
    line = one_line_failure(run_tap("tap-kissmetrics", config(emulator,
                                                               report_ids=["no-such-id"])))
    assert "report_ids lists no-such-id" in line


def test_non_runnable_report_is_skipped_with_one_line(emulator: EmulatorProcess) -> None:
    funnel = report_id(emulator, kind="funnel")
    run = run_tap("tap-kissmetrics", config(emulator, report_ids=[funnel]))
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "cannot be run" in line]
    assert len(warnings) == 1
    assert funnel in warnings[0]
    assert "funnel" in warnings[0]
    assert not run.records["report_results"]


@pytest.mark.parametrize("setting", ["core_api_url", "query_api_url"])
def test_unreachable_host_names_the_setting(emulator: EmulatorProcess, setting: str) -> None:
    run = run_tap("tap-kissmetrics", config(emulator, **{setting: "http://127.0.0.1:9/x"}))
    line = one_line_failure(run)
    assert "Cannot reach" in line
    assert f"{setting} setting" in line


def test_plain_http_to_a_remote_host_is_refused(emulator: EmulatorProcess) -> None:
    run = run_tap("tap-kissmetrics", config(emulator,
                                            query_api_url="http://query.kissmetrics.com/v2"))
    line = one_line_failure(run)
    assert "query_api_url" in line
    assert "https://" in line


def test_missing_bucket_is_one_clear_line(emulator: EmulatorProcess) -> None:
    run = run_tap("tap-kissmetrics", config(emulator, export_bucket="no-such-bucket",
                                            report_ids=[]))
    line = one_line_failure(run)
    assert "'no-such-bucket' does not exist" in line
    assert "export_bucket" in line


@pytest.mark.parametrize(("problem", "expected"), [
    ("Stuck query", "did not finish within 1 s"), ("Failing query", "Query failed")])
def test_problem_query_fails_its_window_and_keeps_earlier_bookmarks(
        emulator: EmulatorProcess, problem: str, expected: str) -> None:
    good = report_id(emulator, kind="people_search_v2")
    bad = report_id(emulator, name=problem)
    run = run_tap("tap-kissmetrics", config(emulator, report_ids=[good, bad],
                                            query_timeout_seconds=1, max_retries=1))
    line = one_line_failure(run)
    assert bad in line
    assert expected in line
    assert re.search(r"window \d{4}-\d\d-\d\d \[", line), "the window is named"
    parts = run.states[-1]["bookmarks"]["report_results"]["partitions"]
    marks = {p["context"]["report_id"]: p.get("replication_key_value") for p in parts}
    assert marks.get(good), "the good report's completed windows keep their bookmark"
    assert not marks.get(bad)
    assert {r["report_id"] for r in run.records["report_results"]} == {good}


def test_about_describes_the_tap() -> None:
    about = json.loads(subprocess.run([*tap_command("tap-kissmetrics"), "--about", "--format",
                                       "json"], capture_output=True, text=True, check=True,
                                      env=tap_env()).stdout)
    assert "report_results" in about["description"]
    assert "raw_events" in about["description"]
    settings = about["settings"]["properties"]
    assert settings["api_token"]["secret"] is True
    assert settings["aws_secret_access_key"]["secret"] is True
    assert "api_url" not in settings
    assert set(TapKissmetrics.url_settings) == {"core_api_url", "query_api_url"}
