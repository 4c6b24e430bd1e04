"""The Amperity emulator's responses validate against Amperity's own OpenAPI files.

Every path the tap uses is requested (first pages, follow-up pages, single objects, errors)
and each request/response pair is validated with openapi-core. The spec files live in
``$SHARED_DIR/specs/amperity`` (default: ``../shared`` beside the repository).
"""

from __future__ import annotations

import copy
import json
import os
import typing as t
from pathlib import Path

import pytest
import requests

from emulators.process import EmulatorProcess

openapi_core = pytest.importorskip("openapi_core")
from openapi_core import OpenAPI  # noqa: E402
from openapi_core.contrib.requests import (  # noqa: E402
    RequestsOpenAPIRequest,
    RequestsOpenAPIResponse,
)

SHARED = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
SPECS = SHARED / "specs" / "amperity"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"vendor specs not found at {SPECS}")


def load_spec(name: str, base_url: str) -> OpenAPI:
    """A spec with its servers pointed at the emulator (and profile-v2's duplicate id fixed)."""
    spec = json.loads((SPECS / name).read_text())
    spec["servers"] = [{"url": base_url}]
    paths = spec["paths"]
    if "/indexes/{id}/profiles/{id}" in paths:
        # profile-v2 names both path parameters `id`; validators reject that (specs/README.md).
        item = copy.deepcopy(paths.pop("/indexes/{id}/profiles/{id}"))
        for operation in item.values():
            params = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
            if len(params) == 2:
                params[1]["name"] = "id__2"
        paths["/indexes/{id}/profiles/{id__2}"] = item
    return OpenAPI.from_dict(spec)


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "31", "--scale", "40",
                         "--rate-limit", "100000/1") as emu:
        yield emu


@pytest.fixture(scope="module")
def specs(emulator: EmulatorProcess) -> dict[str, OpenAPI]:
    return {
        "2024-04-01": load_spec("control-plane-2024-04-01-openapi.json", emulator.base_url),
        "unstable": load_spec("control-plane-unstable-openapi.json", emulator.base_url),
        "2025-07-31": load_spec("openapi-profile-v2.json", emulator.base_url),
    }


def call(emulator: EmulatorProcess, path: str, version: str, *, token: str | None = None,
         **params: t.Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emulator.tap_config['access_token']}",
               "amperity-tenant": "acme", "api-version": version}
    return requests.get(emulator.base_url + path, params=params, headers=headers, timeout=10)


def check(spec: OpenAPI, response: requests.Response) -> None:
    spec.validate_response(RequestsOpenAPIRequest(response.request),
                           RequestsOpenAPIResponse(response))


LISTS = [
    ("/audit-events", "2024-04-01", {"happened_from": "2026-01-01T00:00:00Z"}),
    ("/campaigns", "2024-04-01", {}),
    ("/segments", "2024-04-01", {"with_total": "true"}),
    ("/workflow/runs", "2024-04-01", {"created_from": "2026-01-01"}),
    ("/campaign-drafts", "unstable", {}),
    ("/indexes", "2025-07-31", {}),
    ("/indexes/idx-loyalty/profiles", "2025-07-31", {}),
]


@pytest.mark.parametrize(("path", "version", "params"), LISTS)
def test_every_page_of_each_list_validates(emulator: EmulatorProcess, specs: dict[str, OpenAPI],
                                           path: str, version: str, params: dict) -> None:
    pages, token = 0, None
    while True:
        extra = {"next_token": token} if token else {}
        limit = 1 if path == "/indexes" else 7
        response = call(emulator, path, version, limit=limit, **params, **extra)
        assert response.status_code == 200, response.text
        check(specs[version], response)
        pages += 1
        token = response.json().get("next_token")
        if not token:
            break
    assert pages > 1


def test_single_objects_validate(emulator: EmulatorProcess, specs: dict[str, OpenAPI]) -> None:
    run = call(emulator, "/workflow/runs", "2024-04-01").json()["data"][0]
    for view in ("overview", "verbose"):
        response = call(emulator, f"/workflow/runs/{run['id']}", "2024-04-01", view=view)
        assert response.status_code == 200
        check(specs["2024-04-01"], response)
    jobs = call(emulator, "/ingest/jobs", "2024-04-01", created_from="2026-11-01T00:00:00Z",
                created_to="2026-11-08T00:00:00Z")
    check(specs["2024-04-01"], jobs)
    for job in jobs.json()["data"][:2]:
        check(specs["2024-04-01"], call(emulator, f"/ingest/jobs/{job['id']}", "2024-04-01"))
    check(specs["2025-07-31"], call(emulator, "/indexes/idx-web", "2025-07-31"))
    profile = call(emulator, "/indexes/idx-web/profiles", "2025-07-31").json()["data"][0]
    single = call(emulator, f"/indexes/idx-web/profiles/{profile['id']}", "2025-07-31")
    assert single.json() == profile
    check(specs["2025-07-31"], single)


@pytest.mark.parametrize(
    ("path", "version", "params", "token", "status"),
    [
        ("/segments", "2024-04-01", {}, "wrong-token", 401),
        ("/segments", "1999-01-01", {}, None, 400),
        ("/ingest/jobs", "2024-04-01", {}, None, 400),
        ("/ingest/jobs/isj-20260101-00001-nope", "2024-04-01", {}, None, 404),
        ("/workflow/runs/wf-20260101-99999-nope", "2024-04-01", {}, None, 404),
        ("/indexes/idx-missing", "2025-07-31", {}, None, 404),
        ("/indexes", "2025-07-31", {}, "wrong-token", 401),
    ],
)
def test_error_responses_validate(emulator: EmulatorProcess, specs: dict[str, OpenAPI],
                                  path: str, version: str, params: dict, token: str | None,
                                  status: int) -> None:
    response = call(emulator, path, version, token=token, **params)
    assert response.status_code == status
    spec = specs["2025-07-31" if path.startswith("/indexes") else "2024-04-01"]
    check(spec, response)
    body = response.json()
    assert body["status"] == status
    if path.startswith("/indexes"):
        assert body["request_id"]
    else:
        assert set(body) == {"status", "message"}
