"""A lighter transport under ``requests``: the same Session, hooks and Response, less CPU.

Every request of a tap goes through ``requests.Session``: the SDK's authenticators, retry
decorator and redaction, and our hooks, are built on it. Underneath, requests' own
``HTTPAdapter`` hands each request to urllib3's connection pool and has the body read in
10 KB chunks, about 0.2 ms of CPU per request more than this adapter needs
(``benchmarks/http_clients.py``), spent under the GIL that the record path needs too.

``LeanAdapter`` sends a plain request (no proxy, no client certificate, not streamed, a
body of bytes or text) over a keep-alive ``http.client`` connection of its own, one per
thread and host. It wraps the answer in urllib3's own ``HTTPResponse`` (content decoding
and length checks as ever), whose body streams as one piece, and builds the ``Response``
with requests' own ``build_response``. Anything else goes to requests' adapter, and every
failure comes out as requests' adapter raises it: the same exception types with the same
kinds of cause (``tests/test_shared_transport.py`` runs both over the same faults).
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import typing as t
import warnings
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import (
    ConnectTimeoutError,
    InsecureRequestWarning,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.wait import wait_for_read

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

#: (scheme, host, port, verify): what a connection can be reused for.
_Key = tuple[str, str, int, t.Any]


class _ThreadConnections(threading.local):
    """One thread's open connections and the last answer read on each."""

    def __init__(self) -> None:
        self.connections: dict[_Key, http.client.HTTPConnection] = {}
        self.answers: dict[_Key, _WholeBody] = {}


class LeanAdapter(HTTPAdapter):
    """``HTTPAdapter`` over per-thread keep-alive ``http.client`` connections."""

    def __init__(self, **kwargs: t.Any) -> None:
        """As ``HTTPAdapter``; connections are opened per thread on first use."""
        super().__init__(**kwargs)
        self._local = _ThreadConnections()
        self._opened: list[http.client.HTTPConnection] = []
        self._opened_lock = threading.Lock()
        self._tls: dict[t.Any, ssl.SSLContext] = {}

    def send(self, request: requests.PreparedRequest, stream: bool = False,  # noqa: PLR0917 - HTTPAdapter's signature
             timeout: t.Any = None, verify: t.Any = True, cert: t.Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        """Send ``request``: over this thread's connection where it applies, else as ever."""
        parts = urlsplit(request.url or "")
        if (stream or cert or proxies or parts.scheme not in {"http", "https"}
                or not parts.hostname or not isinstance(request.body, (bytes, str, type(None)))):
            return super().send(request, stream=stream, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        connect_timeout, read_timeout = _timeouts(timeout)
        https = parts.scheme == "https"
        key = (parts.scheme, parts.hostname, parts.port or (443 if https else 80),
               verify if https else None)
        if https and verify is False:
            warnings.warn(f"Unverified HTTPS request is being made to host '{parts.hostname}'. "
                          "Adding certificate verification is strongly advised.",
                          InsecureRequestWarning, stacklevel=2)
        connection = self._connection(key, connect_timeout, request)
        try:
            connection.sock.settimeout(read_timeout)  # type: ignore[union-attr]
            connection.request(request.method or "GET", request.path_url, body=request.body,
                               headers=request.headers)
            answer = connection.getresponse()
        except TimeoutError as exc:
            self._drop(key)
            error = ReadTimeoutError(None, request.url,  # type: ignore[arg-type]
                                     f"Read timed out. (read timeout={read_timeout})")
            raise requests.exceptions.ReadTimeout(error, request=request) from exc
        except ssl.SSLError as exc:
            self._drop(key)
            raise requests.exceptions.SSLError(Urllib3SSLError(exc), request=request) from exc
        except (http.client.HTTPException, OSError) as exc:
            self._drop(key)
            error = ProtocolError("Connection aborted.", exc)
            raise requests.exceptions.ConnectionError(error, request=request) from exc
        raw = _WholeBody(body=answer, headers=HTTPHeaderDict(answer.getheaders()),
                         status=answer.status, version=answer.version, reason=answer.reason,
                         preload_content=False, decode_content=True,
                         original_response=answer, enforce_content_length=True,
                         request_method=request.method, request_url=request.url)
        self._local.answers[key] = raw
        return self.build_response(request, raw)

    def close(self) -> None:
        """Close requests' pools and every connection this adapter opened, on any thread."""
        super().close()
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def _connection(self, key: _Key, connect_timeout: float | None,
                    request: requests.PreparedRequest) -> http.client.HTTPConnection:
        """The calling thread's connection to ``key``'s host, opened anew where it cannot serve.

        A new one where the server closed the last (``Connection: close``, or an idle
        keep-alive socket that became readable) or where the last answer's body was not
        read to its end (a failure or a hook came first): its remaining bytes would come
        before the next answer.
        """
        connection = self._local.connections.get(key)
        last = self._local.answers.pop(key, None)
        if connection is not None and (connection.sock is None
                                       or wait_for_read(connection.sock, timeout=0)
                                       or (last is not None and not last.read_whole)):
            self._drop(key)
            connection = None
        if connection is None:
            connection = self._open(key, connect_timeout, request)
            self._local.connections[key] = connection
            with self._opened_lock:
                self._opened = [each for each in self._opened if each.sock is not None]
                self._opened.append(connection)
        return connection

    def _open(self, key: _Key, connect_timeout: float | None,
              request: requests.PreparedRequest) -> http.client.HTTPConnection:
        """A new connection, or the error requests' adapter raises when none can be opened."""
        scheme, host, port, verify = key
        connection = (http.client.HTTPSConnection(host, port, timeout=connect_timeout,
                                                  context=self._tls_context(verify))
                      if scheme == "https" else
                      http.client.HTTPConnection(host, port, timeout=connect_timeout))
        try:
            connection.connect()
        except TimeoutError as exc:
            error = ConnectTimeoutError(
                None, f"Connection to {host} timed out. (connect timeout={connect_timeout})")
            raise requests.exceptions.ConnectTimeout(
                MaxRetryError(None, request.url, error), request=request) from exc  # type: ignore[arg-type]
        except ssl.SSLError as exc:
            raise requests.exceptions.SSLError(
                MaxRetryError(None, request.url, Urllib3SSLError(exc)),  # type: ignore[arg-type]
                request=request) from exc
        except OSError as exc:
            error = NewConnectionError(
                None, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]
            raise requests.exceptions.ConnectionError(
                MaxRetryError(None, request.url, error), request=request) from exc  # type: ignore[arg-type]
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
        return connection

    def _tls_context(self, verify: t.Any) -> ssl.SSLContext:
        """A client context that verifies as requests does: its CA bundle, a path, or not."""
        context = self._tls.get(verify)
        if context is None:
            if verify is False:
                context = ssl._create_unverified_context()  # noqa: S323 - verify=False
            else:
                from requests.utils import DEFAULT_CA_BUNDLE_PATH  # noqa: PLC0415

                path = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
                folder = os.path.isdir(path)
                context = ssl.create_default_context(cafile=None if folder else path,
                                                     capath=path if folder else None)
            self._tls[verify] = context
        return context

    def _drop(self, key: _Key) -> None:
        connection = self._local.connections.pop(key, None)
        self._local.answers.pop(key, None)
        if connection is not None:
            connection.close()


class _WholeBody(HTTPResponse):
    """urllib3's response over an ``http.client`` answer, its body streamed in one piece.

    requests reads a body as ``raw.stream(10240)`` chunks and joins them (50 reads for
    500 KB); one read gives the same bytes, decoded and length-checked by the same code.
    ``read_whole`` says the body was read to its end (the connection can serve again).
    """

    read_whole = False

    def stream(self, amt: int | None = 2**16,
               decode_content: bool | None = None) -> Iterator[bytes]:
        """The whole (decoded) body as one chunk, whatever ``amt``."""
        data = self.read(decode_content=decode_content)
        self.read_whole = True
        if data:
            yield data


def _timeouts(timeout: t.Any) -> tuple[float | None, float | None]:
    """The ``timeout`` requests takes (a number or a (connect, read) pair), as the pair."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return connect, read
    return timeout, timeout


def use_lean_transport(session: requests.Session) -> None:
    """Mount ``LeanAdapter`` for http and https on ``session`` (once)."""
    if not isinstance(session.get_adapter("https://"), LeanAdapter):
        adapter = LeanAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
