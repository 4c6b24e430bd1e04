"""Run ``tap-emulator`` as a real process and use its control endpoints (tests, demo, bench)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

import requests


def emulator_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m emulators``."""
    script = Path(sys.executable).parent / "tap-emulator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "emulators"]


class EmulatorProcess:
    """``with EmulatorProcess("amperity", "--scale", "100") as emu: emu.tap_config ...``."""

    def __init__(self, vendor: str, *args: str, startup_timeout: float = 20) -> None:
        """Remember the command; ``start()`` (or ``with``) launches it."""
        self.args = [*emulator_command(), vendor, "--port", "0", *args]
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, t.Any] = {}

    def start(self) -> EmulatorProcess:
        """Launch and read the first stdout line (the contract's JSON)."""
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                                     text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        if not line or not line[0].strip():
            self.proc.kill()
            _, err = self.proc.communicate()
            msg = f"emulator did not start: {err[-2000:]}"
            raise RuntimeError(msg)
        self.info = json.loads(line[0])
        return self

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> EmulatorProcess:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    @property
    def base_url(self) -> str:
        """The vendor API's base URL."""
        return self.info["base_url"]

    @property
    def tap_config(self) -> dict[str, t.Any]:
        """A complete tap config for this emulator (a copy)."""
        return dict(self.info["tap_config"])

    @property
    def auth(self) -> dict[str, dict[str, t.Any]]:
        """Every accepted credential set, by auth mode."""
        return self.info["auth"]

    def _control(self, method: str, action: str, payload: dict | None = None) -> t.Any:
        response = requests.request(method, f"{self.info['control_url']}/{action}",
                                    json=payload, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, t.Any]:
        """GET /stats."""
        return self._control("GET", "stats")

    def counts(self) -> dict[str, int]:
        """GET /counts."""
        return self._control("GET", "counts")

    def mutate(self, count: int) -> dict[str, t.Any]:
        """POST /mutate."""
        return self._control("POST", "mutate", {"count": count})

    def mark(self) -> float:
        """POST /mark: forget the first arrival; the emulator's monotonic time now."""
        return self._control("POST", "mark")["marked_monotonic"]

    def set_faults(self, spec: str) -> dict[str, t.Any]:
        """POST /faults."""
        return self._control("POST", "faults", {"spec": spec})
