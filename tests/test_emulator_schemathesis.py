"""Schemathesis against the Amperity emulator with each of Amperity's OpenAPI files (and IQM's).

Checks: schemathesis's defaults plus negative_data_rejection, positive_data_acceptance,
missing_required_header and unsupported_method. The only exclusions are the spec's own
contradictions, listed with reasons in ``emulators/amperity/spec_conflicts.py``. The spec
files live in ``shared/specs/amperity`` beside the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from collections import Counter
from pathlib import Path

import pytest
import requests

from emulators.amperity.spec_conflicts import KNOWN_CONFLICTS, OPAQUE_PARAMETERS
from emulators.iqm.api import ROUTES
from emulators.iqm.spec_conflicts import KNOWN_CONFLICTS as IQM_CONFLICTS
from emulators.iqm.testing import Client
from emulators.process import EmulatorProcess

pytest.importorskip("schemathesis")
SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs" / "amperity"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"vendor specs not found at {SPECS}")
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
          "unsupported_method", "ignored_auth", "allow_header_conformance"]
#: Every check schemathesis has; CHECKS are on. The others are off: use_after_free and
#: ensure_resource_availability need resources the API can delete (it has no DELETE), and
#: object_level_authorization needs a second principal.
ALL_CHECKS = [*CHECKS, "use_after_free", "ensure_resource_availability",
              "object_level_authorization"]
MAX_EXAMPLES = 50
#: operationId -> (list path, api-version, path parameters) for the token it pages with.
PAGED = {
    "list-events": ("/audit-events", "2024-04-01", {}),
    "list-campaign": ("/campaigns", "2024-04-01", {}),
    "list-campaign-draft": ("/campaign-drafts", "unstable", {}),
    "list-segment": ("/segments", "2024-04-01", {}),
    "list-workflows": ("/workflow/runs", "2024-04-01", {}),
    "list-indexes": ("/indexes", "2025-07-31", {}),
    "list-profiles": ("/indexes/idx-web/profiles", "2025-07-31", {"id": "idx-web"}),
}


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "11", "--scale", "60",
                         "--rate-limit", "1000000/1") as emu:
        yield emu


def toml_value(value: t.Any) -> str:
    return json.dumps(value)  # JSON strings and numbers are valid TOML


def issued_token(emulator: EmulatorProcess, path: str, version: str) -> str:
    hdrs = {"Authorization": f"Bearer {emulator.tap_config['access_token']}",
            "amperity-tenant": "acme", "api-version": version}
    body = requests.get(emulator.base_url + path, params={"limit": 1}, headers=hdrs,
                        timeout=5).json()
    return body["next_token"]


def operation_ids(spec: str) -> set[str]:
    document = json.loads((SPECS / spec).read_text())
    return {op["operationId"] for item in document["paths"].values()
            for op in item.values() if isinstance(op, dict) and "operationId" in op}


def config_file(emulator: EmulatorProcess, spec: str, path: Path) -> Path:
    """Checks, real tokens for opaque parameters, known conflicts off (per operation)."""
    lines = ["[generation]", "deterministic = true", "",
             *(f"[checks.{name}]\nenabled = {str(name in CHECKS).lower()}\n"
               for name in ALL_CHECKS)]
    present = operation_ids(spec)
    assert set(OPAQUE_PARAMETERS) == {"next_token"}
    for operation_id, (list_path, version, path_params) in PAGED.items():
        if operation_id not in present:
            continue
        token = issued_token(emulator, list_path, version)
        lines += ["[[operations]]", f"include-operation-id = {toml_value(operation_id)}",
                  "[operations.parameters]", f'"query.next_token" = {toml_value(token)}',
                  *(f'"path.{k}" = {toml_value(v)}' for k, v in path_params.items()), ""]
    for (conflict_spec, operation_id, check), _reason in KNOWN_CONFLICTS.items():
        if conflict_spec == spec:
            lines += ["[[operations]]", f"include-operation-id = {toml_value(operation_id)}",
                      f"[operations.checks.{check}]", "enabled = false", ""]
    path.write_text("\n".join(lines))
    return path


def failures_by_check(report_dir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for report in report_dir.glob("*.ndjson"):
        for line in report.read_text().splitlines():
            event = json.loads(line)
            recorder = event.get("ScenarioFinished", {}).get("recorder", {})
            for checks in recorder.get("checks", {}).values():
                counts.update(c["name"] for c in checks if str(c.get("status")).lower() == "failure")
    return counts


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.json")))
def test_schemathesis_finds_nothing(emulator: EmulatorProcess, spec: str, tmp_path: Path) -> None:
    config = config_file(emulator, spec, tmp_path / "schemathesis.toml")
    cli = Path(sys.executable).parent / "schemathesis"
    command = [str(cli), "--config-file", str(config), "run", str(SPECS / spec),
               "--url", emulator.base_url,
               "-H", f"Authorization: Bearer {emulator.tap_config['access_token']}",
               "-H", "amperity-tenant: acme", "--max-examples", str(MAX_EXAMPLES),
               "--seed", "1", "--workers", "1", "--no-color", "--generation-database", "none",
               "--report", "ndjson", "--report-dir", str(tmp_path / "report")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                            cwd=tmp_path)  # its cache lands in cwd
    summary = [line for line in result.stdout.splitlines() if "generated" in line]
    failures = failures_by_check(tmp_path / "report")
    conflicts = [k for k in KNOWN_CONFLICTS if k[0] == spec]
    print(f"{spec}: {summary[-1].strip() if summary else '?'}; failures {dict(failures)}; "
          f"known conflicts {len(conflicts)}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert not failures


# IQM --------------------------------------------------------------------------------------
# The same checks over the operations the IQM emulator serves (each spec file filtered to
# them); exclusions are the spec's own contradictions in ``emulators/iqm/spec_conflicts.py``.

IQM_SPECS = SPECS.parent / "iqm"
IQM_MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def iqm_emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("iqm", "--seed", "11", "--scale", "30", "--token-ttl", "3600",
                         "--rate-limit", "1000000/60") as emu:
        yield emu


def iqm_config_file(spec: str, path: Path) -> Path:
    lines = ["[generation]", "deterministic = true", "",
             *(f"[checks.{name}]\nenabled = {str(name in CHECKS).lower()}\n"
               for name in ALL_CHECKS)]
    for (conflict_spec, operation_id, check), _reason in IQM_CONFLICTS.items():
        if conflict_spec == spec:
            lines += ["[[operations]]", f"include-operation-id = {toml_value(operation_id)}",
                      f"[operations.checks.{check}]", "enabled = false", ""]
    path.write_text("\n".join(lines))
    return path


@pytest.mark.skipif(not IQM_SPECS.is_dir(), reason=f"IQM specs not found at {IQM_SPECS}")
@pytest.mark.parametrize("spec", ["mcp-cmp.json", "mcp-creative.json", "mcp-audience.json",
                                  "mcp-conversion.json", "mcp-reports.json", "mcp-master.json",
                                  "mcp-user.json"])
def test_iqm_schemathesis_finds_nothing(iqm_emulator: EmulatorProcess, spec: str,
                                        tmp_path: Path) -> None:
    client = Client(iqm_emulator)
    names = "|".join(f"{method} {path}" for path, (methods, _) in ROUTES.items()
                     for method in methods if path.startswith("/api/v3/") and "oauth" not in path)
    config = iqm_config_file(spec, tmp_path / "schemathesis.toml")
    cli = Path(sys.executable).parent / "schemathesis"
    command = [str(cli), "--config-file", str(config), "run", str(IQM_SPECS / spec),
               "--url", iqm_emulator.base_url, "--include-name-regex", f"^({names})$",
               "-H", f"Authorization: Bearer {client.access}", "-H", "X-IAA-OW-ID: 200001",
               "--max-examples", str(IQM_MAX_EXAMPLES), "--seed", "1", "--workers", "1",
               "--no-color", "--generation-database", "none",
               "--report", "ndjson", "--report-dir", str(tmp_path / "report")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                            cwd=tmp_path)
    summary = [line for line in result.stdout.splitlines() if "generated" in line]
    failures = failures_by_check(tmp_path / "report")
    conflicts = [k for k in IQM_CONFLICTS if k[0] == spec]
    print(f"{spec}: {summary[-1].strip() if summary else '?'}; failures {dict(failures)}; "
          f"known conflicts {len(conflicts)}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert not failures
