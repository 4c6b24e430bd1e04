"""People-search results: who was active on which product-local day, and the report's rows.

Each (report, local day) has a set of active people: a run of consecutive person numbers of
the product's pool, so a window's result is the union over the local days it touches. A
person's columns summarise their days in the window. Everything is a function of
(seed, report, day), so re-running a window gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from zoneinfo import ZoneInfo

from emulators.framework.rand import mix

if t.TYPE_CHECKING:
    from emulators.kissmetrics.model import Dataset

#: Column kinds of saved reports, cycled per report (KMS:people-search column kinds).
COLUMN_KINDS = ("total_times", "last_time", "last_value", "first_time")
PLANS = ("Free", "Pro", "Enterprise", "Startup", "Agency")
#: GUESS: a people_search_v3 report's saved range: the 7 local days ending today.
V3_DAYS = 7
#: GUESS: windows longer than this are refused (400).
MAX_WINDOW_DAYS = 366
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"  # product-local wall-clock, no offset [research 3.6]
IDENTITY_DOMAINS = ("example.com", "mail.example.org", "acme.example")


def identity(seed: int, product: int, person: int) -> str:
    """The person's identity: mostly e-mail addresses, some user ids."""
    h = mix(seed, 501, product, person)
    if h % 6 == 0:
        return f"user-{product + 1}-{person + 1:06d}"
    return f"person{person + 1}@{IDENTITY_DOMAINS[h % len(IDENTITY_DOMAINS)]}"


def kmid(product: int, person: int) -> int:
    """Kissmetrics' internal numeric person id (unique per login)."""
    return product * 10_000_000 + person + 1


class People:
    """Result rows of people-search reports."""

    def __init__(self, data: Dataset) -> None:
        """Pool and day sizes follow ``--scale``."""
        self.data = data
        self.seed = data.seed
        self.pool = 40 + min(data.scale // 2, 50_000)
        self.max_day = 2 + min(data.scale // 10, 5_000)
        self._v3_cache: dict[tuple[int, dt.date], int] = {}

    def tz(self, product: int) -> ZoneInfo:
        """The product's time zone."""
        return ZoneInfo(self.data.timezone(product))

    def today(self, product: int, now: float) -> dt.date:
        """Today's date in the product's time zone."""
        return dt.datetime.fromtimestamp(now, self.tz(product)).date()

    def day_run(self, report: int, day: dt.date) -> tuple[int, int]:
        """(first person, how many) active on a local day; every 7th-ish day is empty."""
        h = mix(self.seed, 502, report, day.toordinal())
        if h % 7 == 3:
            return 0, 0
        return (h >> 8) % self.pool, 1 + (h >> 24) % self.max_day

    def window_days(self, product: int, start: float, end: float, now: float) -> list[dt.date]:
        """Local days the window touches, none after today (no data yet)."""
        zone = self.tz(product)
        first = dt.datetime.fromtimestamp(start, zone).date()
        last = min(dt.datetime.fromtimestamp(end, zone).date(), self.today(product, now))
        return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]

    def v3_days(self, product: int, now: float) -> list[dt.date]:
        """The saved range a people_search_v3 report uses whatever window is posted."""
        today = self.today(product, now)
        return [today - dt.timedelta(days=k) for k in range(V3_DAYS - 1, -1, -1)]

    def _active(self, report: int, days: list[dt.date]) -> dict[int, list[dt.date]]:
        people: dict[int, list[dt.date]] = {}
        for day in days:
            first, count = self.day_run(report, day)
            for k in range(count):
                people.setdefault((first + k) % self.pool, []).append(day)
        return people

    def columns(self, report: int) -> tuple[str, ...]:
        """The report's column kinds, 0 to 3 of them (GUESS: the API names none)."""
        count = mix(self.seed, 503, report) % 4
        return tuple(COLUMN_KINDS[(report + k) % len(COLUMN_KINDS)] for k in range(count))

    def rows(self, report: int, product: int, days: list[dt.date], now: float, *,
             v3: bool) -> list[t.Any]:
        """The result rows: ``[kmid, identity, col...]`` (v2) or ``{identity, columns}`` (v3).

        Ordered by KMID (GUESS: the order is undocumented).
        """
        zone = self.tz(product)
        kinds = self.columns(report)
        out: list[t.Any] = []
        for person, active in sorted(self._active(report, days).items()):
            values = [self._value(kind, report, person, active, zone=zone, now=now)
                      for kind in kinds]
            ident = identity(self.seed, product, person)
            if v3:
                out.append({"identity": ident, "columns": values})
            else:
                out.append([kmid(product, person), ident, *values])
        return out

    def _value(self, kind: str, report: int, person: int, active: list[dt.date], *,
               zone: ZoneInfo, now: float) -> t.Any:
        if kind == "total_times":
            return len(active)
        if kind == "last_value":
            h = mix(self.seed, 504, report, person)
            return None if h % 5 == 0 else PLANS[h % len(PLANS)]  # missing values are null
        day = active[-1] if kind == "last_time" else active[0]
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
        seconds = mix(self.seed, 505, report, person, day.toordinal()) % 86400
        moment = min(midnight.timestamp() + seconds, now)  # nothing after "now" today
        return dt.datetime.fromtimestamp(moment, zone).strftime(LOCAL_FORMAT)

    # /counts -------------------------------------------------------------------------------

    def day_count(self, report: int, day: dt.date) -> int:
        """Rows of a one-day window (a day's people are distinct)."""
        return self.day_run(report, day)[1]

    def v3_count(self, report: int, product: int, now: float) -> int:
        """Rows of a v3 report (its saved range), cached per local today."""
        today = self.today(product, now)
        key = (report, today)
        if key not in self._v3_cache:
            self._v3_cache[key] = len(self._active(report, self.v3_days(product, now)))
        return self._v3_cache[key]

    def default_results(self, start_day: dt.date, now: float) -> int:
        """What the default tap config yields, over every runnable report but the problem ones.

        people_search_v2: one window per local day from ``start_day`` through today;
        people_search_v3: once (it ignores the window).
        """
        total = 0
        data = self.data
        for report in data.indices("reports"):
            rtype = data.report_type(report)
            if rtype not in {"people_search_v2", "people_search_v3"}:
                continue
            if report in data.problem_reports:
                continue
            product = report % data.products
            if rtype == "people_search_v3":
                total += self.v3_count(report, product, now)
                continue
            today = self.today(product, now)
            for k in range((today - start_day).days + 1):
                total += self.day_count(report, start_day + dt.timedelta(days=k))
        return total
