"""Core API objects of one emulated Kissmetrics login: sizes, ids, rendering, mutations.

Nothing is generated up front: an object is a function of (seed, resource, index) plus the
small overlay ``/mutate`` leaves. Objects of a product-scoped resource belong to product
``index % products``; objects added by ``/mutate`` get the next indices.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from emulators.framework.rand import mix

RESOURCES = ("accounts", "products", "reports", "events", "properties", "metrics")
SALT = {name: k + 1 for k, name in enumerate(RESOURCES)}
#: GUESS: the product time zones (``US/Pacific`` is the docs' example); several have DST.
TIMEZONES = ("US/Pacific", "Asia/Kolkata", "Europe/Berlin", "UTC", "Australia/Sydney",
             "America/New_York")
#: Per product, reports cycle through these types. The two people searches are seen;
#: GUESS: the strings of the other (non-runnable) kinds are undocumented.
REPORT_TYPES = ("people_search_v2", "funnel", "people_search_v3", "cohort")
RUNNABLE = frozenset({"people_search_v2", "people_search_v3"})
PROBLEMS = ("stuck", "failing")  # --problem-reports: two people_search_v2 reports
EVENT_NAMES = ("visited site", "signed up", "search engine hit", "viewed pricing page",
               "started trial", "billed", "upgraded plan", "invited teammate",
               "ad campaign hit", "logged in", "canceled", "downloaded whitepaper")
PROPERTY_NAMES = ("campaign source", "plan", "referrer", "country", "billing amount",
                  "browser", "landing page", "city", "company size", "utm medium")
PROPERTY_TYPES = (None, "automatic", "text", "number")
METRIC_TITLES = ("Average Revenue Per Person", "Signups", "Trial Conversion Rate",
                 "Time To First Purchase", "Active Customers", "Churn Rate")
UNIT_TYPES = ("numeric", "time", "percent")
_NODE_MASK = (1 << 48) - 1
_INDEX_BITS = 40
DAY = 86400


def iso_z(epoch: float) -> str:
    """Accounts write ``2014-09-02T19:46:43Z`` [research 1.5]."""
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(epoch: float) -> str:
    """Every other Core object writes ``2013-10-04T05:01:07+00:00`` [research 1.5]."""
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat()


def link(root: str, path: str, rel: str, name: str) -> dict[str, t.Any]:
    """A link object ``{templated, href, rel, name}`` [research 1.4]."""
    return {"templated": False, "href": f"{root}{path}", "rel": rel, "name": name}


class Dataset:
    """Every Core resource of one login (all accounts the token can access)."""

    def __init__(self, *, seed: int, scale: int, started: float, problems: bool) -> None:
        """Sizes only; objects are rendered when asked for."""
        self.seed, self.scale, self.started = seed, scale, started
        self.products = min(3 + scale // 200, 40)
        self.accounts = 1 + (self.products - 1) // 2
        per_product = {"reports": 4 + min(scale // 500, 20), "events": 5 + min(scale // 10, 5000),
                       "properties": 4 + min(scale // 20, 2000),
                       "metrics": 2 + min(scale // 50, 500)}
        self.base = {"accounts": self.accounts, "products": self.products,
                     **{k: v * self.products for k, v in per_product.items()}}
        #: report index -> "stuck" | "failing" (only with --problem-reports)
        self.problem_reports: dict[int, str] = {}
        if problems:
            for kind in PROBLEMS:
                self.problem_reports[self.base["reports"]] = kind
                self.base["reports"] += 1
        self.added = dict.fromkeys(RESOURCES, 0)
        self.edited: dict[tuple[str, int], float] = {}
        self._mask = mix(seed, 77) & _NODE_MASK

    # Sizes, ids, lookups -----------------------------------------------------------------

    def total(self, resource: str) -> int:
        """Generated plus added objects."""
        return self.base[resource] + self.added[resource]

    def parent_of(self, resource: str, i: int) -> int:
        """The product (account, for products) an object belongs to."""
        return i % (self.accounts if resource == "products" else self.products)

    def indices(self, resource: str, parent: int | None = None) -> range:
        """All objects, or those of one parent (account for products, else product)."""
        total = self.total(resource)
        if parent is None:
            return range(total)
        step = self.accounts if resource == "products" else self.products
        return range(parent, total, step)

    def id_of(self, resource: str, i: int) -> str:
        """A version-1-looking UUID whose node field encodes (resource, index)."""
        h = mix(self.seed, SALT[resource], i)
        node = ((SALT[resource] << _INDEX_BITS) | i) ^ self._mask
        return (f"{h >> 32:08x}-{(h >> 16) & 0xFFFF:04x}-1{(h >> 4) & 0xFFF:03x}-"
                f"{0x8000 | (h >> 50) & 0x3FFF:04x}-{node:012x}")

    def index_of(self, resource: str, identifier: str) -> int | None:
        """The index behind one of our ids, else None."""
        try:
            node = int(identifier[-12:], 16) ^ self._mask
        except ValueError:
            return None
        i = node & ((1 << _INDEX_BITS) - 1)
        if node >> _INDEX_BITS != SALT[resource] or i >= self.total(resource):
            return None
        return i if self.id_of(resource, i) == identifier.lower() else None

    def report_type(self, i: int) -> str:
        """people_search_v2 for the problem reports, else the per-product cycle."""
        if i in self.problem_reports:
            return "people_search_v2"
        return REPORT_TYPES[(i // self.products) % len(REPORT_TYPES)]

    def timezone(self, product: int) -> str:
        """The product's ``timezone`` (the first product is the docs' ``US/Pacific``)."""
        return TIMEZONES[product % len(TIMEZONES)]

    def _h(self, resource: str, i: int, salt: int) -> int:
        return mix(self.seed, SALT[resource], i, salt)

    def _created(self, resource: str, i: int) -> float:
        if i >= self.base[resource]:
            return self.started - 3600 + (i - self.base[resource])
        return self.started - DAY * (30 + self._h(resource, i, 1) % 900)

    def _name(self, resource: str, i: int, name: str) -> str:
        return f"{name} (edited)" if (resource, i) in self.edited else name

    def event_name(self, product: int, k: int) -> str:
        """Name of the product's k-th library event (lower-case canonical)."""
        base = EVENT_NAMES[k % len(EVENT_NAMES)]
        return base if k < len(EVENT_NAMES) else f"{base} {k // len(EVENT_NAMES) + 1}"

    def property_name(self, product: int, k: int) -> str:
        """Name of the product's k-th property."""
        base = PROPERTY_NAMES[k % len(PROPERTY_NAMES)]
        return base if k < len(PROPERTY_NAMES) else f"{base} {k // len(PROPERTY_NAMES) + 1}"

    # Rendering -----------------------------------------------------------------------------

    def render(self, resource: str, i: int, root: str) -> dict[str, t.Any]:
        """The object as the Core API draws it [research 2.5-2.10], links absolute."""
        return getattr(self, f"_{resource}")(i, root)

    def _accounts(self, i: int, root: str) -> dict[str, t.Any]:
        ident = self.id_of("accounts", i)
        created = self._created("accounts", i)
        updated = self.edited.get(("accounts", i), created + DAY * (self._h("accounts", i, 2) % 20))
        return {"id": ident, "name": self._name("accounts", i, f"Acme Account {i + 1}"),
                "status": "canceled" if i % 5 == 4 else "active",
                "created_at": iso_z(created), "updated_at": iso_z(updated),
                "contact": {"phone": None, "country": None, "name": None},
                "links": [link(root, f"/core/accounts/{ident}", "self", "Account Details"),
                          link(root, f"/core/accounts/{ident}/products", "products",
                               "Account Products")]}

    def _products(self, i: int, root: str) -> dict[str, t.Any]:
        ident, account = self.id_of("products", i), self.id_of("accounts", i % self.accounts)
        path = f"/core/products/{ident}"
        return {"id": ident, "account_id": account,
                "name": self._name("products", i, f"Product {i + 1}"),
                "url": f"http://product{i + 1}.example.com", "status": "active",
                "environment": ("", "production", "staging")[i % 3],
                "timezone": self.timezone(i),
                "created_at": iso_offset(self._created("products", i)),
                "links": [link(root, path, "self", "Product Details"),
                          link(root, f"/core/accounts/{account}", "account", "Account"),
                          link(root, f"{path}/reports", "reports", "Product Reports"),
                          link(root, f"{path}/events", "events", "Product Events"),
                          link(root, f"{path}/properties", "properties", "Product Properties")]}

    def _reports(self, i: int, root: str) -> dict[str, t.Any]:
        ident, rtype = self.id_of("reports", i), self.report_type(i)
        product = i % self.products
        pid, aid = self.id_of("products", product), self.id_of("accounts", product % self.accounts)
        kind = self.problem_reports.get(i)
        label = f"{kind.capitalize()} query (emulator)" if kind else rtype.replace("_", " ").title()
        return {"id": ident, "account_id": aid, "product_id": pid,
                "name": self._name("reports", i, f"{label} {i + 1}"), "report_type": rtype,
                "created_at": iso_offset(self._created("reports", i)),
                "links": [link(root, f"/core/reports/{ident}", "self", "Report Details"),
                          link(root, f"/query/reports/{ident}/run", "run", "Run Report"),
                          link(root, f"/v2/products/{pid}/reports/{ident}/run", "run_v2",
                               "Run Report (v2)"),
                          link(root, f"/core/products/{pid}", "product", "Product"),
                          link(root, f"/core/accounts/{aid}", "account", "Account")]}

    def _library(self, resource: str, i: int, root: str, name: str) -> dict[str, t.Any]:
        ident, product = self.id_of(resource, i), i % self.products
        h = self._h(resource, i, 3)
        first = self._created(resource, i)
        last = min(first + DAY * (h % 400), self.started - 60)
        never = h % 11 == 0  # GUESS: some library entries were never sent (null times)
        return {"id": ident, "product_id": self.id_of("products", product),
                "name": name, "display_name": self._name(resource, i, name.capitalize()),
                "description": None if h % 3 else f"Tracks {name}.",
                "is_visible": h % 9 != 0,
                "first_used_at": None if never else iso_offset(first),
                "last_used_at": None if never else iso_offset(last),
                "first_sent_at": None if never else iso_offset(first),
                "last_sent_at": None if never else iso_offset(last),
                "index": i // self.products + 1,
                "links": [link(root, f"/core/{resource}/{ident}", "self", "Details"),
                          link(root, f"/core/products/{self.id_of('products', product)}",
                               "product", "Product")]}

    def _events(self, i: int, root: str) -> dict[str, t.Any]:
        record = self._library("events", i, root, self.event_name(i % self.products,
                                                                  i // self.products))
        never = record["first_used_at"] is None
        record["total"] = 0 if never else 1 + self._h("events", i, 4) % 250000
        return record

    def _properties(self, i: int, root: str) -> dict[str, t.Any]:
        record = self._library("properties", i, root, self.property_name(i % self.products,
                                                                         i // self.products))
        record["type"] = PROPERTY_TYPES[self._h("properties", i, 5) % len(PROPERTY_TYPES)]
        return record

    def _metrics(self, i: int, root: str) -> dict[str, t.Any]:
        ident, product = self.id_of("metrics", i), i % self.products
        h = self._h("metrics", i, 6)
        changed = self.edited.get(("metrics", i), self._created("metrics", i) + DAY * (h % 30))
        title = METRIC_TITLES[(i // self.products) % len(METRIC_TITLES)]
        return {"id": ident, "product_id": self.id_of("products", product),
                "title": self._name("metrics", i, title),
                "description": f"{title} of product {product + 1}",
                "unit_type": UNIT_TYPES[h % len(UNIT_TYPES)],
                "status": ("pending", "active")[h % 2],  # the docs' example is "pending"
                "color": None if h % 4 == 0 else f"#{h % 0xFFFFFF:06x}",
                "sort_index": i // self.products, "is_visible": h % 7 != 0,
                "config_last_changed_at": iso_offset(changed),
                "links": [link(root, f"/core/metrics/{ident}", "self", "Metric Details"),
                          link(root, f"/core/products/{self.id_of('products', product)}",
                               "product", "Product"),
                          link(root, f"/query/metrics/{ident}/over-time", "metric-over-time",
                               "Metric Over Time"),
                          link(root, f"/query/metrics/{ident}/by-segment", "metric-by-segment",
                               "Metric By Segment")]}

    # Mutations ---------------------------------------------------------------------------

    def mutate(self, count: int, now: float) -> dict[str, int]:
        """Rename ``count`` objects of every resource; add ``count`` to product-scoped ones.

        Accounts and products keep their number (report windows hang on them).
        """
        for resource in RESOURCES:
            total = self.total(resource)
            for k in range(min(count, total)):
                i = (mix(self.seed, SALT[resource], len(self.edited), k) % total)
                self.edited[(resource, i)] = now
            if resource not in {"accounts", "products"}:
                self.added[resource] += count
        return {resource: self.total(resource) for resource in RESOURCES}
