"""The IQM emulator's responses validate against IQM's own OpenAPI files (openapi-core).

Every call the tap makes is validated: each list's pages, the report metadata, timezones,
the workspace id, report executions with several dimension sets, and the documented errors.
The token endpoint is in no spec file. Specs: ``$SHARED_DIR/specs/iqm`` (default
``../shared`` beside the repository).
"""

from __future__ import annotations

import json
import os
import time
import typing as t
from pathlib import Path

import pytest
import requests

from emulators.iqm.api import ROUTES
from emulators.iqm.testing import DAY_MS, Client, report_body
from emulators.process import EmulatorProcess

openapi_core = pytest.importorskip("openapi_core")
from openapi_core import OpenAPI  # noqa: E402
from openapi_core.contrib.requests import (  # noqa: E402
    RequestsOpenAPIRequest,
    RequestsOpenAPIResponse,
)

SHARED = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
SPECS = SHARED / "specs" / "iqm"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"IQM specs not found at {SPECS}")
FILES = {"cmp": "mcp-cmp.json", "creative": "mcp-creative.json",
         "audience": "mcp-audience.json", "conversion": "mcp-conversion.json",
         "reports": "mcp-reports.json", "master": "mcp-master.json", "user": "mcp-user.json"}
LISTS = [("cmp", "POST", "/api/v3/cmp/basic/list", "data"),
         ("cmp", "POST", "/api/v3/cmp/io/basic/list", "ioBasicDetailsList"),
         ("creative", "POST", "/api/v3/crt/creatives/list", "filteredList"),
         ("audience", "POST", "/api/v3/audience/list", "audienceList"),
         ("conversion", "GET", "/api/v3/conversion/list", "data"),
         ("reports", "GET", "/api/v3/ra/reports/list", "data")]


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("iqm", "--seed", "21", "--scale", "45",
                         "--rate-limit", "100000/60") as emu:
        yield emu


@pytest.fixture(scope="module")
def client(emulator: EmulatorProcess) -> Client:
    return Client(emulator)


@pytest.fixture(scope="module")
def specs(emulator: EmulatorProcess) -> dict[str, OpenAPI]:
    loaded = {}
    for name, file in FILES.items():
        spec = json.loads((SPECS / file).read_text())
        spec["servers"] = [{"url": emulator.base_url}]
        # Only the emulated operations: mcp-user has a parameter with no schema elsewhere,
        # which the spec validator refuses (specs/README.md).
        spec["paths"] = {p: item for p, item in spec["paths"].items() if p in ROUTES}
        loaded[name] = OpenAPI.from_dict(spec)
    return loaded


def check(spec: OpenAPI, response: requests.Response) -> None:
    spec.validate_response(RequestsOpenAPIRequest(response.request),
                           RequestsOpenAPIResponse(response))


@pytest.mark.parametrize(("service", "method", "path", "key"), LISTS)
def test_every_page_of_each_list_validates(client: Client, specs: dict[str, OpenAPI],
                                           service: str, method: str, path: str,
                                           key: str) -> None:
    size_field = "limit" if method == "GET" else "noOfEntries"
    page = 1
    while True:
        if method == "GET":
            response = client.get(path, pageNo=page, **{size_field: 2})
        else:
            response = client.post(path, {"pageNo": page, size_field: 2})
        assert response.status_code == 200, response.text
        check(specs[service], response)
        if page * 2 >= response.json()["data"]["totalRecords"]:
            break
        page += 1
    assert page > 1


def test_lookups_validate(client: Client, specs: dict[str, OpenAPI]) -> None:
    check(specs["user"], client.get("/api/v3/ua/user/ow-id"))
    check(specs["master"], client.get("/api/v3/master/timezones"))
    check(specs["reports"], client.get("/api/v3/ra/report/dimension-metrics/detail"))
    check(specs["reports"], client.get("/api/v3/ra/reports/list", pageNo=-1))


@pytest.mark.parametrize(("dims", "request_type"), [
    (["campaign"], 1), (["campaign", "gender", "deviceType"], 1), ([], 2),
    (["ioName", "creative"], 3), (["os", "country", "state"], 4)])
def test_report_executions_validate(client: Client, specs: dict[str, OpenAPI], dims: list[str],
                                    request_type: int) -> None:
    today = int(time.time() // 86400) * DAY_MS
    columns = ["impressions", "clicks", "CTR", "VCR", "winRate", "spent", "mediaSpent",
               "dataCost", "eCPM", "eCPC", "eCPCV", "reach", "startCount", "completeCount",
               "budgetDay", "budgetTotal", "maxBid"]
    body = report_body(today - 20 * DAY_MS, today - 1000, dims, columns=columns,
                       request_type=request_type, size=50)
    response = client.execute(**body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["data"]
    check(specs["reports"], response)


def test_documented_errors_validate(emulator: EmulatorProcess, client: Client,
                                    specs: dict[str, OpenAPI]) -> None:
    other = emulator.auth["other_workspace"]["ow_id"]
    responses = [
        ("reports", client.execute(dimensions="[{\"filter\":\"campaign\"}]", requestType=1,
                                   startDate=1670410001000, endDate=1675766802000), 422),
        ("reports", client.execute(columns=["impressions"], **{"X": 1}), 422),
        ("reports", client.post("/api/v3/ra/report/execute", {}, other), 403),
        ("reports", client.get("/api/v3/ra/reports/list", sortBy="-nope"), 422),
        ("audience", client.post("/api/v3/audience/list", {"noOfEntries": 5000}), 422),
        ("conversion", client.get("/api/v3/conversion/list", other), 403),
    ]
    for service, response, status in responses:
        assert response.status_code == status, response.text
        check(specs[service], response)
