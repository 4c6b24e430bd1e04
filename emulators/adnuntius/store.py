"""One emulated Adnuntius network: object counts, states, timestamps, mutations, rendering.

Nothing is generated up front: a record is a function of (seed, resource, index) plus a
small overlay of what ``/mutate`` changed. Records added by ``/mutate`` get indices after
the generated ones, so creation order is index order.
"""

from __future__ import annotations

import datetime as dt
import random
import typing as t

from emulators.adnuntius.ids import TIME_STYLES, IdCodec, iso, mix
from emulators.adnuntius.objects import (
    PEOPLE,
    RESOURCES,
    LineItemPlan,
    base_counts,
    labels_of,
    line_item_plan,
    name_of,
    render_fields,
)

NETWORK_ID = "acme_media"
NETWORK_NAME = "Acme Media"
CURRENCY = "NOK"  # GUESS: the network's currency (the docs' examples use NOK)
START_DATE_DAYS = 30  # the first line's start_date: midnight UTC 30 days before start
STATES = ("ACTIVE", "INACTIVE", "HIDDEN")
MISSING = object()


class LazyRecord:
    """An object whose cheap fields are computed on access, the rest by one full render."""

    __slots__ = ("_full", "ds", "i", "path")

    def __init__(self, ds: Dataset, path: str, i: int) -> None:
        """Nothing rendered yet."""
        self.ds, self.path, self.i = ds, path, i
        self._full: dict[str, t.Any] | None = None

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Like ``dict.get``."""
        value = self.ds.cheap(self.path, self.i, key)
        if value is not MISSING:
            return value
        if self._full is None:
            self._full = self.ds.render(self.path, self.i)
        return self._full.get(key, default)


class Dataset:
    """Every list resource of one network."""

    def __init__(self, *, seed: int, scale: int, started: float) -> None:
        """Counts and codecs only; records are rendered when asked for."""
        self.seed, self.scale, self.started = seed, scale, started
        self.currency = CURRENCY
        self.today = int(started // 86400)
        self.start_day = self.today - START_DATE_DAYS
        self.base = base_counts(scale)
        self.codecs = {p: IdCodec(seed, r.salt, uuid=p == "users") for p, r in RESOURCES.items()}
        #: (path, index) -> {"time": epoch, "state": str | None, "edited": bool}
        self.changed: dict[tuple[str, int], dict[str, t.Any]] = {}
        #: path -> [(created epoch, HIDDEN?)] of records added by /mutate
        self.added: dict[str, list[tuple[float, bool]]] = {p: [] for p in RESOURCES}
        self.version = 0
        self._plans: dict[int, LineItemPlan] = {}
        self._ids: dict[str, dict[int, str]] = {p: {} for p in RESOURCES}
        #: (path, index) -> current name; refs repeat the same few parents. Reset by mutate.
        self._names: dict[tuple[str, int], str] = {}
        self._year = dt.datetime.fromtimestamp(started, tz=dt.timezone.utc).year
        start = self.start_day * 86400 + 3600
        self._time_span = (start, max(started - 60 - start, 1))

    # Sizes and lookups -------------------------------------------------------------------

    def total(self, path: str) -> int:
        """Generated plus added records of a resource (every state)."""
        return self.base[path] + len(self.added[path])

    def index_of(self, path: str, identifier: str) -> int | None:
        """The index behind an id, if such a record exists."""
        index = self.codecs[path].decode(identifier)
        return index if index is not None and index < self.total(path) else None

    def id_of(self, path: str, i: int) -> str:
        """The id of record ``i`` (memoised: refs repeat the same few parents)."""
        ids = self._ids[path]
        identifier = ids.get(i)
        if identifier is None:
            identifier = ids[i] = self.codecs[path].encode(i)
        return identifier

    def _hash(self, path: str, i: int, salt: int) -> int:
        return mix(self.seed, RESOURCES[path].salt, i, salt)

    def state(self, path: str, i: int) -> str:
        """objectState: 8% HIDDEN, 14% INACTIVE, the rest ACTIVE (GUESS: the shares)."""
        overlay = self.changed.get((path, i))
        if overlay and overlay["state"]:
            return overlay["state"]
        if i >= self.base[path]:
            return "HIDDEN" if self.added[path][i - self.base[path]][1] else "ACTIVE"
        if path == "users" and i < 3:
            return "ACTIVE"  # the login users
        roll = self._hash(path, i, 2) % 100
        return "HIDDEN" if roll < 8 else "INACTIVE" if roll < 22 else "ACTIVE"

    def times(self, path: str, i: int) -> tuple[str, str]:
        """(createTime, updateTime) as the API writes them.

        GUESS: every generated updateTime lies after the first line's start_date, so counts
        hold whether or not a tap applies start_date to updateTime.
        """
        overlay = self.changed.get((path, i))
        if i >= self.base[path]:
            created = self.added[path][i - self.base[path]][0]
            return iso(created), iso(overlay["time"] if overlay else created)
        h = self._hash(path, i, 5)
        start, span = self._time_span
        updated = start + h % span
        created = updated - (h >> 24) % (700 * 86400)
        style = TIME_STYLES[(h >> 60) % len(TIME_STYLES)]
        if overlay:
            return iso(created, style), iso(overlay["time"])
        return iso(created, style), iso(updated, style)

    def name(self, path: str, i: int) -> str:
        """The current name (``(edited)`` after a mutation renamed it); memoised per version."""
        names = self._names
        name = names.get((path, i))
        if name is None:
            name = name_of(path, i, self._hash(path, i, 1), self._year)
            overlay = self.changed.get((path, i))
            name = names[(path, i)] = f"{name} (edited)" if overlay and overlay["edited"] else name
        return name

    def ref(self, path: str, i: int) -> dict[str, str]:
        """A reference object ``{id, name, url}`` (research §3)."""
        identifier = self.id_of(path, i)
        return {"id": identifier, "name": self.name(path, i), "url": f"/api/v1/{path}/{identifier}"}

    def network_ref(self) -> dict[str, str]:
        """The network reference (the docs' example shows it without a name)."""
        return {"id": NETWORK_ID, "url": f"/api/v1/networks/{NETWORK_ID}"}

    def username(self, i: int) -> str:
        """Login names: index 0 the API user, 1 and 2 the two-factor users."""
        fixed = ("api@acme-media.example", "twofactor@acme-media.example",
                 "forced2fa@acme-media.example")
        if i < len(fixed):
            return fixed[i]
        person = PEOPLE[self._hash("users", i, 1) % len(PEOPLE)].lower().replace(" ", ".")
        return f"{person}{i}@acme-media.example"

    def day_iso(self, day: int) -> str:
        """Midnight UTC of a day number, as the API writes dates."""
        return iso(day * 86400.0, "seconds")

    def plan(self, i: int) -> LineItemPlan:
        """A line item's run and price.

        Added line items start tomorrow: they deliver nothing while the emulator runs (its
        stats stop at the half hour it started in).
        """
        plan = self._plans.get(i)
        if plan is None:
            plan = line_item_plan(self.seed, i, self.today, self.base["orders"])
            if i >= self.base["lineitems"]:
                plan = LineItemPlan(plan.order, self.today + 1, None, plan.cpm, 7, 0)
            self._plans[i] = plan
        return plan

    def labels(self, path: str, i: int) -> list[str]:
        """Labels of an order or line item without rendering it."""
        return labels_of(path, self._hash(path, i, 1))

    def cheap(self, path: str, i: int, key: str) -> t.Any:
        """Fields computed without rendering the object (``MISSING`` for the others)."""
        if key in {"id", "url"}:
            identifier = self.id_of(path, i)
            return identifier if key == "id" else f"/api/v1/{path}/{identifier}"
        if key == "objectState":
            return self.state(path, i)
        if key in {"createTime", "updateTime"}:
            return self.times(path, i)[key == "updateTime"]
        if key == "name" and path != "users":
            return self.name(path, i)
        return MISSING

    def order_advertiser(self, order: int) -> int:
        """The advertiser index of an order (as its renderer picks it)."""
        return self._hash("orders", order, 1) % self.base["advertisers"]

    def render(self, path: str, i: int) -> dict[str, t.Any]:
        """The whole object as ``GET /v1/<path>/<id>`` returns it."""
        created, updated = self.times(path, i)
        user_count = self.base["users"]
        h = self._hash(path, i, 6)
        body: dict[str, t.Any] = {"id": self.id_of(path, i),
                                  "url": f"/api/v1/{path}/{self.id_of(path, i)}",
                                  "objectState": self.state(path, i)}
        body.update(render_fields(self, path, i, self._hash(path, i, 1)))
        body.update({"createTime": created, "createUser": self.ref("users", h % user_count),
                     "updateTime": updated,
                     "updateUser": self.ref("users", (h >> 16) % user_count),
                     "validationWarnings": [], "network": self.network_ref()})
        return body

    # Control -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Objects per tap stream; a tap sends includeHidden, so HIDDEN objects count."""
        return {r.stream: self.total(p) for p, r in RESOURCES.items()}

    def mutate(self, count: int, now: float) -> dict[str, t.Any]:
        """Per resource: ``count`` objects touched and ``count`` added, all at ``now``.

        Every second touched object is set HIDDEN (the API's delete), the others renamed;
        every third added object is HIDDEN.
        """
        self.version += 1
        self._names.clear()
        rng = random.Random(mix(self.seed, self.version, 99))
        report: dict[str, dict[str, int]] = {"changed": {}, "added": {}, "hidden": {}}
        for path, resource in RESOURCES.items():
            picked = rng.sample(range(self.total(path)), min(count, self.total(path)))
            hidden = 0
            for k, i in enumerate(picked):
                soft_delete = k % 2 == 1
                previous = self.changed.get((path, i), {})
                self.changed[(path, i)] = {
                    "time": now, "state": "HIDDEN" if soft_delete else previous.get("state"),
                    "edited": previous.get("edited", False) or not soft_delete}
                hidden += soft_delete
            for k in range(count):
                self.added[path].append((now, k % 3 == 2))
                hidden += k % 3 == 2
            report["changed"][resource.stream] = len(picked)
            report["added"][resource.stream] = count
            report["hidden"][resource.stream] = hidden
        return report
