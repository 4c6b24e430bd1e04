"""The console scripts import a tap with the garbage collector off, and run it with it on."""

from __future__ import annotations

import gc
import importlib
import sys
import typing as t
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from taps import cli

ROOT = Path(__file__).resolve().parent.parent

#: A tap module that notes whether the collector was on while it was imported and run.
FAKE_TAP = '''
import gc
SEEN = {"import": gc.isenabled()}

def main():
    SEEN["main"] = gc.isenabled()
'''


def test_a_tap_is_imported_with_the_collector_off_and_run_with_it_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fake_tap_for_cli.py").write_text(FAKE_TAP)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert gc.isenabled()
    try:
        cli.run("fake_tap_for_cli")
        seen = t.cast("dict[str, bool]", sys.modules["fake_tap_for_cli"].SEEN)
    finally:
        sys.modules.pop("fake_tap_for_cli", None)
    assert seen == {"import": False, "main": True}
    assert gc.isenabled()


def test_a_failed_import_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModuleNotFoundError):
        cli.run("taps.no_such_tap")
    assert gc.isenabled()


def test_every_tap_console_script_goes_through_the_quiet_import() -> None:
    installed = {point.name: point for point in entry_points(group="console_scripts")}
    for vendor in ("adnuntius", "amperity", "iqm", "kissmetrics"):
        point = installed[f"tap-{vendor}"]
        assert (point.module, point.attr) == ("taps.cli", vendor)
        assert callable(importlib.import_module(f"taps.{vendor}.tap").main)
    declared = (ROOT / "pyproject.toml").read_text()
    assert declared.count('= "taps.cli:') == 4
