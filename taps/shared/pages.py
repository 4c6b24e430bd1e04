"""Page-number pagination (``page`` + ``pageSize``) that stops on the server's own signals.

A stream ends on an empty page, a page shorter than the page size, a page without an id not
seen before, or once ``total`` distinct ids are read. Then the distinct ids read are checked
against the server's total: fewer means pages were skipped (a wrong first page number, or a
server that ignores ``page``), and the stream fails naming the setting instead of finishing
short.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

from taps.shared.body import decoded_body, dig
from taps.shared.paging import GuardedPaginator

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest


class PageShortfallError(FatalAPIError):
    """Fewer distinct records than the server's total: pages were skipped."""


def _as_int(value: t.Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class PageNumberPaginator(GuardedPaginator[int]):
    """Pages ``page_base``, ``page_base + 1``, ...; the numbers go in the query or a JSON body.

    ``records_path``, ``total_path`` and ``size_path`` locate the records, the total count and
    the page size the server used (when it says; a smaller one replaces the requested size).
    """

    def __init__(
        self,
        *,
        page_base: int,
        page_size: int,
        records_path: tuple[str, ...] = ("results",),
        total_path: tuple[str, ...] | None = ("totalCount",),
        size_path: tuple[str, ...] | None = ("pageSize",),
        id_key: str = "id",
        page_param: str = "page",
        size_param: str = "pageSize",
        in_body: bool = False,
        base_setting: str = "page_base",
    ) -> None:
        """Start at ``page_base``; nothing read yet."""
        super().__init__(page_base)
        self.page_base, self.page_size = page_base, page_size
        self.records_path, self.total_path, self.size_path = records_path, total_path, size_path
        self.id_key, self.page_param, self.size_param = id_key, page_param, size_param
        self.in_body, self.base_setting = in_body, base_setting
        self.ids: set[t.Any] = set()
        self.total: int | None = None
        self.end_reason = ""

    def fields(self, page: int | None) -> dict[str, int]:
        """The page number and size to send for ``page``."""
        return {self.page_param: self.page_base if page is None else page,
                self.size_param: self.page_size}

    def apply(self, request: HTTPRequest, page: int | None) -> HTTPRequest:
        """Put the page fields into the request's query string or JSON body."""
        if self.in_body:
            body = dict(request.data) if isinstance(request.data, dict) else {}
            body.update(self.fields(page))
            request.data = body
        else:
            request.params.update(self.fields(page))
        return request

    def _end(self, reason: str, response: requests.Response) -> bool:
        self.end_reason = reason
        self.check_complete(response)
        return False

    @override
    def has_more(self, response: requests.Response) -> bool:
        body = decoded_body(response)
        records = dig(body, self.records_path) if self.records_path else body
        records = records if isinstance(records, list) else []
        total = _as_int(dig(body, self.total_path)) if self.total_path else None
        if total is not None:
            self.total = total
        size = _as_int(dig(body, self.size_path)) if self.size_path else None
        if size is not None and 0 < size < self.page_size:
            self.page_size = size  # the server caps the page size: pages are this long
        before = len(self.ids)
        self.ids.update(r.get(self.id_key) for r in records if isinstance(r, dict))
        if not records:
            return self._end("an empty page", response)
        if len(self.ids) == before:
            return self._end("a page without new records", response)
        if len(records) < self.page_size:
            return self._end("a short page", response)
        if self.total is not None and len(self.ids) >= self.total:
            return self._end("the total count reached", response)
        return True

    @override
    def get_next(self, response: requests.Response) -> int | None:
        return int(self.current_value) + 1

    def check_complete(self, response: requests.Response) -> None:
        """Fail when fewer distinct records were read than the server's total."""
        if self.total is None or len(self.ids) >= self.total:
            return
        request = response.request
        where = request.path_url.split("?", 1)[0] if request is not None else "the endpoint"
        msg = (f"{where} reported {self.total} records but {len(self.ids)} distinct ones were "
               f"read in {self._page_count} pages (ended on {self.end_reason}): pages were "
               f"skipped. Check the {self.base_setting} setting (the first page number, now "
               f"{self.page_base}; try {1 - self.page_base if self.page_base in {0, 1} else 0})"
               ", or the server returns everything in one page.")
        raise PageShortfallError(msg)
