"""What async-job vendors need from the toolkit: submit once, poll through the transport,
several jobs at a time in order, offset pages, bare arrays, credentials only to our hosts."""

from __future__ import annotations

import typing as t

import pytest
import requests
import requests_mock
from singer_sdk.exceptions import FatalAPIError
from test_shared_stream import URL, Things, _stream
from urllib3.exceptions import MaxRetryError, NewConnectionError

from taps.shared.jobs import AsyncJobRunner, JobStatus
from taps.shared.paging import OffsetPaginator
from taps.shared.stream import ResilientStream

RUN = "https://api.example.test/v1/reports/7/run"


def _refused() -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def test_submit_is_resent_only_when_it_provably_did_not_arrive() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.post(RUN, [{"exc": _refused()},
                     {"status_code": 429, "json": {"message": "slow"}},
                     {"status_code": 202, "headers": {"Location": "https://api.example.test/s/1"},
                      "json": {"id": 1}}])
        response, body = stream.submit_once("POST", RUN, body={"start": 1})
    assert response.status_code == 202
    assert body == {"id": 1}
    assert m.call_count == 3


@pytest.mark.parametrize("failure", [
    {"exc": requests.exceptions.ReadTimeout("read timed out")},
    {"exc": requests.exceptions.ConnectionError("Connection reset by peer")},
    {"exc": requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")},
    {"status_code": 502, "json": {"message": "bad gateway"}},
])
def test_submit_that_may_have_started_the_job_is_never_resent(failure: dict) -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.post(RUN, [failure, {"status_code": 202, "json": {}}])
        with pytest.raises(FatalAPIError, match=r"may have reached the server.*twice"):
            stream.submit_once("POST", RUN)
        assert m.call_count == 1


def test_submit_renews_a_rejected_token_once() -> None:
    stream = _stream(renewable=True)
    with requests_mock.Mocker() as m:
        m.post(RUN, [{"status_code": 401, "json": {"message": "expired"}},
                     {"status_code": 202, "json": {}}])
        assert stream.submit_once("POST", RUN)[0].status_code == 202
    assert [r.headers["Authorization"] for r in m.request_history] == [
        "Bearer fresh-0", "Bearer fresh-1"]


def test_polls_go_through_the_transport_and_never_to_a_foreign_host() -> None:
    stream = _stream()
    status = "https://api.example.test/v1/status/1"
    with requests_mock.Mocker() as m:
        m.get(status, [{"status_code": 503, "json": {}},
                       {"status_code": 200, "json": {"completed": False, "progress": 0.5}}])
        _, body = stream.send_json("GET", status)
        assert body == {"completed": False, "progress": 0.5}
        assert m.call_count == 2  # the 503 was retried
        with pytest.raises(FatalAPIError, match="not sending credentials there"):
            stream.send_json("GET", "https://elsewhere.test/status/1")
        assert m.call_count == 2


class Job:
    def __init__(self, name: str, polls_needed: int, log: list[str]) -> None:
        self.name, self.polls_needed, self.log = name, polls_needed, log

    def submit(self) -> str:
        self.log.append(f"submit {self.name}")
        return self.name

    def poll(self, handle: str) -> JobStatus:
        self.polls_needed -= 1
        return JobStatus(done=self.polls_needed <= 0)


def test_several_jobs_run_at_once_and_come_back_in_order() -> None:
    now = [0.0]
    runner = AsyncJobRunner(poll_interval_seconds=1, sleep=lambda s: now.__setitem__(0, now[0] + s),
                            clock=lambda: now[0])
    log: list[str] = []
    jobs = [Job("w1", 5, log), Job("w2", 1, log), Job("w3", 1, log), Job("w4", 1, log)]
    order = []
    for job, _ in runner.run_many(jobs, max_concurrent=3):
        order.append(job.name)
        log.append(f"read {job.name}")
    assert order == ["w1", "w2", "w3", "w4"]
    assert log[:3] == ["submit w1", "submit w2", "submit w3"]  # three on the server at once
    assert log.index("submit w4") > log.index("read w1")


class Offsets(Things):
    name = "offsets"

    def get_new_paginator(self) -> OffsetPaginator:
        return OffsetPaginator(records_path=("data",))

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        return {"limit": 3, "offset": next_page_token}


def _offsets() -> Offsets:
    stream = _stream()
    return Offsets(tap=stream._tap)


def test_offsets_advance_by_the_rows_received_until_the_total() -> None:
    stream = _offsets()

    def page(offset: int, rows: int) -> dict:
        return {"json": {"data": [{"id": i} for i in range(offset, offset + rows)],
                         "pagination": {"total": 5, "offset": offset, "limit": 3}}}

    with requests_mock.Mocker() as m:  # the server caps limit at 2
        m.get(URL, [page(0, 2), page(2, 2), page(4, 1)])
        assert [r["id"] for r in stream.get_records(None)] == [0, 1, 2, 3, 4]
    assert [q.qs["offset"] for q in m.request_history] == [["0"], ["2"], ["4"]]


def test_offsets_follow_rel_next_and_a_bare_array_is_one_page() -> None:
    stream = _offsets()
    with requests_mock.Mocker() as m:
        m.get(URL, [{"json": {"data": [{"id": 1}],
                              "links": [{"rel": "next", "href": f"{URL}?offset=10&limit=3"}]}},
                    {"json": [{"id": 11}, {"id": 12}]}])
        assert [r["id"] for r in stream.get_records(None)] == [1, 11, 12]
    assert [q.qs["offset"] for q in m.request_history] == [["0"], ["10"]]


class Plain(Things):
    name = "plain"
    check_body = ResilientStream.check_body  # the toolkit's default, not the test stream's


def test_a_failure_inside_a_200_is_not_retried_by_default() -> None:
    stream = Plain(tap=_stream()._tap)
    with requests_mock.Mocker() as m:
        m.get(URL, json={"statusCode": 412, "responseObject": {"errorMsg": "Bad owId"}})
        with pytest.raises(FatalAPIError, match=r"Bad owId \(a failure reported inside HTTP 200"):
            list(stream.get_records(None))
        assert m.call_count == 1
