"""Run a tap as a real process and collect its Singer output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import typing as t
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


def tap_command(tap: str) -> list[str]:
    """The tap's console script next to this interpreter (falls back to PATH)."""
    local = Path(sys.executable).parent / tap
    return [str(local)] if local.exists() else [shutil.which(tap) or tap]


@dataclass
class TapRun:
    """What one tap process wrote."""

    returncode: int
    stdout: str
    stderr: str
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    schemas: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def parse(cls, returncode: int, stdout: str, stderr: str) -> TapRun:
        """Split Singer messages by type (a truncated last line is ignored)."""
        run = cls(returncode, stdout, stderr)
        for line in stdout.splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message["type"] == "RECORD":
                run.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                run.states.append(message["value"])
            elif message["type"] == "SCHEMA":
                run.schemas[message["stream"]] = message
        return run

    def keys(self, stream: str, key: t.Sequence[str]) -> list[tuple]:
        """Primary-key tuples of a stream's records, in order."""
        return [tuple(r.get(k) for k in key) for r in self.records.get(stream, [])]


def write_json(directory: Path, name: str, value: t.Any) -> Path:
    """Write ``value`` as JSON into ``directory/name``."""
    path = directory / name
    path.write_text(json.dumps(value))
    return path


def tap_args(tap: str, config: dict, workdir: Path, *, state: dict | None = None,
             catalog: dict | None = None) -> list[str]:
    """The command line for a sync with these inputs."""
    args = [*tap_command(tap), "--config", str(write_json(workdir, "config.json", config))]
    if state is not None:
        args += ["--state", str(write_json(workdir, "state.json", state))]
    if catalog is not None:
        args += ["--catalog", str(write_json(workdir, "catalog.json", catalog))]
    return args


def tap_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no TAP_* variables from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_")}
    env.update(extra or {})
    return env


def run_tap(tap: str, config: dict, *, state: dict | None = None, catalog: dict | None = None,
            env: dict[str, str] | None = None, timeout: float = 300) -> TapRun:
    """Run one sync to completion."""
    with tempfile.TemporaryDirectory() as tmp:
        args = tap_args(tap, config, Path(tmp), state=state, catalog=catalog)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              env=tap_env(env), check=False)
    return TapRun.parse(proc.returncode, proc.stdout, proc.stderr)


def catalog_selecting(tap: str, config: dict, streams: t.Iterable[str]) -> dict:
    """A catalog from ``--discover`` with only ``streams`` selected."""
    wanted = set(streams)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp, "config.json").absolute()
        config_path.write_text(json.dumps(config))
        catalog = json.loads(subprocess.run(
            [*tap_command(tap), "--config", str(config_path), "--discover"],
            capture_output=True, text=True, check=True, env=tap_env()).stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def assert_complete(run: TapRun, counts: t.Mapping[str, int],
                    keys: t.Mapping[str, t.Sequence[str]],
                    streams: t.Iterable[str] | None = None) -> None:
    """Each stream has exactly the emulator's count, with unique non-null primary keys."""
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in keys if streams is None else streams:
        found = run.keys(stream, keys[stream])
        assert all(all(part is not None for part in k) for k in found), stream
        assert len(found) == len(set(found)), f"duplicate primary keys in {stream}"
        assert len(found) == counts[stream], f"{stream}: {len(found)} != {counts[stream]}"


def one_line_failure(run: TapRun, tap: str) -> str:
    """The single error line (``<tap>: error: ...``) a failed run ends with."""
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if f"{tap}: error: " in line]
    assert errors == [lines[-1]], "one error line, and it is the last"
    return errors[0]


def after_records(count: int, stream: str | None = None) -> t.Callable[[str], bool]:
    """A predicate over stdout lines: true once ``count`` RECORDs (of ``stream``) went by."""
    prefix = '{"type":"RECORD"' + (f',"stream":"{stream}"' if stream else "")
    seen = [0]

    def done(line: str) -> bool:
        seen[0] += line.startswith(prefix)
        return seen[0] >= count

    return done


def kill_and_resume(tap: str, config: dict, sig: int, done: t.Callable[[str], bool],
                    counts: t.Mapping[str, int],
                    keys: t.Mapping[str, t.Sequence[str]]) -> tuple[TapRun, TapRun]:
    """Signal a sync once ``done(line)`` holds, rerun from its last STATE, and check that
    nothing was lost across the restart; return both runs."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(tap_args(tap, config, Path(tmp)), env=tap_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if done(line):
                break
        proc.send_signal(sig)
        # Read the rest through the same buffered reader: communicate() reads the raw pipe
        # and would drop what the loop above had buffered but not yet returned.
        lines.append(proc.stdout.read())
        proc.wait(timeout=60)
    first = TapRun.parse(proc.returncode, "".join(lines), "")
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, "SIGTERM should exit 128 + 15 after its final STATE"
    assert first.states, "the tap emitted no STATE before it was killed"
    second = run_tap(tap, config, state=first.states[-1])
    assert second.returncode == 0, second.stderr[-2000:]
    for stream, key in keys.items():
        union = set(first.keys(stream, key)) | set(second.keys(stream, key))
        assert len(union) == counts[stream], f"{stream} lost records across the restart"
    return first, second
