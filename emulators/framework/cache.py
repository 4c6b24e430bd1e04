"""Encoded bodies of deterministic pages, kept up to a byte budget and dropped on mutation.

A vendor's list page depends only on its data (seed, scale, mutations) and the request, so
its encoded body can be served again as is; the vendor clears the cache whenever ``/mutate``
changes the data. Faults are applied by the framework after the handler, so they never
reach a cached body.
"""

from __future__ import annotations

import typing as t
from collections import OrderedDict

#: Default budget: enough for every page of a benchmark-sized emulator (Adnuntius at 60,000
#: line items serves ~270 MB a sync; an LRU smaller than one sync misses on every page).
DEFAULT_BUDGET_BYTES = 1 << 30


class BodyCache:
    """Least recently used bodies by key, at most ``budget_bytes`` in all."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        """An empty cache."""
        self.budget_bytes = budget_bytes
        self._bodies: OrderedDict[t.Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get_or_build(self, key: t.Hashable, build: t.Callable[[], bytes]) -> bytes:
        """The body cached for ``key``, else ``build()`` (kept if it fits the budget)."""
        body = self._bodies.get(key)
        if body is not None:
            self.hits += 1
            self._bodies.move_to_end(key)
            return body
        self.misses += 1
        body = build()
        if len(body) <= self.budget_bytes:
            self._bodies[key] = body
            self._bytes += len(body)
            while self._bytes > self.budget_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._bytes -= len(dropped)
        return body

    def clear(self) -> None:
        """Forget every body (the data changed)."""
        self._bodies.clear()
        self._bytes = 0

    def __len__(self) -> int:
        """Bodies held."""
        return len(self._bodies)
