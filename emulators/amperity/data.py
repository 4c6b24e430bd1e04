"""Deterministic Amperity records generated from (seed, index), never held in memory.

A list resource of ``scale`` records spreads its timestamps over the 60 days before the
emulator started; record ``i``'s timestamp grows with ``i`` (jitter stays inside its step), so
a time filter is a binary search and /counts is arithmetic. Mutations live in small overlays.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from dataclasses import dataclass, field

from emulators.framework.rand import mix

SPAN_SECONDS = 60 * 86400


ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


#: Two base-62 digits at once, least significant first (``code`` takes half the steps).
_PAIRS = [ALPHABET[k % 62] + ALPHABET[k // 62] for k in range(62 * 62)]


def code(value: int, length: int) -> str:
    """``length`` base-62 characters from a hash, least significant digit first."""
    chars = []
    for _ in range(length >> 1):
        value, pair = divmod(value, 62 * 62)
        chars.append(_PAIRS[pair])
    if length & 1:
        chars.append(ALPHABET[value % 62])
    return "".join(chars)


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def iso(epoch: float) -> str:
    """``2026-04-09T17:21:06.747Z`` (the docs' examples' format).

    The same text as ``datetime.fromtimestamp(epoch, utc)`` gives (microseconds rounded
    half to even, then cut to milliseconds), without building a datetime per record.
    """
    if epoch < 0:
        moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    seconds = int(whole)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    day, second = divmod(seconds, 86400)
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{_iso_day(day)}T{hour:02d}:{minute:02d}:{second:02d}.{micros // 1000:03d}Z"


def parse_time(text: str | None) -> float | None:
    """Parse an ISO-8601 timestamp or a plain date (partial timestamps are documented)."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return None


@dataclass
class Timeline:
    """Timestamps of ``scale`` generated records plus records added later by /mutate."""

    seed: int
    salt: int
    scale: int
    start: float  # the emulator's start time
    added: list[float] = field(default_factory=list)

    @property
    def step(self) -> float:
        """Seconds between consecutive generated records."""
        return SPAN_SECONDS / max(self.scale, 1)

    def __len__(self) -> int:
        """Records generated plus records added."""
        return self.scale + len(self.added)

    def at(self, index: int) -> float:
        """Timestamp of record ``index`` (monotonic in ``index``)."""
        if index >= self.scale:
            return self.added[index - self.scale]
        jitter = (mix(self.seed, self.salt, index) % 1000) / 1000 * 0.6 * self.step
        return self.start - SPAN_SECONDS + index * self.step + jitter

    def first_at_or_after(self, moment: float | None) -> int:
        """Smallest index whose timestamp is >= ``moment``."""
        if moment is None:
            return 0
        return bisect.bisect_left(range(len(self)), moment, key=self.at)

    def add(self, moment: float) -> int:
        """Append a record at ``moment`` (never earlier than the last one); its index."""
        last = self.at(len(self) - 1) if len(self) else moment
        self.added.append(max(moment, last))
        return len(self) - 1


FIRST = ["Daniel", "Maria", "Chen", "Aisha", "Lars", "Priya", "Tom", "Sofia", "Kenji", "Olga",
         "Mateo", "Grace", "Ravi", "Emma", "Yusuf", "Lena"]
LAST = ["Kuhlman", "Garcia", "Wang", "Okafor", "Berg", "Patel", "Nguyen", "Rossi", "Sato",
        "Ivanova", "Lopez", "Kim", "Singh", "Muller", "Demir", "Novak"]
CITIES = ["Seattle", "Austin", "Denver", "Boston", "Chicago", "Portland", "Miami", "Phoenix"]
TIERS = ["bronze", "silver", "gold", "platinum"]
EVENT_TYPES = [":amperity.alert.audience/created", ":amperity.plugin.credential/updated",
               ":amperity.plugin.destination/updated", ":amperity.query/activated",
               ":amperity.orchestration/run", ":amperity.api-key/issue",
               ":amperity.workflow/retry", ":amperity.user/created"]
WORKFLOW_TYPES = ["campaign.send", "campaign.fetch", "courier.group/run",
                  "amperity.orchestration.orchestration/run"]
WORKFLOW_NAMES = ["Customer Attribute Daily", "Send audiences to Braze", "Loyalty refresh",
                  "Nightly courier group", "Weekly campaign send"]
SEGMENT_NAMES = ["Returning Customers", "High Value", "Lapsed Buyers", "Newsletter Fans",
                 "Holiday Shoppers", "VIP Loyalty"]
CAMPAIGN_NAMES = ["Spring Sale", "Welcome Series", "Win-back", "Birthday Offer",
                  "Black Friday", "Loyalty Upgrade"]
TABLES = ["Loyalty_Members", "POS_Transactions", "Web_Events", "Email_Engagement"]
