"""A small HTTP server on 127.0.0.1 that answers as a test tells it to (real sockets)."""

from __future__ import annotations

import json
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: (status, headers, body): what one request gets.
Answer = tuple[int, dict[str, str], bytes]
Route = t.Callable[[str, dict[str, str], int], Answer]


def json_answer(payload: t.Any, status: int = 200) -> Answer:
    """A JSON response."""
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


class MisbehavingServer:
    """Calls ``route(path, query, n)`` for the n-th request (1-based) and sends its answer."""

    def __init__(self, route: Route) -> None:
        """Bind a free port; nothing is served until ``start``."""
        self.route = route
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        #: The JSON body of each request (None when it had none or was not JSON).
        self.bodies: list[t.Any] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    outer.bodies.append(json.loads(raw) if raw else None)
                except ValueError:
                    outer.bodies.append(None)
                outer.requests.append((self.command, parts.path, query))
                status, headers, body = outer.route(parts.path, query, len(outer.requests))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> MisbehavingServer:
        """Serve in a daemon thread."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        return [path for _, path, _ in self.requests]
