"""A tap process ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tap_runner import tap_command, tap_env

#: Importing this module (through sitecustomize) leaves an object whose finaliser says so:
#: it speaks only when the interpreter tears its modules down.
SENTINEL = textwrap.dedent("""
    import os

    class _Sentinel:
        def __del__(self, write=os.write):
            write(2, b"interpreter teardown\\n")

    sentinel = _Sentinel()
""")

#: What exit_now must still do: join a worker, run atexit callbacks, flush buffered output.
SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from taps.shared.tap import exit_now

    worker = threading.Thread(target=lambda: (time.sleep(0.2), print("worker done")))
    worker.start()
    atexit.register(lambda: print("atexit ran"))
    sys.stdout.write("buffered line\\n")
    exit_now(CODE)
""")


@pytest.fixture
def sentinel_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(SENTINEL)
    root = str(Path(__file__).resolve().parent.parent)
    return tap_env({"PYTHONPATH": f"{tmp_path}:{root}"})


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("None", 0), ("143", 143),
                                              ("'a message'", 1)])
def test_exit_now_joins_runs_atexit_flushes_and_skips_teardown(
        sentinel_env: dict[str, str], code: str, status: int) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT.replace("CODE", code)],
                          check=False, env=sentinel_env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout.splitlines() == ["buffered line", "worker done", "atexit ran"]
    assert "interpreter teardown" not in proc.stderr
    assert ("a message" in proc.stderr) == (status == 1)


def test_the_usual_exit_when_fast_exit_is_off(sentinel_env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT.replace("CODE", "3")],
                          check=False, env={**sentinel_env, "TAPS_FAST_EXIT": "off"},
                          capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout.splitlines() == ["buffered line", "worker done", "atexit ran"]
    assert "interpreter teardown" in proc.stderr


@pytest.mark.parametrize(("args", "status"), [(["--about", "--format", "json"], 0),
                                              (["--config", "/nonexistent.json"], 1)])
def test_every_tap_exits_without_teardown(sentinel_env: dict[str, str], args: list[str],
                                          status: int) -> None:
    for tap in ("tap-amperity", "tap-adnuntius", "tap-iqm", "tap-kissmetrics"):
        proc = subprocess.run([*tap_command(tap), *args], check=False, env=sentinel_env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == status, proc.stderr[-2000:]
        assert "interpreter teardown" not in proc.stderr
        if status == 0:
            assert proc.stdout.rstrip().endswith("}")  # the whole --about document
        else:
            assert f"{tap}: error: " in proc.stderr.strip().splitlines()[-1]
