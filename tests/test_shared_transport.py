"""LeanAdapter against requests' own HTTPAdapter: the same answers and the same failures.

Each case runs the same exchange through a session with requests' adapter and one with
``LeanAdapter``, over a raw-socket server on 127.0.0.1 that writes exactly the bytes the
case gives (keep-alive, chunked, gzip, bodies cut short, closed connections, slow answers,
TLS), and compares what each session returned or raised.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import urllib3

from taps.shared.errors import cannot_connect
from taps.shared.transport import LeanAdapter, use_lean_transport

#: What the server sends for the n-th request (1-based) on a connection: the raw answer,
#: whether to close the connection after it, and a delay before it.
Script = t.Callable[[int, bytes], tuple[bytes, bool, float]]


def answer(body: bytes = b'{"ok": true}', status: str = "200 OK", *,
           headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    """An HTTP/1.1 answer with ``Content-Length`` (``length`` may lie about the body)."""
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json",
             f"Content-Length: {len(body) if length is None else length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(*pieces: bytes) -> bytes:
    """An HTTP/1.1 answer whose body is sent in ``pieces`` (chunked transfer encoding)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


class RawServer:
    """Answers each request on each connection as ``script`` says, byte for byte."""

    def __init__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> None:
        """Listen on a free port of 127.0.0.1."""
        self.script = script
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.request_lines: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/items") -> str:
        """The URL of ``path`` on this server."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                return
        buffer, number = b"", 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                number += 1
                self.request_lines.append(head.split(b"\r\n")[0])
                raw, close, delay = self.script(number, head)
                time.sleep(delay)
                try:
                    conn.sendall(raw)
                except OSError:
                    return
                if close:
                    return

    def close(self) -> None:
        """Stop accepting."""
        self.listener.close()


def sessions() -> dict[str, requests.Session]:
    """A session with requests' adapter and one with LeanAdapter."""
    lean = requests.Session()
    use_lean_transport(lean)
    return {"requests": requests.Session(), "lean": lean}


def outcome(call: t.Callable[[], requests.Response]) -> tuple[t.Any, ...]:
    """What a request gave, comparable across adapters: the answer, or the failure's kind."""
    try:
        response = call()
    except requests.exceptions.RequestException as exc:
        kind = type(exc).__name__
        connect = isinstance(exc, requests.exceptions.ConnectionError) and cannot_connect(exc)
        return ("raised", kind, connect)
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    return ("answered", response.status_code, response.content, headers, response.encoding,
            urlsplit(response.url).path, len(response.history), response.reason)


def both(script: Script, exchange: t.Callable[[requests.Session, RawServer], t.Any], *,
         tls: ssl.SSLContext | None = None) -> dict[str, t.Any]:
    """``exchange`` with each adapter, each against a fresh server running ``script``."""
    results = {}
    for name, session in sessions().items():
        server = RawServer(script, tls=tls)
        try:
            results[name] = exchange(session, server)
        finally:
            session.close()
            server.close()
    return results


def same(script: Script, exchange: t.Callable[[requests.Session, RawServer], t.Any], *,
         tls: ssl.SSLContext | None = None) -> t.Any:
    """Assert both adapters gave the same; return it."""
    results = both(script, exchange, tls=tls)
    assert results["lean"] == results["requests"]
    return results["lean"]


def get_twice(session: requests.Session, server: RawServer) -> list[tuple[t.Any, ...]]:
    first = outcome(lambda: session.get(server.url(), timeout=5))
    time.sleep(0.05)  # a close by the server has reached the client
    return [first, outcome(lambda: session.get(server.url(), timeout=5))]


def test_a_plain_answer_is_the_same_and_the_connection_is_kept() -> None:
    body = json.dumps({"items": list(range(3000))}).encode()
    results = same(lambda n, head: (answer(body), False, 0), get_twice)
    assert results[0][:3] == ("answered", 200, body)
    lean = requests.Session()
    use_lean_transport(lean)
    server = RawServer(lambda n, head: (answer(body), False, 0))
    for _ in range(5):
        assert lean.get(server.url(), timeout=5).content == body
    assert server.connections == 1


def test_gzip_and_chunked_bodies_are_decoded_alike() -> None:
    body = json.dumps({"items": ["x" * 50] * 500}).encode()
    zipped = gzip.compress(body)
    results = same(lambda n, head: (answer(zipped, headers={"Content-Encoding": "gzip"}),
                                    False, 0), get_twice)
    assert results[1][2] == body
    results = same(lambda n, head: (chunked(body[:1000], body[1000:]), False, 0), get_twice)
    assert results[1][2] == body


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified", "404 Not Found",
                                    "429 Too Many Requests", "503 Service Unavailable"])
def test_statuses_without_or_with_bodies_are_the_same(status: str) -> None:
    body = b"" if status[0] in "23" else b'{"error": "no"}'
    same(lambda n, head: (answer(body, status), False, 0), get_twice)


def test_a_body_cut_short_fails_alike_and_the_next_request_recovers() -> None:
    def exchange(session: requests.Session, server: RawServer) -> t.Any:
        served.clear()
        return get_twice(session, server)

    served: list[int] = []

    def script(number: int, head: bytes) -> tuple[bytes, bool, float]:
        served.append(number)
        if len(served) == 1:  # the first request of the run, not of the connection
            return answer(b'{"items": [1, 2', length=400), True, 0
        return answer(), False, 0

    results = same(script, exchange)
    assert results[0] == ("raised", "ChunkedEncodingError", False)
    assert results[1][:2] == ("answered", 200)


def test_connections_closed_by_the_server_are_reopened() -> None:
    # Closed after each answer: once announced, once without a word.
    for headers in ({"Connection": "close"}, {}):
        results = same(lambda n, head, h=headers: (answer(headers=h), True, 0), get_twice)
        assert [r[:2] for r in results] == [("answered", 200)] * 2


def test_nothing_listening_is_a_connection_that_could_not_be_opened() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = {name: outcome(lambda s=session: s.get(f"http://127.0.0.1:{port}/", timeout=5))
               for name, session in sessions().items()}
    assert results["lean"] == results["requests"] == ("raised", "ConnectionError", True)


def test_a_slow_answer_is_a_read_timeout_alike() -> None:
    results = same(lambda n, head: (answer(), False, 1.0 if n == 1 else 0),
                   lambda session, server: [
                       outcome(lambda: session.get(server.url(), timeout=(5, 0.2))),
                       outcome(lambda: session.get(server.url(), timeout=5))])
    assert results[0] == ("raised", "ReadTimeout", False)
    assert results[1][:2] == ("answered", 200)


def test_redirects_cookies_and_request_bodies_go_through_requests() -> None:
    def script(number: int, head: bytes) -> tuple[bytes, bool, float]:
        if head.startswith(b"GET /old"):
            return answer(b"", "302 Found", headers={"Location": "/items"}), False, 0
        return answer(b'{"n": %d}' % number, headers={"Set-Cookie": "seen=1; Path=/"}), False, 0

    def exchange(session: requests.Session, server: RawServer) -> t.Any:
        moved = outcome(lambda: session.get(server.url("/old"), timeout=5))
        posted = outcome(lambda: session.post(server.url(), json={"a": 1}, timeout=5))
        return moved, posted, session.cookies.get("seen"), server.request_lines

    moved, posted, cookie, lines = same(script, exchange)
    assert moved[0] == "answered"
    assert moved[6] == 1  # one redirect followed
    assert posted[:2] == ("answered", 200)
    assert cookie == "1"
    assert lines == [b"GET /old HTTP/1.1", b"GET /items HTTP/1.1", b"POST /items HTTP/1.1"]


def test_a_response_left_unread_does_not_spoil_the_next() -> None:
    lean = requests.Session()
    use_lean_transport(lean)
    # Larger than what http.client reads ahead with the headers: most of it stays unread.
    padding = b" " * 200_000
    server = RawServer(lambda n, head: (answer(b'{"n": %d}%s' % (n, padding)), False, 0))

    def refuse(response: requests.Response, *args: t.Any, **kwargs: t.Any) -> None:
        raise RuntimeError("hook")

    lean.hooks["response"].append(refuse)
    with pytest.raises(RuntimeError):
        lean.get(server.url(), timeout=5)  # its body never read
    lean.hooks["response"].remove(refuse)
    assert lean.get(server.url(), timeout=5).json() == {"n": 1}  # a new connection's first


def test_each_thread_has_its_own_connection() -> None:
    lean = requests.Session()
    use_lean_transport(lean)
    server = RawServer(lambda n, head: (answer(b'{"n": %d}' % n), False, 0.01))
    seen: list[int] = []

    def reader() -> None:
        seen.extend(lean.get(server.url(), timeout=5).json()["n"] for _ in range(5))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted([1, 2, 3, 4, 5] * 4)  # each connection counted 1 to 5
    assert server.connections == 4
    lean.close()


def test_a_proxy_is_left_to_requests() -> None:
    proxy = RawServer(lambda n, head: (answer(b'{"via": "proxy"}'), False, 0))
    lean = requests.Session()
    use_lean_transport(lean)
    response = lean.get("http://example.invalid/items", timeout=5,
                        proxies={"http": f"http://127.0.0.1:{proxy.port}"})
    assert response.json() == {"via": "proxy"}
    assert proxy.request_lines == [b"GET http://example.invalid/items HTTP/1.1"]


def test_the_taps_sessions_use_it() -> None:
    from taps.amperity.tap import TapAmperity  # noqa: PLC0415

    tap = TapAmperity(config={"api_url": "http://127.0.0.1:9", "tenant": "t",
                              "access_token": "x", "start_date": "2024-01-01T00:00:00Z"},
                      validate_config=False)
    stream = next(iter(tap.streams.values()))
    assert isinstance(stream.requests_session.get_adapter("https://x"), LeanAdapter)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.filterwarnings("error::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verifies_as_requests_does(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def exchange(verify: t.Any) -> t.Callable[[requests.Session, RawServer], t.Any]:
        return lambda session, server: outcome(
            lambda: session.get(server.url(), timeout=5, verify=verify))

    script: Script = lambda n, head: (answer(), False, 0)  # noqa: E731
    assert same(script, exchange(True), tls=context) == ("raised", "SSLError", False)
    for name, session in sessions().items():  # both warn that nothing is verified
        server = RawServer(script, tls=context)
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert session.get(server.url(), timeout=5, verify=False).status_code == 200, name
    assert same(script, exchange(str(cert)), tls=context)[:2] == ("answered", 200)


def test_an_adapter_mounted_once() -> None:
    session = requests.Session()
    use_lean_transport(session)
    adapter = session.get_adapter("http://x")
    use_lean_transport(session)
    assert session.get_adapter("https://x") is adapter is session.get_adapter("http://x")
