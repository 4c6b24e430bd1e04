"""What the generators of README.md and meltano.yml share: the taps, markers, --check."""

from __future__ import annotations

import re
import subprocess
import sys
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Callable

#: Every tap whose settings are generated into README.md and meltano.yml.
TAPS = ["tap-amperity", "tap-adnuntius", "tap-iqm", "tap-kissmetrics"]


def about(tap: str, output_format: str) -> str:
    """``<tap> --about --format=<output_format>`` from the console script beside Python."""
    return subprocess.run([str(Path(sys.executable).parent / tap), "--about",
                           f"--format={output_format}"], capture_output=True, text=True,
                          check=True).stdout


def replace_between(text: str, begin: str, end: str, body: str, *, where: str) -> str:
    """``text`` with what stands between the ``begin`` and ``end`` lines replaced by ``body``."""
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        msg = f"{where} has no marker {begin!r}"
        raise SystemExit(msg)
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text)


def rewrite_or_check(path: Path, render: Callable[[str], str], command: str) -> int:
    """Rewrite ``path`` with ``render``; with --check only say (exit 1) whether it is stale."""
    current = path.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print(f"{path.name} generated parts are stale: run {command}")
            return 1
        return 0
    path.write_text(fresh)
    return 0
