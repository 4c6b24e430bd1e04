"""Regenerate each tap's settings table in README.md from ``--about --format=markdown``.

.venv/bin/python scripts/readme_settings.py          # rewrite README.md
.venv/bin/python scripts/readme_settings.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import re
from pathlib import Path

from generated_blocks import TAPS, about, replace_between, rewrite_or_check

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: SDK built-in settings, documented once in the SDK's own docs rather than per tap.
BUILT_IN = re.compile(r"^\| (stream_maps|stream_map_config|faker_config|flattening_|batch_config)")


def settings_table(tap: str) -> str:
    """The tap's own settings, as the SDK renders them."""
    lines = about(tap, "markdown").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not BUILT_IN.match(line):
            table.append(line)
    return "\n".join(table)


def render(text: str) -> str:
    """README text with every tap's table between its markers replaced."""
    for tap in TAPS:
        text = replace_between(text, f"<!-- settings:{tap}:begin -->",
                               f"<!-- settings:{tap}:end -->", settings_table(tap),
                               where="README.md")
    return text


if __name__ == "__main__":
    raise SystemExit(rewrite_or_check(README, render, "scripts/readme_settings.py"))
