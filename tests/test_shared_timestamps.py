"""The string-operation paths of iso_utc and to_datetime agree with the general parser."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from taps.shared import timestamps
from taps.shared.timestamps import format_utc, iso_utc, to_datetime

FORMS = ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
         "%Y-%m-%dT%H:%M:%S.%f+00:00", "%Y-%m-%dT%H:%M:%S+02:00", "%Y-%m-%dT%H:%M:%S")


def test_fast_paths_agree_with_the_general_parser() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        moment = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=rng.randrange(10**9),
            microseconds=rng.choice([0, rng.randrange(1000) * 1000, rng.randrange(10**6)]))
        for form in FORMS:
            text = moment.strftime(form)
            general = timestamps._from_iso(text).astimezone(dt.timezone.utc)
            assert to_datetime(text) == general, text
            assert iso_utc(text) == format_utc(general), text
            assert iso_utc(format_utc(general)) == format_utc(general)


@pytest.mark.parametrize("text", ["2026-02-30T00:00Z", "2026-01-01T25:00:00Z",
                                  "2026-13-01T00:00:00.000Z", "2026-01-01T10:00.123Z",
                                  "2026-02-30T00:00:00Z", "2026-02-29T00:00:00.000Z",
                                  "2026-01-02T03:04:0\uff15Z", "2026-01-02T03:04:05.\uff11\uff12\uff13Z",
                                  "2026-01-02T03:04:05.1a3Z", "2026-01-02T03:04:5.123Z"])
def test_impossible_times_are_refused_on_every_path(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        iso_utc(text)


def test_integer_epochs_take_the_cached_path_and_agree_with_the_general_one() -> None:
    rng = random.Random(11)
    values = [rng.randrange(10**digits) for digits in (9, 10, 12, 13, 15, 16, 18)
              for _ in range(300)]
    timestamps._epoch_text.cache_clear()
    for value in values + values:
        assert iso_utc(value) == format_utc(to_datetime(str(value))), value
        if value < 10**10:  # older epochs than that are before year 1
            assert iso_utc(-value) == format_utc(to_datetime(str(-value))), -value
    assert timestamps._epoch_text.cache_info().hits >= len(values)
    with pytest.raises(ValueError, match="not a timestamp"):
        iso_utc(True)  # a bool is an int to Python, never an epoch here


@pytest.mark.parametrize("value", [-99_999_999_999, 10**22, "-99999999999", -(10**21)])
def test_epochs_outside_the_calendar_are_a_value_error(value: int | str) -> None:
    """Callers keep unreadable values as they are on ValueError; an OverflowError would crash."""
    with pytest.raises(ValueError, match="outside the years 1-9999"):
        iso_utc(value)
