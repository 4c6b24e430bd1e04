"""tap-adnuntius authentication: API keys, password logins with rotating refresh tokens,
two-factor users, secrets kept out of DEBUG output, and one clear line per wrong setting."""

from __future__ import annotations

import json
import re
import time
import typing as t

import pytest
from adnuntius_helpers import LIST_STREAMS, assert_complete, config, days_ago, one_line_failure
from misbehaving import MisbehavingServer, json_answer
from tap_runner import run_tap

from emulators.process import EmulatorProcess
from taps.adnuntius.tap import TapAdnuntius

DEBUG = {"TAP_ADNUNTIUS_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG"}
#: The emulator's access, refresh and temporary two-factor tokens.
TOKEN_PATTERN = re.compile(r"adn-(?:at|rt|2fa)-[0-9a-f]{6,}")


def password_config(emulator: EmulatorProcess, login: str = "password",
                    **extra: t.Any) -> dict[str, t.Any]:
    base = {k: v for k, v in config(emulator, **extra).items() if k != "api_key"}
    credentials = {k: v for k, v in emulator.auth[login].items() if k in {"username",
                                                                           "password"}}
    return {**base, **credentials}


def test_token_refreshed_mid_sync_with_rotation() -> None:
    with EmulatorProcess("adnuntius", "--seed", "3", "--scale", "40", "--token-ttl", "1",
                         "--latency-ms", "30") as emulator:
        started = time.monotonic()
        run = run_tap("tap-adnuntius", password_config(emulator, page_size=10))
        elapsed = time.monotonic() - started
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert elapsed > 2.5, "sync too short to cross the token lifetime"
    assert stats["by_path"]["/api/authenticate"] >= 3, "the token was never refreshed"
    # A reused (rotated-out) refresh token is refused with a 401; a token used after expiry
    # is a 401 too. Neither happened.
    assert stats["by_status"].get("401", 0) == 0
    assert "Refreshing the access token failed" not in run.stderr


def test_401_mid_sync_renews_once_and_retries() -> None:
    logins: list[str] = []

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/authenticate":
            logins.append(path)
            return json_answer({"access_token": f"tok-{len(logins):04d}-abcdef",
                                "token_type": "bearer", "expires_in": "3600",
                                "refresh_token": f"ref-{len(logins):04d}-abcdef"})
        if path == "/api/v1/adunits" and len(logins) == 1:
            return json_answer({"type": "ErrorMessage", "code": "error.authentication.expired",
                                "text": "Access token expired", "params": {}}, 401)
        if path.endswith("/stats"):
            return json_answer({"chunks": []})
        return json_answer({"results": [{"id": "only-one"}], "totalCount": 1})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-adnuntius", {"api_url": f"{server.url}/api", "network": "n",
                                        "username": "u@example.com", "password": "pw-123456",
                                        "start_date": days_ago(0),
                                        "max_requests_per_minute": 6000})
        paths = server.paths()
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(logins) == 2  # the login, then one refresh after the 401
    assert paths[:4] == ["/api/authenticate", "/api/v1/adunits", "/api/authenticate",
                         "/api/v1/adunits"]
    assert all(len(run.records[s]) == 1 for s in LIST_STREAMS)


@pytest.mark.parametrize("mode", ["api_key", "password"])
def test_no_secret_in_debug_output(mode: str) -> None:
    with EmulatorProcess("adnuntius", "--seed", "9", "--scale", "10",
                         "--token-ttl", "1", "--latency-ms", "40") as emulator:
        cfg = (config(emulator, start_date=days_ago(2)) if mode == "api_key" else
               password_config(emulator, start_date=days_ago(2), page_size=3))
        run = run_tap("tap-adnuntius", cfg, env=DEBUG)
        assert run.returncode == 0, run.stderr[-2000:]
        refreshes = emulator.stats()["by_path"].get("/api/authenticate", 0)
    assert "DEBUG" in run.stderr
    if mode == "password":
        assert refreshes >= 2, "the run should have refreshed its token"
    output = run.stdout + run.stderr
    secrets = [str(v) for k, v in emulator.auth[mode].items() if k != "username"]
    assert [s for s in secrets if s in output] == []
    assert TOKEN_PATTERN.findall(output) == []
    assert not re.search(r"Bearer (?!\*\*\*)[A-Za-z0-9._~+/-]{6,}", output)
    assert "auth_token" not in output


@pytest.fixture(scope="module")
def quiet_emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("adnuntius", "--seed", "2", "--scale", "5") as emulator:
        yield emulator


@pytest.mark.parametrize("login", ["two_factor", "forced_two_factor"])
def test_two_factor_user_is_told_to_use_an_api_key(quiet_emulator: EmulatorProcess,
                                                   login: str) -> None:
    run = run_tap("tap-adnuntius", password_config(quiet_emulator, login), env=DEBUG)
    line = one_line_failure(run)
    assert "two-factor" in line
    assert "API keys" in line
    assert "api_key" in line
    # The step-up answer carries a temporary access token: it must appear nowhere.
    assert TOKEN_PATTERN.findall(run.stdout + run.stderr) == []
    assert quiet_emulator.auth[login]["password"] not in run.stderr


def test_wrong_password_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    cfg = {**password_config(quiet_emulator), "password": "wrong-password-1"}
    line = one_line_failure(run_tap("tap-adnuntius", cfg))
    assert "Invalid username or password" in line
    assert "username, password" in line
    assert "wrong-password-1" not in line


def test_wrong_api_key_is_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    run = run_tap("tap-adnuntius", {**config(quiet_emulator), "api_key": "not-a-real-key"})
    assert "check api_key" in one_line_failure(run)
    assert "not-a-real-key" not in run.stderr


def test_unknown_network_names_the_setting(quiet_emulator: EmulatorProcess) -> None:
    line = one_line_failure(run_tap("tap-adnuntius", {**config(quiet_emulator),
                                                      "network": "someone_else"}))
    assert "network setting" in line
    assert "someone_else" in line


def test_missing_settings_are_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    cfg = {k: v for k, v in config(quiet_emulator).items() if k != "network"}
    assert "Missing setting network" in one_line_failure(run_tap("tap-adnuntius", cfg))
    cfg = {k: v for k, v in config(quiet_emulator).items() if k != "api_key"}
    line = one_line_failure(run_tap("tap-adnuntius", cfg))
    assert "api_key" in line
    assert "username and password" in line


def test_bad_numbers_and_zones_are_one_clear_line(quiet_emulator: EmulatorProcess) -> None:
    line = one_line_failure(run_tap("tap-adnuntius", {**config(quiet_emulator),
                                                      "page_base": 2}))
    assert "page_base" in line
    line = one_line_failure(run_tap("tap-adnuntius", {**config(quiet_emulator),
                                                      "report_timezone": "Asia/Kathmandu"}))
    assert "report_timezone" in line
    assert "half hour" in line


@pytest.mark.parametrize("mode", ["api_key", "password"])
def test_unreachable_url_is_one_clear_line(quiet_emulator: EmulatorProcess, mode: str) -> None:
    cfg = config(quiet_emulator) if mode == "api_key" else password_config(quiet_emulator)
    line = one_line_failure(run_tap("tap-adnuntius", {**cfg, "api_url": "http://127.0.0.1:9/api"}))
    assert "Cannot reach" in line
    assert "api_url" in line


def test_about_describes_the_tap() -> None:
    import subprocess  # noqa: PLC0415

    from tap_runner import tap_command, tap_env  # noqa: PLC0415

    about = json.loads(subprocess.run([*tap_command("tap-adnuntius"), "--about", "--format",
                                       "json"], capture_output=True, text=True, check=True,
                                      env=tap_env()).stdout)
    assert "line_item_daily_stats" in about["description"]
    assert "API keys" in about["description"]
    settings = about["settings"]["properties"]
    for name, spec in TapAdnuntius.config_jsonschema["properties"].items():
        if "integer" in spec.get("type", []) and "title" not in spec:  # SDK ones have titles
            assert "minimum" in spec, f"{name} has no minimum"
    assert settings["api_key"]["secret"] is True
    assert settings["password"]["secret"] is True
