"""A minimal IQM client for the emulator's tests and benchmarks (not the tap)."""

from __future__ import annotations

import base64
import json
import typing as t

import requests

if t.TYPE_CHECKING:
    from emulators.process import EmulatorProcess

DAY_MS = 86_400_000


def basic(client_id: str, client_secret: str) -> str:
    """``Basic base64(client_id:client_secret)``."""
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


class Client:
    """Logs in with the first line's config and calls the API with both headers."""

    def __init__(self, emu: EmulatorProcess, *, username: str | None = None,
                 password: str | None = None) -> None:
        """Log in (password grant)."""
        self.cfg = emu.tap_config
        self.url = self.cfg["api_url"]
        self.session = requests.Session()
        answer = self.token(grant_type="password", username=username or self.cfg["username"],
                            password=password or self.cfg["password"])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        data = body.get("data", body)
        self.access, self.refresh = data["access_token"], data["refresh_token"]
        self.ow_id = data.get("owId") or self.get("/api/v3/ua/user/ow-id").json()["data"]

    def token(self, **form: str) -> requests.Response:
        """POST the token endpoint with the client's Basic header."""
        return self.session.post(f"{self.url}/api/v3/ua/oauth/token", data=form, timeout=10,
                                 headers={"Authorization": basic(self.cfg["client_id"],
                                                                 self.cfg["client_secret"])})

    def headers(self, ow_id: t.Any = None) -> dict[str, str]:
        """Bearer plus ``X-IAA-OW-ID``."""
        headers = {"Authorization": f"Bearer {self.access}"}
        ow = ow_id if ow_id is not None else getattr(self, "ow_id", None)
        if ow is not None:
            headers["X-IAA-OW-ID"] = str(ow)
        return headers

    def get(self, path: str, ow_id: t.Any = None, **params: t.Any) -> requests.Response:
        """GET with both headers."""
        return self.session.get(self.url + path, params=params, headers=self.headers(ow_id),
                                timeout=30)

    def post(self, path: str, body: t.Any, ow_id: t.Any = None) -> requests.Response:
        """POST JSON with both headers."""
        return self.session.post(self.url + path, json=body, headers=self.headers(ow_id),
                                 timeout=60)

    def execute(self, **body: t.Any) -> requests.Response:
        """``POST /api/v3/ra/report/execute``."""
        return self.post("/api/v3/ra/report/execute", body)


def report_body(start_ms: int, end_ms: int, dims: list[str], *, tz_id: int = 11,
                tz_name: str = "UTC", columns: list[str] | None = None,
                request_type: int = 1, page: int = 1, size: int = 1000,
                sort: str = "+impressions") -> dict[str, t.Any]:
    """An execute body as the spec's example writes one."""
    return {"dimensions": json.dumps([{"filter": d} for d in dims]),
            "columns": columns or ["impressions", "clicks", "spent", "mediaSpent", "dataCost",
                                   "reach", "CTR", "eCPM"],
            "timezoneId": tz_id, "timezoneName": tz_name, "requestType": request_type,
            "reportAggregated": "0", "startDate": start_ms, "endDate": end_ms,
            "pageNo": page, "noOfEntries": size, "sortBy": sort}
