"""Paginators that cannot loop: a token seen before, or too many empty pages, end with an error.

The SDK only compares a token with the one just before it, and a paginator that continues on
empty pages would follow a server that alternates cursors A, B, A, B... forever.
"""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from taps.shared.body import decoded_body, dig

if t.TYPE_CHECKING:
    import requests

T = t.TypeVar("T")


class PaginationLoopError(FatalAPIError):
    """The server sent a page token again, or an endless run of empty pages."""


def _endpoint(response: requests.Response) -> str:
    request = response.request
    if request is None:
        return "the endpoint"
    return f"{request.method} {request.path_url.split('?', 1)[0]}"


class GuardedPaginator(BaseAPIPaginator[T]):
    """A paginator that refuses a token it has seen and bounds runs of empty pages.

    Subclasses implement ``get_next`` (and ``has_more``) as usual; tokens must be hashable.
    """

    #: Consecutive empty pages that still carry a token before the stream fails.
    max_empty_pages: t.ClassVar[int] = 25

    def __init__(self, start_value: T) -> None:
        """Start at ``start_value``; nothing seen yet."""
        super().__init__(start_value)
        self._seen: set[t.Any] = set() if start_value is None else {start_value}
        self._empty_run = 0
        self._last_was_empty = False

    @override
    def advance(self, response: requests.Response) -> None:
        self._page_count += 1
        self._empty_run = self._empty_run + 1 if self._last_was_empty else 0
        self._last_was_empty = False
        if not self.has_more(response):
            self._finished = True
            return
        token = self.get_next(response)
        if token is None or token == "":
            self._finished = True
            return
        if token in self._seen:
            msg = (f"{_endpoint(response)} sent page token {str(token)[:60]!r} again on page "
                   f"{self._page_count + 1}: stopping instead of reading the same pages "
                   "forever. The API's pagination is inconsistent; retry later or report it "
                   "to the vendor.")
            raise PaginationLoopError(msg)
        if self._empty_run >= self.max_empty_pages:
            msg = (f"{_endpoint(response)} sent {self._empty_run} empty pages in a row that "
                   "still point to a next page: stopping instead of following them forever.")
            raise PaginationLoopError(msg)
        self._seen.add(token)
        self._value = token

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        self._last_was_empty = True
        return True


def as_token(value: t.Any) -> str | None:
    """A page token from any non-empty scalar (servers send strings or integers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) and value else None


class BodyCursorPaginator(GuardedPaginator["str | None"]):
    """Cursor in the JSON body; ends only when the cursor is absent, null or empty.

    Short and empty pages never end the stream: many APIs return fewer records than asked.
    """

    def __init__(self, cursor_path: tuple[str, ...]) -> None:
        """Read the next cursor at ``cursor_path`` in each page."""
        super().__init__(None)
        self.cursor_path = cursor_path

    @override
    def get_next(self, response: requests.Response) -> str | None:
        return as_token(dig(decoded_body(response), self.cursor_path))


def next_link(response: requests.Response, body: t.Any) -> str | None:
    """The ``rel=next`` URL from the ``Link`` header or a body's ``links`` (list or object)."""
    link = response.links.get("next", {}).get("url")
    if link:
        return link
    links = body.get("links") if isinstance(body, dict) else None
    if isinstance(links, dict):
        value = links.get("next")
        return value.get("href") if isinstance(value, dict) else value
    if isinstance(links, list):
        for item in links:
            if isinstance(item, dict) and item.get("rel") == "next":
                return item.get("href") or item.get("url")
    return None


class OffsetPaginator(GuardedPaginator[int]):
    """``limit``/``offset`` pages over an envelope such as ``{data, pagination, links}``.

    The next offset comes from a ``rel=next`` link when it carries one, else it advances by
    the rows actually received (a server may cap ``limit``). Ends on an empty page, when the
    offset reaches the total, or on a bare JSON array (one complete page).
    """

    def __init__(self, *, records_path: tuple[str, ...],
                 total_path: tuple[str, ...] = ("pagination", "total")) -> None:
        """Start at offset 0."""
        super().__init__(0)
        self.records_path = records_path
        self.total_path = total_path

    @override
    def get_next(self, response: requests.Response) -> int | None:
        body = decoded_body(response)
        if isinstance(body, list):
            return None
        rows = dig(body, self.records_path)
        received = len(rows) if isinstance(rows, list) else 0
        if not received:
            return None
        offset = (self.current_value or 0) + received
        link = next_link(response, body)
        if link:
            linked = parse_qs(urlsplit(link).query).get("offset")
            if linked and linked[0].isdigit():
                offset = int(linked[0])
        total = as_token(dig(body, self.total_path))
        if total is not None and total.isdigit() and offset >= int(total):
            return None
        return offset
