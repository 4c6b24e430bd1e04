"""People-search result rows as records: column names, product-local dates to UTC."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

from taps.shared.timestamps import format_utc

if t.TYPE_CHECKING:
    from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"  # product-local wall-clock, no offset [research 3.6]


def block_names(body: t.Any) -> list[str] | None:
    """Column names from a ``columns`` block, if the API sends one (none seen in v2).

    The 2014 block listed ``KMID`` and ``Person`` first as ``type: internal``; those are
    dropped, since every row carries them as ``kmid`` and ``identity``.
    """
    block = body.get("columns") if isinstance(body, dict) else None
    if not isinstance(block, list) or not block:
        return None
    names = []
    for item in block:
        if isinstance(item, dict):
            if item.get("type") == "internal":
                continue
            names.append(str(item.get("display_name") or item.get("name") or ""))
        else:
            names.append(str(item))
    return names


def name_values(values: list[t.Any], names: list[str] | None) -> dict[str, t.Any]:
    """Values named by ``names`` in order; values past the names become column_<n>."""
    names = names or []
    return {(names[k] if k < len(names) and names[k] else f"column_{k + 1}"): value
            for k, value in enumerate(values)}


def local_to_utc(text: str, zone: ZoneInfo, *, where: str) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in ``zone`` as ISO-8601 UTC.

    A time that occurs twice (DST ends) is read as its first occurrence, one that does not
    exist (DST starts) with the offset before the jump; both are logged with ``where``.
    """
    naive = dt.datetime.strptime(text.strip(), LOCAL_FORMAT)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        exists = first.astimezone(dt.timezone.utc).astimezone(zone).replace(
            tzinfo=None) == naive
        what = ("occurs twice in %s (DST ends): read as its first occurrence" if exists else
                "does not exist in %s (DST starts): read with the offset before the jump")
        logger.warning("%s: %s " + what, where, text, zone.key)
    return format_utc(first)


class RowReader:
    """Turns one report's rows into record fields (columns named, declared dates in UTC)."""

    def __init__(self, *, names: list[str] | None, date_columns: t.Iterable[str],
                 zone: ZoneInfo, where: str) -> None:
        """``names`` from ``report_columns`` (or None); ``date_columns`` to convert."""
        self.names = names
        self.date_columns = frozenset(date_columns)
        self.zone, self.where = zone, where
        self.warned = False

    def fields(self, row: t.Any, body: t.Any) -> dict[str, t.Any] | None:
        """``{kmid, identity, <columns>}`` of a v2 ``[kmid, identity, ...]`` or v3 row."""
        if isinstance(row, dict):  # people_search_v3: {identity, columns}
            kmid, identity = row.get("kmid"), row.get("identity")
            values = row.get("columns") if isinstance(row.get("columns"), list) else []
        elif isinstance(row, list) and len(row) >= 2:
            kmid, identity, values = row[0], row[1], row[2:]
        else:
            return None
        names = self.names if self.names is not None else block_names(body)
        if names is not None and len(names) != len(values) and not self.warned:
            self.warned = True
            logger.warning("%s: %d column names for %d values: the rest are named column_<n>",
                           self.where, len(names), len(values))
        columns = name_values(list(values), names)
        for name in self.date_columns & columns.keys():
            value = columns[name]
            if isinstance(value, str) and value.strip():
                try:
                    columns[name] = local_to_utc(value, self.zone, where=self.where)
                except ValueError:
                    logger.warning("%s: column %s value %r is not YYYY-MM-DD HH:MM:SS: kept "
                                   "as sent", self.where, name, value)
        return {"kmid": kmid if isinstance(kmid, int) else None,
                "identity": None if identity is None else str(identity), **columns}
