"""The emulator's command-line contract, driven over real sockets."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from emulators.process import EmulatorProcess, emulator_command

VERSION = {"api-version": "2024-04-01", "Amperity-Tenant": "acme"}


def headers(emulator: EmulatorProcess, token: str | None = None) -> dict[str, str]:
    return {**VERSION, "Authorization": f"Bearer {token or emulator.tap_config['access_token']}"}


def raw_get(url: str, hdrs: dict[str, str]) -> tuple[int, dict[str, str], bytes, str | None]:
    """A GET that reports exactly what arrived, even when the body is cut short."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    conn.request("GET", f"{parts.path}?{parts.query}", headers=hdrs)
    response = conn.getresponse()
    error = None
    try:
        body = response.read()
    except http.client.IncompleteRead as exc:
        body, error = exc.partial, "IncompleteRead"
    conn.close()
    return response.status, dict(response.getheaders()), body, error


def test_first_line_contract_and_clean_exit() -> None:
    emulator = EmulatorProcess("amperity", "--seed", "3").start()
    info = emulator.info
    assert set(info) == {"vendor", "base_url", "control_url", "tap_config", "auth"}
    assert info["vendor"] == "amperity"
    assert info["base_url"].startswith("http://127.0.0.1:")
    assert info["control_url"] == info["base_url"].removesuffix("/api") + "/_emulator"
    assert {"api_url", "tenant", "access_token", "start_date"} <= set(info["tap_config"])
    assert set(info["auth"]) == {"token", "client_credentials"}
    assert set(info["auth"]["client_credentials"]) == {"client_id", "client_secret", "token_url"}
    assert requests.get(info["base_url"] + "/segments", headers=headers(emulator), timeout=5).ok
    assert emulator.stop() == 0


def test_every_vendor_has_an_emulator_and_others_are_refused() -> None:
    from emulators.cli import VENDORS  # noqa: PLC0415

    assert sorted(VENDORS) == ["adnuntius", "amperity", "iqm", "kissmetrics"]
    result = subprocess.run([*emulator_command(), "acme-ads"], capture_output=True, text=True,
                            timeout=20, check=False)
    assert result.returncode == 2
    assert "invalid choice: 'acme-ads'" in result.stderr


def _first_pages(emulator: EmulatorProcess) -> list[bytes]:
    paths = ["/audit-events", "/campaigns", "/segments", "/workflow/runs"]
    return [requests.get(emulator.base_url + p, headers=headers(emulator), timeout=5).content
            for p in paths]


def test_seed_makes_data_deterministic() -> None:
    with EmulatorProcess("amperity", "--seed", "42") as a, EmulatorProcess("amperity", "--seed", "42") as b:
        # Timestamps are relative to each emulator's start, so compare ids only.
        ids = [[r.get("id") or r.get("event_id") for r in json.loads(page)["data"]]
               for page in _first_pages(a)]
        assert ids == [[r.get("id") or r.get("event_id") for r in json.loads(page)["data"]]
                       for page in _first_pages(b)]
        assert a.tap_config["access_token"] == b.tap_config["access_token"]
    with EmulatorProcess("amperity", "--seed", "43") as c:
        assert json.loads(_first_pages(c)[1])["data"][0]["id"] != ids[1][0]


def test_a_million_records_start_at_once() -> None:
    started = time.monotonic()
    with EmulatorProcess("amperity", "--scale", "1000000") as emulator:
        counts = emulator.counts()
        page = requests.get(emulator.base_url + "/indexes/idx-web/profiles",
                            params={"limit": 1000},
                            headers={**headers(emulator), "api-version": "2025-07-31"}, timeout=10)
    assert time.monotonic() - started < 10
    assert counts["profiles"] == 3_000_000
    assert len(page.json()["data"]) == 1000


@pytest.fixture
def faulty() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "5", "--rate-limit", "1000/1") as emulator:
        yield emulator


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults_look_like_the_vendor(faulty: EmulatorProcess, status: int) -> None:
    faulty.set_faults(f"{status}=1")
    response = requests.get(faulty.base_url + "/segments", headers=headers(faulty), timeout=5)
    assert response.status_code == status
    assert set(response.json()) == {"status", "message"}
    assert "Retry-After" not in response.headers  # Amperity documents none
    assert faulty.stats()["by_fault"][str(status)] == 1


def test_reset_drops_the_connection_mid_body(faulty: EmulatorProcess) -> None:
    faulty.set_faults("reset=1")
    _, hdrs, body, error = raw_get(faulty.base_url + "/segments", headers(faulty))
    assert error == "IncompleteRead"
    assert 0 < len(body) < int(hdrs["content-length"])


def test_truncate_alternates_with_and_without_length(faulty: EmulatorProcess) -> None:
    faulty.set_faults("truncate=1")
    first = raw_get(faulty.base_url + "/segments", headers(faulty))
    second = raw_get(faulty.base_url + "/segments", headers(faulty))
    assert first[3] == "IncompleteRead"
    assert "content-length" not in {k.lower() for k in second[1]}
    assert second[3] is None
    assert second[0] == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(second[2])


def test_slow_outlasts_the_tap_timeout(faulty: EmulatorProcess) -> None:
    faulty.set_faults("slow=1")
    timeout = faulty.tap_config["request_timeout_seconds"]
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(faulty.base_url + "/segments", headers=headers(faulty), timeout=timeout)
    faulty.set_faults("")
    assert requests.get(faulty.base_url + "/segments", headers=headers(faulty), timeout=5).ok


def test_bad_fault_spec_is_refused(faulty: EmulatorProcess) -> None:
    with pytest.raises(requests.HTTPError):
        faulty.set_faults("explode=0.5")


def test_rate_limit_answers_429_and_is_measured() -> None:
    with EmulatorProcess("amperity", "--rate-limit", "5/1") as emulator:
        statuses = [requests.get(emulator.base_url + "/segments", headers=headers(emulator),
                                 timeout=5).status_code for _ in range(8)]
        stats = emulator.stats()
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    assert stats["by_status"]["429"] == statuses.count(429)
    assert stats["max_requests_in_rate_window"] == 5  # refused requests are not counted


def test_token_ttl_expires_client_credential_tokens() -> None:
    with EmulatorProcess("amperity", "--token-ttl", "1") as emulator:
        creds = emulator.auth["client_credentials"]
        grant = requests.post(creds["token_url"], data={
            "grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]}, headers={"X-Amperity-Tenant": "acme"},
            timeout=5).json()
        assert grant["expires_in"] == 1
        url = emulator.base_url + "/segments"
        assert requests.get(url, headers=headers(emulator, grant["access_token"]), timeout=5).ok
        time.sleep(1.2)
        expired = requests.get(url, headers=headers(emulator, grant["access_token"]), timeout=5)
        assert expired.status_code == 401
        assert requests.get(url, headers=headers(emulator), timeout=5).ok  # static token lives


def _page_through(emulator: EmulatorProcess, path: str, version: str, **params: t.Any) -> list[dict]:
    records, token, pages = [], None, 0
    while True:
        query = {"limit": 9, **params, **({"next_token": token} if token else {})}
        body = requests.get(emulator.base_url + path, params=query,
                            headers={**headers(emulator), "api-version": version}, timeout=5).json()
        records += body["data"]
        pages += 1
        token = body.get("next_token")
        if not token:
            return records


def test_counts_equal_what_paging_yields_and_mutate_changes_them() -> None:
    with EmulatorProcess("amperity", "--scale", "50", "--rate-limit", "1000/1") as emulator:
        start = emulator.tap_config["start_date"]
        counts = emulator.counts()
        assert len(_page_through(emulator, "/audit-events", "2024-04-01",
                                 happened_from=start)) == counts["audit_events"]
        assert len(_page_through(emulator, "/campaigns", "2024-04-01")) == counts["campaigns"]
        profiles = _page_through(emulator, "/indexes/idx-loyalty/profiles", "2025-07-31")
        assert len({p["id"] for p in profiles}) == 50
        result = emulator.mutate(3)
        assert result["counts"]["audit_events"] == counts["audit_events"] + 3
        assert result["counts"]["profiles"] == counts["profiles"] + 3
        renamed = [c for c in _page_through(emulator, "/campaigns", "2024-04-01")
                   if c["name"].endswith("(renamed)")]
        assert len(renamed) == 3
        runs = _page_through(emulator, "/workflow/runs", "2024-04-01")
        assert sum(1 for r in runs if r["state"] == "running") >= 3


def test_truncation_without_length_crashes_a_stock_sdk_tap(tmp_path: Path) -> None:
    """The fault is faithful: a stock tap retries the first variant, dies on the second."""
    with EmulatorProcess("amperity", "--faults", "truncate=1") as emulator:
        config = tmp_path / "config.json"
        config.write_text(json.dumps(emulator.tap_config))
        stock = Path(__file__).resolve().parent.parent / "benchmarks" / "stock_amperity_profiles.py"
        result = subprocess.run([sys.executable, str(stock), "--config", str(config)],
                                capture_output=True, text=True, timeout=120, check=False)
        assert emulator.stats()["by_fault"]["truncate"] == 2
    assert result.returncode != 0
    assert "JSONDecodeError" in result.stderr or "Expecting" in result.stderr
