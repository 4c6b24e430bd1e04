"""Run one tenant's ``meltano run`` as a subprocess and read its JSON logs (no Dagster here).

Meltano is started from its own venv (``.venv-meltano/bin/meltano``) in the project root
with ``--log-format=json``: every line on stderr is one JSON object, the plugins' lines
relayed with their ``name``. From them come the records per stream (the SDK's
``record_count`` metrics: the extractor's are "extracted", the loader's "loaded") and, on
failure, the one line that says why (the tap's own ERROR line, else Meltano's).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import signal
import subprocess
import typing as t
from pathlib import Path

from vendor_pipelines.tenants import REPO_ROOT

if t.TYPE_CHECKING:
    from vendor_pipelines.tenants import Tenant

MELTANO = REPO_ROOT / ".venv-meltano" / "bin" / "meltano"
#: What Meltano says when a run with the same state id is in progress (no ``--force``).
ALREADY_RUNNING = "pipeline is already running"
#: Seconds a tap gets to write its state after SIGTERM before it is killed.
TERMINATE_GRACE_SECONDS = 30
#: Log lines kept for the failure's metadata.
TAIL_LINES = 40


@dataclasses.dataclass
class MeltanoOutcome:
    """What one ``meltano run`` did."""

    returncode: int
    extracted: dict[str, int] = dataclasses.field(default_factory=dict)
    loaded: dict[str, int] = dataclasses.field(default_factory=dict)
    plugin_error: str | None = None
    meltano_error: str | None = None
    tail: collections.deque[str] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=TAIL_LINES))

    @property
    def error(self) -> str | None:
        """The one line that explains a failure: the tap's (or target's), else Meltano's."""
        if self.returncode == 0:
            return None
        return self.plugin_error or self.meltano_error or f"meltano exited {self.returncode}"

    @property
    def already_running(self) -> bool:
        """Meltano refused because this tenant's pipeline is running elsewhere."""
        return self.returncode != 0 and ALREADY_RUNNING in (self.meltano_error or "")

    def read(self, line: str) -> str | None:
        """Take in one log line; the human-readable text to show for it, if any."""
        line = line.rstrip("\n")
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):  # a plugin or Python printing outside the logger
            self.tail.append(line)
            return line or None
        metric = entry.get("metric_info")
        if isinstance(metric, dict):
            if metric.get("metric") == "record_count":
                counts = self.loaded if entry.get("consumer") else self.extracted
                stream = str(metric.get("tags", {}).get("stream"))
                counts[stream] = counts.get(stream, 0) + int(metric.get("value", 0))
            return None
        level = str(entry.get("level", "info"))
        text = f"{level} {entry.get('name') or 'meltano'}: {entry.get('event', '')}"
        self.tail.append(text)
        if level in {"error", "critical"}:
            message = str(entry.get("event", "")).strip()
            if entry.get("name"):  # a plugin's own line; the first one is the cause
                self.plugin_error = self.plugin_error or message
            elif message and message not in {"Block run completed", "Run completed"}:
                self.meltano_error = self.meltano_error or message
        return text


def meltano_command(tenant: Tenant, environment: str) -> list[str]:
    """``meltano run`` for one tenant; the project's ``.env`` is not read (see README)."""
    return [str(MELTANO), f"--env-file={os.devnull}", "--log-format=json",
            f"--environment={environment}", "run", tenant.plugin, tenant.target]


def run_meltano(tenant: Tenant, environment: str, env: dict[str, str], project_root: Path,
                echo: t.Callable[[str], None]) -> MeltanoOutcome:
    """Run the tenant's pipeline to the end, passing each readable log line to ``echo``.

    If the caller is interrupted (Dagster terminating the run), Meltano gets SIGTERM, so the
    tap writes its state and Meltano records the run as failed instead of leaving it
    "running" (which would refuse the next run until it goes stale).
    """
    outcome = MeltanoOutcome(returncode=-1)
    process = subprocess.Popen(meltano_command(tenant, environment), cwd=project_root,  # noqa: S603
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if (text := outcome.read(line)) is not None:
                echo(text)
        outcome.returncode = process.wait()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(TERMINATE_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return outcome
