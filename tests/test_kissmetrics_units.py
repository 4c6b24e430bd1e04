"""tap-kissmetrics pieces without a server: octal escapes, local dates, row naming, windows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from taps.kissmetrics.columns import RowReader, block_names, local_to_utc
from taps.kissmetrics.export import decode_octal, parse_line, to_record
from taps.kissmetrics.reports import group_days
from taps.kissmetrics.tap import is_loopback
from taps.shared.days import day_windows

BERLIN = ZoneInfo("Europe/Berlin")


def test_octal_escapes_decode_to_utf8() -> None:
    line = '{"_p": "a@example.com", "city": "M\\303\\241laga", "path": "C:\\\\303"}'
    assert parse_line(line) == {"_p": "a@example.com", "city": "Málaga", "path": "C:\\303"}
    assert decode_octal('{"x": "\\042"}') == '{"x": "\\""}'  # an ASCII octet stays JSON
    assert parse_line('{"_n": "signed up", "_p": , "_t": 1}') is None
    assert parse_line("[1, 2]") is None


def test_records_of_each_kind() -> None:
    event = to_record(3, 7, {"_p": "p", "_n": "billed", "_t": 1349161501, "amount": 9.5})
    assert event == {"revision": 3, "line": 7, "person": "p", "alias": None, "event": "billed",
                     "timestamp": "2012-10-02T07:05:01.000Z", "kind": "event",
                     "properties": {"amount": 9.5}}
    assert to_record(1, 1, {"_p": "p", "_p2": "anon-1", "_t": 1})["kind"] == "alias"
    assert to_record(1, 1, {"_p": "p", "plan": "Pro", "_t": 1})["kind"] == "set"


def test_local_dates_to_utc_with_dst(caplog: pytest.LogCaptureFixture) -> None:
    assert local_to_utc("2026-07-01 12:00:00", BERLIN, where="w") == "2026-07-01T10:00:00.000Z"
    assert local_to_utc("2026-10-25 02:30:00", BERLIN, where="w") == "2026-10-25T00:30:00.000Z"
    assert "occurs twice" in caplog.text
    assert local_to_utc("2026-03-29 02:30:00", BERLIN, where="w") == "2026-03-29T01:30:00.000Z"
    assert "does not exist" in caplog.text


def test_rows_named_from_settings_block_or_position() -> None:
    reader = RowReader(names=["Visits", "Last seen"], date_columns=["Last seen"],
                       zone=BERLIN, where="w")
    assert reader.fields([5, "bob@example.com", 3, "2026-07-01 12:00:00", "x"], {}) == {
        "kmid": 5, "identity": "bob@example.com", "Visits": 3,
        "Last seen": "2026-07-01T10:00:00.000Z", "column_3": "x"}
    unnamed = RowReader(names=None, date_columns=[], zone=BERLIN, where="w")
    block = {"columns": [{"display_name": "KMID", "type": "internal"},
                         {"display_name": "Person", "type": "internal"},
                         {"display_name": "Plan", "type": "property"}]}
    assert block_names(block) == ["Plan"]
    assert unnamed.fields([1, "a", "Pro"], block) == {"kmid": 1, "identity": "a", "Plan": "Pro"}
    assert unnamed.fields({"identity": "a", "columns": [2]}, {}) == {
        "kmid": None, "identity": "a", "column_1": 2}
    assert unnamed.fields("junk", {}) is None


def test_windows_follow_local_days() -> None:
    days = day_windows(dt.date(2026, 3, 28), dt.date(2026, 3, 31), BERLIN)
    windows = group_days(days, 3)
    assert [w.day for w in windows] == [dt.date(2026, 3, 28), dt.date(2026, 3, 31)]
    assert windows[0].end - windows[0].start == dt.timedelta(hours=71)  # DST starts


def test_loopback_detection() -> None:
    assert is_loopback("http://127.0.0.1:8080/core")
    assert is_loopback("http://localhost/v2")
    assert not is_loopback("http://query.kissmetrics.com/v2")
