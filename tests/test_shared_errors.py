"""Vendor error envelopes become one readable line; secrets are redacted everywhere."""

from __future__ import annotations

import logging

import pytest
import requests
import requests_mock

from taps.shared.errors import describe_response, envelope_message, failure_inside_success
from taps.shared.redaction import MASK, install_log_redaction, redact, register_secrets


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": 400, "message": "bad limit", "request_id": "r-1", "trace_id": "t-9"},
         "bad limit (request_id=r-1, trace_id=t-9)"),
        ({"status": 404, "message": "The requested entity does not exist."},
         "The requested entity does not exist."),
        ({"success": False, "errorObjects": [{"error": "Invalid sortBy value.", "field": "sortBy"}]},
         "Invalid sortBy value. (field sortBy)"),
        ({"success": False, "errorObjects": [{"error": "User is not allowed", "reason": "on hold"}]},
         "User is not allowed - on hold"),
        ({"error": "invalid_token", "error_description": "expired"}, "invalid_token - expired"),
        ({"type": "ErrorMessage", "code": "error.referenced.object.not.found",
          "text": "{{type}} {{id}} not found", "params": {"type": "Campaign", "id": "li_1"}},
         "Campaign li_1 not found [error.referenced.object.not.found]"),
        ([{"type": "ValidationErrorMessage", "code": "c1", "text": "a"},
          {"type": "ValidationErrorMessage", "code": "c2", "text": "b"}], "a [c1]; b [c2]"),
        ({"meta": {"status": 400, "message": "Only people search reports supported"}},
         "Only people search reports supported"),
        ({"unexpected": True}, None),
        ("text", None),
    ],
)
def test_envelopes(body: object, expected: str | None) -> None:
    assert envelope_message(body) == expected


def test_describe_response_uses_path_only_and_excerpts_non_json() -> None:
    with requests_mock.Mocker() as m:
        m.get("https://x.test/api/segments", status_code=502, text="<html>" + "x" * 5000)
        response = requests.get("https://x.test/api/segments?limit=5&secret_q=1", timeout=5)
    text = describe_response(response)
    assert text.startswith("HTTP 502 from GET /api/segments: <html>")
    assert "secret_q" not in text
    assert len(text) < 300


def test_redaction_in_logs_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    secret = "zz-unit-secret-4242"
    register_secrets([secret, None, "abc"])  # too-short values are ignored
    install_log_redaction()
    assert redact(f"token={secret}") == f"token={MASK}"
    assert redact("abc") == "abc"
    log = logging.getLogger("test.redaction")
    with caplog.at_level(logging.DEBUG):
        log.debug("header Authorization: Bearer %s", secret)
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            log.exception("failed")
    assert secret not in caplog.text
    assert MASK in caplog.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"success": False, "error": {"message": "Invalid page size"}}, "Invalid page size"),
        ({"error": "Please select columns for report creation", "field": "columns"},
         "Please select columns for report creation (field columns)"),
        ({"statusCode": 400, "responseObject": {"errorMsg": "Invalid conversion id.",
                                                "errorCode": 400, "errorField": "zipcodes"}},
         "Invalid conversion id. (field zipcodes)"),
        ({"success": False, "errorObjects": {"error": "Forbidden !"}}, "Forbidden !"),
        ({"message": "Invalid token"}, "Invalid token"),
    ],
)
def test_iqm_error_shapes(body: object, expected: str) -> None:
    assert envelope_message(body) == expected


def test_failures_inside_a_2xx() -> None:
    assert failure_inside_success({"success": True, "data": []}) is None
    assert failure_inside_success({"statusCode": 200, "responseObject": {}}) is None
    assert failure_inside_success({"statusCode": 412, "responseObject": {
        "errorMsg": "Precondition failed"}}) == "Precondition failed"
    assert failure_inside_success({"success": False}) == (
        "the API reported a failure without a message")
