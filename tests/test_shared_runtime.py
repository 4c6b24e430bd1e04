"""The shared runtime under bad luck, bad input and signals, with a real tap process.

Every check compares what reached stdout with what the server sent (or the SDK counted),
never with what the tap logged about itself.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from collections import Counter
from pathlib import Path

import pytest
from misbehaving import MisbehavingServer, json_answer
from tap_runner import TapRun, catalog_selecting, run_tap, tap_args, tap_command, tap_env

from emulators.process import EmulatorProcess

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the module only from Python 3.10 on Linux
SIGNAL_RUNS = int(os.environ.get("SIGNAL_RUNS", "4"))


def record_counts(stderr: str) -> Counter[str]:
    """The SDK's own record_count metrics, summed per stream."""
    counts: Counter[str] = Counter()
    for line in stderr.splitlines():
        if '"metric":"record_count"' in line:
            metric = json.loads(line.split("METRIC: ", 1)[1])
            counts[metric["tags"]["stream"]] += metric["value"]
    return counts


def only(stream: str, config: dict) -> dict:
    """A catalog from --discover with just ``stream`` selected."""
    return catalog_selecting("tap-amperity", config, [stream])


def error_line(run: TapRun) -> str:
    """The one error line a failed run ends with."""
    assert run.returncode != 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "tap-amperity: error: " in line]
    assert len(lines) == 1, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1] == lines[0]
    return lines[0]


# Records lost at the end of a run -----------------------------------------------------------

def test_a_full_table_stream_alone_reaches_stdout_whole() -> None:
    with EmulatorProcess("amperity", "--seed", "6", "--scale", "12000",
                         "--rate-limit", "100/1") as emulator:
        config = {**emulator.tap_config, "max_requests_per_minute": 6000}
        run = run_tap("tap-amperity", config, catalog=only("campaigns", config))
        assert run.returncode == 0, run.stderr[-2000:]
        served = emulator.counts()["campaigns"]
        assert served > 10_000
        assert len(run.records["campaigns"]) == served
        assert len(set(run.keys("campaigns", ("id",)))) == served
        assert record_counts(run.stderr)["campaigns"] == served


def test_a_rerun_from_the_final_state_writes_every_record_it_counts() -> None:
    with EmulatorProcess("amperity", "--seed", "9", "--scale", "400") as emulator:
        first = run_tap("tap-amperity", emulator.tap_config)
        assert first.returncode == 0, first.stderr[-2000:]
        second = run_tap("tap-amperity", emulator.tap_config, state=first.states[-1])
        assert second.returncode == 0, second.stderr[-2000:]
        counted = record_counts(second.stderr)
        assert counted["workflow_runs"] > 0, "the look-back re-read nothing"
        for stream in ("workflow_runs", "audit_events", "ingest_jobs", "campaigns"):
            assert len(second.records[stream]) == counted[stream], stream


# Signals ------------------------------------------------------------------------------------

def _interrupt_through_small_pipe(emulator: EmulatorProcess, sig: int, delay: float) -> tuple[
        int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        args = tap_args("tap-amperity", {**emulator.tap_config, "profile_page_size": 1000},
                        Path(tmp))
        proc = subprocess.Popen(args, env=tap_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)
        chunks: list[bytes] = []
        started = time.monotonic()
        signalled = False
        while True:
            if not signalled and time.monotonic() - started > delay:
                proc.send_signal(sig)
                signalled = True
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            chunks.append(chunk)
            time.sleep(0.002)  # a slow reader: the tap's writes block on a full pipe
        returncode = proc.wait(timeout=60)
    return returncode, b"".join(chunks).decode().splitlines()


@pytest.mark.parametrize("run", range(SIGNAL_RUNS))
def test_a_signal_never_corrupts_stdout(run: int) -> None:
    sig = signal.SIGTERM if run % 2 == 0 else signal.SIGINT
    with EmulatorProcess("amperity", "--seed", str(20 + run), "--scale", "3000") as emulator:
        delay = random.Random(run).uniform(1.0, 2.5)
        returncode, lines = _interrupt_through_small_pipe(emulator, sig, delay)
    messages = [json.loads(line) for line in lines]  # every line whole JSON
    assert returncode == 128 + sig
    assert messages[-1]["type"] == "STATE", "the final STATE is the last line"
    keys = [(m["stream"], json.dumps(m["record"], sort_keys=True))
            for m in messages if m["type"] == "RECORD"]
    assert len(keys) == len(set(keys)), "a block was written twice"


def test_a_closed_reader_ends_the_run_with_one_line() -> None:
    with EmulatorProcess("amperity", "--seed", "3", "--scale", "2000") as emulator, \
            tempfile.TemporaryDirectory() as tmp:
        args = tap_args("tap-amperity", emulator.tap_config, Path(tmp))
        proc = subprocess.Popen(args, env=tap_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        proc.stdout.read(1000)
        proc.stdout.close()
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    line = error_line(TapRun(proc.returncode, "", stderr))
    assert "stdout was closed" in line


# Pagination that would never end -------------------------------------------------------------

def _static(server: MisbehavingServer, **extra: t.Any) -> dict:
    return {"api_url": f"{server.url}/api", "tenant": "acme", "access_token": "tok-static-1",
            "backoff_base_milliseconds": 10, **extra}


def _segments(route: t.Callable[[dict[str, str], int], t.Any]) -> MisbehavingServer:
    def answer(path: str, query: dict[str, str], n: int) -> t.Any:
        return route(query, n)
    return MisbehavingServer(answer)


def test_alternating_cursors_end_with_a_clear_error() -> None:
    def route(query: dict[str, str], n: int) -> t.Any:
        token = "B" if query.get("next_token") == "A" else "A"
        return json_answer({"data": [{"id": f"s{n}"}], "next_token": token})

    with _segments(route) as server:
        config = _static(server)
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
    line = error_line(run)
    assert "GET /api/segments" in line
    assert "'A' again" in line
    assert len(server.requests) == 3


def test_endless_empty_pages_end_with_a_clear_error() -> None:
    with _segments(lambda q, n: json_answer({"data": [], "next_token": f"t{n}"})) as server:
        config = _static(server)
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
    assert "empty pages in a row" in error_line(run)
    assert len(server.requests) == 25


def test_an_integer_cursor_is_followed() -> None:
    def route(query: dict[str, str], n: int) -> t.Any:
        page = int(query.get("next_token", "1"))
        body: dict[str, t.Any] = {"data": [{"id": f"s{page}-{i}"} for i in range(3)]}
        if page < 3:
            body["next_token"] = page + 1
        return json_answer(body)

    with _segments(route) as server:
        config = _static(server)
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(run.records["segments"]) == 9


# Permanent errors fail fast, with the vendor's words -----------------------------------------

def test_an_html_page_with_200_fails_after_two_quick_retries() -> None:
    html = (200, {"Content-Type": "text/html"}, b"<html><body>Maintenance window</body></html>")
    with _segments(lambda q, n: html) as server:
        config = _static(server, backoff_base_milliseconds=300)
        started = time.monotonic()
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
        elapsed = time.monotonic() - started
    line = error_line(run)
    assert "Maintenance window" in line
    assert "text/html" in line
    assert len(server.requests) == 3
    assert elapsed < 30  # a bound on a hang (was 206-224 s), not a speed figure


def test_an_error_envelope_with_200_is_not_retried() -> None:
    envelope = json_answer({"status": 500, "message": "Query engine unavailable",
                            "request_id": "req-42"})
    with _segments(lambda q, n: envelope) as server:
        config = _static(server)
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
    line = error_line(run)
    assert "Query engine unavailable" in line
    assert "request_id=req-42" in line
    assert len(server.requests) == 1


def test_a_token_url_answering_html_fails_fast_naming_it() -> None:
    page = (200, {"Content-Type": "text/html"}, b"<html>Sign in</html>")
    with MisbehavingServer(lambda path, query, n: page) as server:
        config = {"api_url": f"{server.url}/api", "tenant": "acme", "client_id": "cid-1",
                  "client_secret": "csecret-ZZZ-123", "token_url": f"{server.url}/oauth/token",
                  "backoff_base_milliseconds": 10}
        run = run_tap("tap-amperity", config, catalog=only("segments", config), timeout=60)
    line = error_line(run)
    assert "token_url" in line
    assert "text/html" in line
    assert len(server.requests) == 3


# Bookmarks in the future ---------------------------------------------------------------------

def test_a_future_bookmark_is_clamped_to_the_run_start() -> None:
    future = {"bookmarks": {"audit_events": {"replication_key": "happened_at",
                                             "replication_key_value": "2099-01-01T00:00:00Z"}}}
    with EmulatorProcess("amperity", "--seed", "4", "--scale", "50") as emulator:
        before = dt.datetime.now(dt.timezone.utc)
        run = run_tap("tap-amperity", emulator.tap_config, state=future)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"WARNING.*Bookmark of stream audit_events is in the future", run.stderr)
    final = run.states[-1]["bookmarks"]["audit_events"]["replication_key_value"]
    assert not final.startswith("2099")
    assert dt.datetime.fromisoformat(final.replace("Z", "+00:00")) >= before


# Settings that used to hang or crash ----------------------------------------------------------

BAD_SETTINGS = [
    ({"max_retries": -1}, "max_retries", "at least 0"),
    ({"backoff_base_milliseconds": -5}, "backoff_base_milliseconds", "at least 0"),
    ({"max_wait_seconds": -1}, "max_wait_seconds", "at least 0"),
    ({"request_timeout_seconds": 0}, "request_timeout_seconds", "at least 1"),
    ({"start_date": "yesterday"}, "start_date", "ISO-8601"),
    ({"page_size": "abc"}, "page_size", "whole number"),
    ({"page_sise": 10}, "page_sise", "did you mean page_size"),
    ({"max_requests_per_minute": 0}, "max_requests_per_minute", "at least 1"),
]


@pytest.mark.parametrize(("extra", "setting", "hint"), BAD_SETTINGS)
def test_a_wrong_setting_is_one_line_before_any_request(extra: dict, setting: str,
                                                        hint: str) -> None:
    with MisbehavingServer(lambda path, query, n: json_answer({"data": []})) as server:
        run = run_tap("tap-amperity", {**_static(server), **extra}, timeout=60)
    line = error_line(run)
    assert setting in line
    assert hint in line
    assert server.requests == []


@pytest.mark.parametrize(("content", "expected"), [
    ('{"bookmarks": {"audit_ev', "not valid JSON"),
    ("[1, 2]", "holds list"),
    ('{"bookmarks": {"audit_events": 5}}', "bookmark of stream audit_events"),
])
def test_a_bad_state_file_is_one_line_naming_it(tmp_path: Path, content: str,
                                               expected: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:9/api", "tenant": "acme",
                                  "access_token": "tok-static-1"}))
    proc = subprocess.run([*tap_command("tap-amperity"), "--config", str(config), "--state",
                           str(state)], capture_output=True, text=True, env=tap_env(),
                          check=False, timeout=60)
    line = error_line(TapRun(proc.returncode, proc.stdout, proc.stderr))
    assert str(state) in line
    assert expected in line


@pytest.mark.parametrize(("content", "expected"), [(None, "does not exist"),
                                                   ("{oops", "not valid JSON")])
def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path, content: str | None,
                                                expected: str) -> None:
    config = tmp_path / "config.json"
    if content is not None:
        config.write_text(content)
    proc = subprocess.run([*tap_command("tap-amperity"), "--config", str(config)],
                          capture_output=True, text=True, env=tap_env(), check=False,
                          timeout=60)
    line = error_line(TapRun(proc.returncode, proc.stdout, proc.stderr))
    assert str(config) in line
    assert expected in line


# What an operator reads --------------------------------------------------------------------

def test_routine_noise_is_gone_and_both_auth_modes_are_explained() -> None:
    with EmulatorProcess("amperity", "--seed", "2", "--scale", "20") as emulator:
        config = {**emulator.tap_config, **emulator.auth["client_credentials"]}
        run = run_tap("tap-amperity", config)
    assert run.returncode == 0, run.stderr[-2000:]
    for noise in ("Stream is assumed to be unsorted", "Skipping parse of env var settings"):
        assert noise not in run.stderr
    assert "using the OAuth client credentials; access_token ignored." in run.stderr


def test_error_lines_have_no_doubled_periods() -> None:
    with EmulatorProcess("amperity", "--seed", "2", "--scale", "5") as emulator:
        run = run_tap("tap-amperity", {**emulator.tap_config, "tenant": "wrong-tenant"})
    line = error_line(run)
    assert "tenant" in line
    assert ".." not in line


@pytest.mark.meltano
def test_the_fatal_line_shows_in_meltano_at_warning_level(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    meltano = root / ".venv-meltano" / "bin" / "meltano"
    if not meltano.exists():
        pytest.skip("Meltano is not installed: run scripts/setup.sh")
    env = {**tap_env(), "TAP_AMPERITY_API_URL": "http://127.0.0.1:9/api",
           "TAP_AMPERITY_TENANT": "acme", "TAP_AMPERITY_ACCESS_TOKEN": "tok-static-1",
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    proc = subprocess.run([str(meltano), f"--env-file={os.devnull}", "--log-level=warning",
                           "run", "tap-amperity", "target-jsonl"], cwd=root, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert re.search(r"\[error\s*\] tap-amperity .*Cannot reach http://127.0.0.1:9/api", output)


def test_start_up_imports_nothing_only_a_wrong_setting_needs() -> None:
    """difflib (35 ms of every start-up) is imported only to suggest a misspelt setting."""
    code = ("import sys, taps.adnuntius.tap, taps.amperity.tap, taps.iqm.tap, "
            "taps.kissmetrics.tap; print('difflib' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "False"
