"""The base REST stream every vendor stream builds on: budget, retries, envelopes, fast parsing."""

from __future__ import annotations

import os
import time
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk import singerlib as singer
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from taps.shared.body import decoded_body, dig, is_truncated
from taps.shared.errors import (
    ConfigurationError,
    cannot_connect,
    describe_response,
    failure_inside_success,
    sentence,
)
from taps.shared.logs import quiet_known_noise
from taps.shared.pagepath import PageRecordPath
from taps.shared.prefetch import PrefetchingRequests, wait_for_body_room
from taps.shared.redaction import redact
from taps.shared.retry import ImmediateRetry, QuickRetry
from taps.shared.transport import use_lean_transport

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from singer_sdk.helpers.types import Context

    from taps.shared.tap import ResilientTap, TapRuntime

_RECORDS = "_taps_records"
_AUTH_RETRIED = "_taps_auth_retried"
_BAD_BODIES = "_taps_bad_bodies"
#: Retries of a 2xx whose body is not JSON or has the wrong shape: such answers rarely heal.
MAX_BAD_BODY_RETRIES = 2


class TokenRejectedError(RetriableAPIError, ImmediateRetry):
    """A 401 with a renewable token: renew it and retry at once (only once per request)."""


class BadBodyError(RetriableAPIError, QuickRetry):
    """A 2xx that is not JSON, or JSON without the expected list: retried twice, quickly."""


class ResilientStream(PageRecordPath, PrefetchingRequests, RESTStream[t.Any]):
    """Transport for every vendor stream.

    - one rate budget per tap process (``budget_name`` picks which), acquired per attempt;
    - retries on 429, 5xx, resets, timeouts and truncated or undecodable bodies, waiting
      exactly ``Retry-After`` when sent, else exponential backoff with jitter;
    - a 401 renews a renewable token once and retries at once;
    - other 4xx fail with the vendor's own message (``client_error``), never the whole body;
    - bodies are decoded once with msgspec; records are taken from ``records_path``.
    """

    #: Keys leading to the list of records in a page; () when the body is the list.
    records_path: t.ClassVar[tuple[str, ...]] = ("data",)
    #: Which of the tap's rate budgets this stream's requests draw from.
    budget_name: t.ClassVar[str] = "api"
    #: The setting holding this stream's base URL (named when the host cannot be reached).
    url_setting: t.ClassVar[str] = "api_url"
    #: Settings whose hosts may receive credentials when a response links elsewhere.
    trusted_url_settings: t.ClassVar[tuple[str, ...]] = ("api_url",)

    def __init__(self, tap: ResilientTap, *args: t.Any, **kwargs: t.Any) -> None:
        """Attach the tap's shared runtime (budgets, auth, retry policy)."""
        super().__init__(tap, *args, **kwargs)
        self.runtime: TapRuntime = tap.runtime
        quiet_known_noise(self.logger.name)

    @property
    @override
    def url_base(self) -> str:
        return str(self.config[self.url_setting]).rstrip("/")

    @property
    @override
    def requests_session(self) -> requests.Session:
        session = super().requests_session
        if session.trust_env:
            settle_environment(session)
            use_lean_transport(session)
        if self._note_answer not in session.hooks["response"]:
            session.hooks["response"].append(self._note_answer)
        return session

    def _note_answer(self, response: requests.Response, *args: t.Any, **kwargs: t.Any) -> None:
        """Response hook: the answer's headers are in, errors included (body not yet read).

        A successful answer to a request sent ahead of its turn waits here, its body unread,
        until the read-ahead has room for it (``prefetch.wait_for_body_room``).
        """
        self.runtime.answer_seconds.append(response.elapsed.total_seconds())
        if 200 <= response.status_code < 300:
            wait_for_body_room()

    @property
    @override
    def timeout(self) -> float:
        return float(self.config.get("request_timeout_seconds", 300))

    @property
    @override
    def authenticator(self) -> t.Any:
        return self.runtime.authenticator

    # Retries -------------------------------------------------------------------------------

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        return self.runtime.policy.wait_generator()

    @override
    def backoff_max_tries(self) -> int:
        return self.runtime.policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # the policy adds jitter itself, and never to a server-given wait

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exc = details.get("exception")
        reason = str(exc) if isinstance(exc, RetriableAPIError) else type(exc).__name__
        if not isinstance(exc, RetriableAPIError) and exc is not None and exc.args:
            reason += f": {str(exc.args[0])[:200]}"
        self.logger.warning(
            "Retrying %s in %.1f s (attempt %d of %d): %s",
            self.name, details.get("wait", 0.0), details.get("tries", 0) + 1,
            self.backoff_max_tries(), redact(reason),
        )

    @override
    def request_decorator(self, func: Callable) -> Callable:
        budget = self.runtime.budget(self.budget_name)

        def send(prepared_request: requests.PreparedRequest, context: Context | None) -> t.Any:
            budget.acquire()
            try:
                response = func(prepared_request, context)
            except RetriableAPIError as exc:
                budget.observe(exc.response)
                self._limit_retries(exc, prepared_request)
                raise
            except requests.exceptions.ConnectionError as exc:
                budget.observe(None)
                if not self.runtime.host_reached and cannot_connect(exc):
                    msg = (
                        f"Cannot reach {self.url_base} ({type(exc).__name__}). "
                        f"Check the {self.url_setting} setting and that the host is reachable."
                    )
                    raise ConfigurationError(msg) from None
                raise
            except requests.exceptions.RequestException:
                budget.observe(None)
                raise
            except Exception as exc:  # e.g. FatalAPIError from validate_response: it ended
                budget.observe(getattr(exc, "response", None))
                raise
            budget.observe(response)
            return response

        return super().request_decorator(send)

    def _limit_retries(self, exc: RetriableAPIError,
                       prepared_request: requests.PreparedRequest) -> None:
        """Raise a final error once a bad body or a rejected token has been retried enough."""
        if isinstance(exc, BadBodyError):
            count = getattr(prepared_request, _BAD_BODIES, 0) + 1
            setattr(prepared_request, _BAD_BODIES, count)
            if count > MAX_BAD_BODY_RETRIES:
                msg = f"{exc} (still so after {MAX_BAD_BODY_RETRIES} retries)"
                raise FatalAPIError(msg) from None
        elif isinstance(exc, TokenRejectedError):
            # Renew and retry once per request; a second rejection is final.
            if getattr(prepared_request, _AUTH_RETRIED, False):
                raise self.client_error(exc.response) from None
            setattr(prepared_request, _AUTH_RETRIED, True)

    # Responses -----------------------------------------------------------------------------

    def client_error(self, response: requests.Response) -> Exception:
        """The exception for a non-retriable 4xx; vendors add hints about their settings."""
        message = describe_response(response)
        if response.status_code in {401, 403}:
            return ConfigurationError(
                sentence(message, "The API rejected the credentials: check the auth settings")
            )
        return FatalAPIError(message)

    def check_body(self, body: t.Any, response: requests.Response) -> None:
        """Hook: raise for error envelopes that arrive with a 2xx status (never retried).

        By default a body that says ``success: false`` or ``statusCode >= 400`` fails.
        """
        if failure_inside_success(body) is not None:
            msg = (f"{describe_response(response)} (a failure reported inside HTTP "
                   f"{response.status_code}: not retried)")
            raise FatalAPIError(msg)

    def validate_status(self, response: requests.Response) -> t.Any:
        """Check a response's status and body; return the decoded JSON body.

        401 with a renewable token renews it; 429 and 5xx are retriable; other 4xx fail with
        the vendor's message; a truncated body is retriable; a body that is not JSON is a
        ``BadBodyError`` (two quick retries); error envelopes go to ``check_body``.
        """
        self.runtime.host_reached = True
        status = response.status_code
        if status == 401 and self.authenticator.can_refresh:
            self.authenticator.invalidate()
            raise TokenRejectedError(describe_response(response), response)
        if status == 429 or status >= 500:
            raise RetriableAPIError(describe_response(response), response)
        if status >= 400:
            raise self.client_error(response)
        if not 200 <= status < 300:
            raise FatalAPIError(describe_response(response))
        try:
            body = decoded_body(response)
        except msgspec.DecodeError as exc:
            if is_truncated(exc) and response.content:
                msg = (f"Truncated JSON ({len(response.content)} bytes) from "
                       f"{_method(response)} {_path(response)}: {exc}")
                raise RetriableAPIError(msg, response) from None
            msg = (f"{describe_response(response)} (HTTP {status} but not JSON: "
                   f"{response.headers.get('Content-Type') or 'no content type'})")
            raise BadBodyError(msg, response) from None
        self.check_body(body, response)
        return body

    @override
    def validate_response(self, response: requests.Response) -> None:
        body = self.validate_status(response)
        # A bare JSON array is the page itself, whatever the envelope usually is.
        records = body if isinstance(body, list) else dig(body, self.records_path)
        if not isinstance(records, list):
            where = ".".join(self.records_path) or "the top level"
            msg = (f"{describe_response(response)} (HTTP {response.status_code} without a "
                   f"list at {where})")
            raise BadBodyError(msg, response)
        setattr(response, _RECORDS, records)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        self.note_new_page(response)
        records = getattr(response, _RECORDS, None)
        if records is None:  # validate_response was bypassed (e.g. a subclass)
            self.validate_response(response)
            records = getattr(response, _RECORDS)
        return records

    # Requests outside pagination (async jobs) ------------------------------------------

    def trusted_hosts(self) -> set[str]:
        """Hosts of the configured URL settings: the only ones credentials are sent to."""
        return {urlsplit(str(self.config[name])).netloc for name in self.trusted_url_settings
                if self.config.get(name)}

    def _prepare_json(self, method: str, url: str, body: t.Any) -> requests.PreparedRequest:
        host = urlsplit(url).netloc
        if host not in self.trusted_hosts():
            msg = (f"The API pointed to {url.split('?', 1)[0]}, which is not a host of "
                   f"{', '.join(self.trusted_url_settings)}: not sending credentials there.")
            raise FatalAPIError(msg)
        headers = dict(self.http_headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.build_prepared_request(method=method, url=url, headers=headers,
                                           json=body)

    def _send_checked(self, prepared: requests.PreparedRequest,
                      context: Context | None) -> requests.Response:
        response = self.requests_session.send(self.authenticator(prepared), timeout=self.timeout,
                                              allow_redirects=False)
        self.validate_status(response)
        return response

    def send_json(self, method: str, url: str, *, body: t.Any = None,
                  context: Context | None = None) -> tuple[requests.Response, t.Any]:
        """An idempotent request (a poll, a result page) through the shared transport.

        Budget, retries, 401 renewal and error messages as for pages; returns the response
        and its decoded body.
        """
        send = self.request_decorator(self._send_checked)
        response = send(self._prepare_json(method, url, body), context)
        return response, decoded_body(response)

    def submit_once(self, method: str, url: str, *, body: t.Any = None) -> tuple[
            requests.Response, t.Any]:
        """A request that must not run twice (it starts a job on the server).

        Resent only when it provably did not reach the server or was refused before it ran:
        connection refused, a 401 with a renewable token (once), a 429. A timeout, a dropped
        connection or a 5xx fail at once: the job may already be running.
        """
        policy, budget = self.runtime.policy, self.runtime.budget(self.budget_name)
        renewed = False
        for attempt in range(1, policy.max_tries + 1):
            budget.acquire()
            prepared = self._prepare_json(method, url, body)
            where = f"{method} {prepared.path_url.split('?', 1)[0]}"
            try:
                response = self.requests_session.send(
                    self.authenticator(prepared), timeout=self.timeout, allow_redirects=False)
            except requests.exceptions.ConnectionError as exc:
                budget.observe(None)
                if cannot_connect(exc) and attempt < policy.max_tries:
                    self._wait_before_resubmit(where, attempt, exc)
                    continue
                raise self._maybe_started(where, type(exc).__name__) from None
            except requests.exceptions.RequestException as exc:  # timeout, body cut short
                budget.observe(None)
                raise self._maybe_started(where, type(exc).__name__) from None
            self.runtime.host_reached = True
            budget.observe(response)
            status = response.status_code
            if status == 401 and self.authenticator.can_refresh and not renewed:
                self.authenticator.invalidate()
                renewed = True
                continue
            if status == 429 and attempt < policy.max_tries:
                self._wait_before_resubmit(where, attempt,
                                           RetriableAPIError(describe_response(response), response))
                continue
            if status >= 500:
                raise self._maybe_started(where, describe_response(response))
            if not response.content and 200 <= status < 300:
                return response, None
            return response, self.validate_status(response)
        msg = f"{where} was refused {policy.max_tries} times"
        raise FatalAPIError(msg)

    def _wait_before_resubmit(self, where: str, attempt: int, exc: BaseException) -> None:
        wait = self.runtime.policy.wait_for(attempt, exc)
        self.logger.warning("%s did not reach the server (%s): sending it again in %.1f s",
                            where, redact(str(exc)[:200]), wait)
        time.sleep(wait)

    @staticmethod
    def _maybe_started(where: str, reason: str) -> FatalAPIError:
        return FatalAPIError(
            f"{where} failed ({redact(reason)}) after it may have reached the server; it is not "
            "sent again because that could start the job twice. Rerun the sync."
        )

    # Record messages ------------------------------------------------------------------------

    @override
    def generate_child_contexts(
        self, record: dict, context: Context | None
    ) -> Iterable[dict | None]:
        # A stream without children has no child contexts to build (or copy) per record.
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @cached_property
    def _nothing_deselected(self) -> bool:
        """True when the catalog deselects no property of this stream (the usual case)."""
        return all(selected for crumb, selected in self.mask.items() if len(crumb) >= 2)

    @override
    def _generate_record_messages(
        self, record: dict
    ) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's record messages, minus a no-op walk when nothing is deselected.

        The SDK walks every record for deselected properties even when the catalog deselects
        none; that took a quarter of the CPU on profiles. Any deselection falls back to the
        SDK's own method.
        """
        if not self._nothing_deselected:
            yield from super()._generate_record_messages(record)
            return
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            record = conform_record_data_types(
                stream_name=self.name, record=record, schema=self.effective_schema,
                level=self.TYPE_CONFORMANCE_LEVEL, logger=self.logger,
            )
        extracted = utc_now()
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(stream=stream_map.stream_alias, record=mapped,
                                           version=self._stream_version, time_extracted=extracted)


#: Variables that make requests route or verify by the environment.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def settle_environment(session: requests.Session) -> None:
    """Read the environment once instead of on every request (180 µs each, measured).

    With ``trust_env`` requests looks up proxy variables (and their bypass rules) for every
    request it sends. Where no proxy is configured the lookup can only find nothing: the CA
    bundle variables are applied once and the per-request lookup is switched off. With a
    proxy configured, nothing changes (``no_proxy`` must be checked per host).
    """
    if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES):
        return
    for name in _CA_VARIABLES:
        if os.environ.get(name) and session.verify is True:
            session.verify = os.environ[name]
            break
    session.trust_env = False


def _method(response: requests.Response) -> str:
    return response.request.method if response.request is not None else "GET"


def _path(response: requests.Response) -> str:
    return response.request.path_url.split("?", 1)[0] if response.request is not None else "?"
