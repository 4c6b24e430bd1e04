"""The framework's HTTP behaviour every vendor inherits, driven over real sockets."""

from __future__ import annotations

import base64
import json
import statistics
import time
import typing as t

import pytest
import requests

from emulators.process import EmulatorProcess

CONTROL = {"api-version": "2024-04-01", "Amperity-Tenant": "acme"}
PROFILE = {**CONTROL, "api-version": "2025-07-31"}


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "8", "--scale", "120",
                         "--rate-limit", "100000/1") as emu:
        yield emu


def auth(emulator: EmulatorProcess, base: dict[str, str] = CONTROL) -> dict[str, str]:
    return {**base, "Authorization": f"Bearer {emulator.tap_config['access_token']}"}


def test_small_pages_answer_in_a_few_milliseconds(emulator: EmulatorProcess) -> None:
    """TCP_NODELAY on accepted sockets: no ~40 ms delayed-ACK stall per keep-alive response."""
    session = requests.Session()
    url, hdrs = emulator.base_url + "/segments", auth(emulator)
    session.get(url, params={"limit": 5}, headers=hdrs, timeout=5).raise_for_status()
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        response = session.get(url, params={"limit": 5}, headers=hdrs, timeout=5)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    assert statistics.median(timings) < 15, f"median {statistics.median(timings):.1f} ms"
