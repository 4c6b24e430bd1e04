"""``GET /v1/stats`` (research §7.1): delivery per line item and half hour, summed on request.

Delivery is a function of (seed, line item, half hour): a line item delivers on every day of
its run except one day in every 7..11 (so empty days exist), with a per-day unit of each
metric spread over the day's 48 half hours by a fixed diurnal profile. Every metric of a
window is therefore exactly the sum of its half hours, and a day's the sum of its 48.
Delivery stops at the half hour the emulator started in (GUESS: data does not grow while it
runs, so counts stay stable); line items added by /mutate never deliver.
"""

from __future__ import annotations

import math
import typing as t
from decimal import Decimal

from emulators.adnuntius.errors import AdnError
from emulators.adnuntius.ids import iso, mix, parse_time
from emulators.adnuntius.objects import money

if t.TYPE_CHECKING:
    from emulators.adnuntius.store import Dataset

SLOT = 1800
#: Relative weight of each half hour of a UTC day (GUESS: a plausible diurnal curve).
PROFILE = [1] * 12 + [2] * 6 + [3] * 6 + [4] * 10 + [6] * 10 + [3] * 4
PREFIX = [sum(PROFILE[:k]) for k in range(49)]
#: GUESS: conversion from the network currency (NOK), long decimals on purpose.
RATES = {"NOK": Decimal(1), "EUR": Decimal("0.0859132"), "SEK": Decimal("0.9784113"),
         "DKK": Decimal("0.6411276"), "USD": Decimal("0.0934571"), "GBP": Decimal("0.0731905")}
MAX_WINDOW_DAYS = 3660
LEVELS = {"ADVERTISER": 0, "ORDER": 1, "LINE_ITEM": 2}
CHUNK_KEYS = ("advertiser", "order", "lineItem")
ALL_LEVELS = {"advertiser": "ADVERTISER", "order": "ORDER", "lineitem": "LINE_ITEM"}
INTS = ("impressions", "rendered", "visibles", "viewables", "clicks", "uniqueUsers")
Vector = list  # six integer metrics, then cost (Decimal, network currency)


def _units(seed: int, li: int, day: int) -> tuple[int, ...]:
    """Metric units of one line item on one delivering day (per profile weight)."""
    h = mix(seed, 313, li, day)
    imp = 1 + h % 120
    rendered = imp - (h >> 8) % (imp // 10 + 1)
    visibles = rendered - (h >> 16) % (rendered // 4 + 1)
    viewables = visibles - (h >> 24) % (visibles // 3 + 1)
    return imp, rendered, visibles, viewables, (h >> 32) % 3, imp - (h >> 40) % (imp // 2 + 1)


class Stats:
    """Stats of one dataset."""

    def __init__(self, ds: Dataset) -> None:
        """Delivery ends at the half hour the emulator started in."""
        self.ds = ds
        self.cutoff = int(ds.started // SLOT)  # first slot without delivery
        self.last_day = (self.cutoff - 1) // 48

    def _run(self, li: int, first_day: int, last_day: int) -> t.Iterator[int]:
        """Days in [first_day, last_day] on which line item ``li`` delivers."""
        plan = self.ds.plan(li)
        lo = max(plan.start_day, first_day)
        hi = min(last_day, self.last_day, plan.end_day if plan.end_day is not None else last_day)
        for day in range(lo, hi + 1):
            if (day + plan.skip_offset) % plan.skip_period:
                yield day

    def delivering_pairs(self, first_day: int, last_day: int) -> int:
        """(day, line item) pairs with impressions in [first_day, last_day] (arithmetic)."""
        total = 0
        for li in range(self.ds.base["lineitems"]):
            plan = self.ds.plan(li)
            lo = max(plan.start_day, first_day)
            end = plan.end_day if plan.end_day is not None else last_day
            hi = min(last_day, self.last_day, end)
            if hi >= lo:
                off, period = plan.skip_offset, plan.skip_period
                skipped = (hi + off) // period - (lo - 1 + off) // period
                total += hi - lo + 1 - skipped
        return total

    # The endpoint ------------------------------------------------------------------------

    def query(self, args: dict[str, str]) -> dict[str, t.Any]:
        """Answer one stats request."""
        start, end = parse_time(args.get("startDate")), parse_time(args.get("endDate"))
        if start is None or end is None:
            raise AdnError(400, "error.stats.dates", "startDate and endDate are required "
                           "ISO-8601 date-times, got {{startDate}} and {{endDate}}",
                           {"startDate": args.get("startDate"), "endDate": args.get("endDate")})
        a, b = int(start // SLOT), math.ceil(end / SLOT)  # GUESS: widened to half hours
        if b <= a:
            raise AdnError(400, "error.stats.dates", "endDate must be after startDate", {})
        if b - a > MAX_WINDOW_DAYS * 48:  # GUESS: the limit and that it is refused
            raise AdnError(400, "error.stats.dates", "The date range may span at most "
                           "{{days}} days", {"days": MAX_WINDOW_DAYS})
        currency = (args.get("currency") or self.ds.currency).upper()
        if currency not in RATES:
            raise AdnError(400, "error.currency.unknown", "Unknown currency {{currency}}",
                           {"currency": currency})
        factor = RATES[currency] / 1000
        group = (args.get("groupBy") or "").strip()
        line_items = self._line_items(args)
        first = self.ds.today - 160  # no line item runs before that
        weights = {d: self._weight(d, a, b) if first <= d <= self.last_day else 0
                   for d in range(a // 48, (b - 1) // 48 + 1)}
        # GUESS: includeAll adds every line item the filters keep, HIDDEN ones too.
        include_all = _true(args.get("includeAll"))
        if group.lower() == "daily":
            return self._daily(line_items, weights, (a, b), currency, factor=factor,
                               chunk_range=_true(args.get("includeChunkRange")))
        every = ALL_LEVELS.get((args.get("all") or "lineItem").lower())
        outer = LEVELS.get(group.upper() or (every or "LINE_ITEM"))
        inner = LEVELS.get((args.get("aggregateTo") or "").upper(), outer)
        if outer is None or inner is None or every is None:
            raise AdnError(400, "error.stats.grouping", "Unsupported grouping groupBy={{groupBy}}"
                           " aggregateTo={{aggregateTo}} all={{all}} (not emulated)",
                           {"groupBy": group, "aggregateTo": args.get("aggregateTo"),
                            "all": args.get("all")})
        if inner < outer:
            raise AdnError(400, "error.stats.grouping", "aggregateTo must be finer than groupBy",
                           {})
        vectors = {}
        for li in line_items:
            vector = _zero()
            for day in self._run(li, a // 48, (b - 1) // 48):
                weight = weights[day]
                if weight:
                    for k, unit in enumerate(_units(self.ds.seed, li, day)):
                        vector[k] += unit * weight
            if vector[0] or include_all:
                vector[6] = Decimal(vector[0]) * self.ds.plan(li).cpm * factor
                vectors[li] = vector
        tree = self._tree(vectors, outer, inner)
        chunks = [self._chunk(node, currency) for node in tree]
        return {"chunks": chunks, "totals": _metrics(_sum(v for v in vectors.values()), currency)}

    def _weight(self, day: int, a: int, b: int) -> int:
        lo, hi = max(a, day * 48), min(b, day * 48 + 48, self.cutoff)
        return PREFIX[hi - day * 48] - PREFIX[lo - day * 48] if hi > lo else 0

    def _line_items(self, args: dict[str, str]) -> list[int]:
        """Line items the filters keep (GUESS: lineItemId and advertiserId, like orderId)."""
        ds = self.ds
        items: t.Iterable[int] = range(ds.total("lineitems"))
        for param, path in (("lineItemId", "lineitems"), ("orderId", "orders"),
                            ("advertiserId", "advertisers")):
            raw = args.get(param)
            if not raw:
                continue
            # GUESS: unknown ids select nothing (no error); ";" or "," separate several.
            wanted = {ds.index_of(path, x) for x in raw.replace(",", ";").split(";")} - {None}
            if path == "lineitems":
                items = [i for i in items if i in wanted]
            elif path == "orders":
                items = [i for i in items if ds.plan(i).order in wanted]
            else:
                items = [i for i in items if ds.order_advertiser(ds.plan(i).order) in wanted]
        return list(items)

    def _tree(self, vectors: dict[int, Vector], outer: int, inner: int) -> list[dict[str, t.Any]]:
        """Nodes at level ``outer``, each holding its children down to level ``inner``."""
        def key(li: int, level: int) -> tuple[str, int]:
            if level == 2:
                return ("lineitems", li)
            order = self.ds.plan(li).order
            return ("orders", order) if level == 1 else (
                "advertisers", self.ds.order_advertiser(order))

        def build(items: list[int], level: int) -> list[dict[str, t.Any]]:
            groups: dict[tuple[str, int], list[int]] = {}
            for li in items:
                groups.setdefault(key(li, level), []).append(li)
            nodes = []
            # GUESS: chunks in creation order of their objects.
            for (path, index), members in sorted(groups.items(), key=lambda g: g[0][1]):
                node: dict[str, t.Any] = {"level": level, "path": path, "index": index,
                                          "vector": _sum(vectors[m] for m in members)}
                if level < inner:
                    node["children"] = build(members, level + 1)
                nodes.append(node)
            return nodes

        return build(sorted(vectors), outer)

    def _chunk(self, node: dict[str, t.Any], currency: str) -> dict[str, t.Any]:
        ref = self._stats_ref(node["path"], node["index"])
        chunk: dict[str, t.Any] = {CHUNK_KEYS[node["level"]]: ref}
        if "children" in node:
            chunk["chunks"] = [self._chunk(child, currency) for child in node["children"]]
            chunk["totals"] = _metrics(node["vector"], currency)
        else:
            chunk.update(_metrics(node["vector"], currency))
        return chunk

    def _stats_ref(self, path: str, index: int) -> dict[str, t.Any]:
        """Stats refs carry labels and source (DOCS:stats 2021 example)."""
        ref: dict[str, t.Any] = dict(self.ds.ref(path, index))
        if path != "advertisers":
            ref = {"id": ref["id"], "name": ref["name"],
                   "labels": self.ds.labels(path, index), "source": "DIRECT",
                   "url": ref["url"]}
        return ref

    def _daily(self, line_items: list[int], weights: dict[int, int], window: tuple[int, int],
               currency: str, *, factor: Decimal, chunk_range: bool) -> dict[str, t.Any]:
        """``groupBy=daily``: one chunk per UTC day.

        GUESS: the shape is undocumented: one chunk per UTC day, clipped to the window,
        ``{startDate, endDate, <metrics>}``; days without delivery only with
        ``includeChunkRange``.
        """
        a, b = window
        days = {d: _zero() for d in weights}
        for li in line_items:
            cpm = self.ds.plan(li).cpm
            for day in self._run(li, a // 48, (b - 1) // 48):
                weight = weights[day]
                if weight:
                    units = _units(self.ds.seed, li, day)
                    vector = days[day]
                    for k, unit in enumerate(units):
                        vector[k] += unit * weight
                    vector[6] += Decimal(units[0] * weight) * cpm * factor
        chunks = []
        for day, vector in sorted(days.items()):
            if vector[0] or chunk_range:
                lo, hi = max(a, day * 48) * SLOT, min(b, day * 48 + 48) * SLOT
                chunks.append({"startDate": iso(lo), "endDate": iso(hi),
                               **_metrics(vector, currency)})
        return {"chunks": chunks, "totals": _metrics(_sum(days.values()), currency)}


def _true(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() not in {"false", "0", "no"}


def _zero() -> Vector:
    return [0, 0, 0, 0, 0, 0, Decimal(0)]


def _sum(vectors: t.Iterable[Vector]) -> Vector:
    total = _zero()
    for vector in vectors:
        for k in range(7):
            total[k] += vector[k]
    return total


def _metrics(vector: Vector, currency: str) -> dict[str, t.Any]:
    """The metrics object (research §7.1): counts, ratios as fractions, money."""
    imp = vector[0]
    # GUESS: uniqueUsers add up over windows (real unique users would not).
    body: dict[str, t.Any] = dict(zip(INTS, vector[:6], strict=True))
    body.update({
        "ctr": vector[4] / imp if imp else 0.0,
        "visibility": vector[2] / imp if imp else 0.0,  # GUESS: denominator impressions
        "viewability": vector[3] / imp if imp else 0.0,
        "impressionsPerUniqueUser": imp / vector[5] if vector[5] else 0.0,
        "cost": money(currency, vector[6]),
        "eCpm": money(currency, vector[6] * 1000 / imp if imp else Decimal(0)),
    })
    return body
