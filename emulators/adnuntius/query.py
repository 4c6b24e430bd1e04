"""List queries (research §4.2 to 4.3): flags, ``id=a;b``, ``filterBy*``, ``where``, ``orderBy``.

The matching indices are cached per query, so paging stays cheap at any scale.
"""

from __future__ import annotations

import re
import typing as t
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from emulators.adnuntius.errors import AdnError
from emulators.adnuntius.ids import looks_like_time, parse_time
from emulators.adnuntius.store import LazyRecord

if t.TYPE_CHECKING:
    from emulators.adnuntius.store import Dataset

#: Query parameters that do not select records.
NOT_FILTERS = {"page", "pageSize", "context", "auth_token"}
#: GUESS (3P-AHK ``creatives/?lineItem=<id>``): a parent's name as a parameter filters on it.
PARENT_PARAMS = {"advertiser", "order", "lineItem", "site", "earningsAccount", "siteGroup",
                 "team", "tier"}
_CONDITION = re.compile(
    r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|>|<|\s+not\s+in\s+|\s+in\s+|\s+is\s+not\s+null\s*$"
    r"|\s+is\s+null\s*$)\s*(.*?)\s*$", re.IGNORECASE)


def _flag(raw: str | None) -> bool | None:
    """Flags are documented both bare (``&includeHidden``) and as ``=true``."""
    if raw is None:
        return None
    return raw.strip().lower() not in {"false", "0", "no"}


def value_at(obj: dict[str, t.Any] | LazyRecord, path: str) -> t.Any:
    """A (dotted) field's value; a reference compares by its id."""
    value: t.Any = obj
    for part in path.split("."):
        if not isinstance(value, (dict, LazyRecord)):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value


def _comparable(value: t.Any, literal: str, now: float) -> tuple[t.Any, t.Any] | None:
    """(field value, literal) converted to one comparable type, or None when they differ."""
    if isinstance(value, bool):
        return value, literal.strip().lower() == "true"
    if isinstance(value, (int, float, Decimal)):
        try:
            return Decimal(str(value)), Decimal(literal)
        except ArithmeticError:
            return None
    if isinstance(value, str) and looks_like_time(value):
        moment = parse_time(literal, now)
        if moment is None:  # GUESS: an unreadable time is refused, not compared as text
            raise AdnError(400, "error.filter.invalid", "Invalid date-time {{value}}",
                           {"value": literal})
        return parse_time(value), moment
    return str(value), literal


@dataclass
class Condition:
    """One ``where`` condition."""

    field: str
    op: str
    values: list[str]

    def matches(self, obj: dict[str, t.Any] | LazyRecord, now: float) -> bool:
        """Evaluate on one object (a null field only matches ``is null``, ``!=``, ``not in``)."""
        value = value_at(obj, self.field)
        if self.op == "is null":
            return value in (None, [], "")
        if self.op == "is not null":
            return value not in (None, [], "")
        negated = self.op in {"!=", "not in"}
        if value is None:
            return negated
        op = {"!=": "=", "not in": "in"}.get(self.op, self.op)
        # GUESS: a list field (labels) matches when any element does.
        items = value if isinstance(value, list) else [value]
        items = [x["id"] if isinstance(x, dict) and "id" in x else x for x in items]
        hit = any(self._test(x, op, now) for x in items)
        return hit != negated

    def _test(self, value: t.Any, op: str, now: float) -> bool:
        if op == "in":
            return any(self._compare(value, "=", v, now) for v in self.values)
        return self._compare(value, op, self.values[0], now)

    @staticmethod
    def _compare(value: t.Any, op: str, literal: str, now: float) -> bool:
        pair = _comparable(value, literal, now)
        if pair is None:
            return False
        left, right = pair
        try:
            return {"=": left == right, "!=": left != right, "<": left < right,
                    ">": left > right, "<=": left <= right, ">=": left >= right}[op]
        except TypeError:
            return False


def parse_where(text: str) -> list[Condition]:
    """``a>1;b in X,Y;c is null`` (``+`` already decoded to spaces)."""
    conditions = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = _CONDITION.match(part)
        if not match:
            raise AdnError(400, "error.filter.invalid", "Invalid where condition: {{condition}}",
                           {"condition": part})
        name, op, rest = match.group(1), " ".join(match.group(2).split()).lower(), match.group(3)
        if op in {"is null", "is not null"}:
            conditions.append(Condition(name, op, []))
        else:
            values = [v.strip() for v in rest.split(",")] if op in {"in", "not in"} else [rest]
            conditions.append(Condition(name, op, values))
    return conditions


@dataclass
class ListQuery:
    """What one ``GET /v1/<resource>`` selects."""

    states: set[str]
    ids: list[str] | None = None
    predicates: list[t.Callable[[t.Any], bool]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # referenced fields, checked to exist
    order_by: str | None = None
    descending: bool = False


def parse_list_query(query: dict[str, list[str]], now: float) -> ListQuery:
    """Read the documented list parameters."""
    arg = {k: v[0] for k, v in query.items() if v}
    states = {"ACTIVE", "INACTIVE"}  # HIDDEN only when asked for [DOCS:req]
    for state in ("ACTIVE", "INACTIVE", "HIDDEN"):
        # GUESS: each flag adds (true) or removes (false) its state from the default set.
        flag = _flag(arg.get(f"include{state.title()}"))
        if flag is True:
            states.add(state)
        elif flag is False:
            states.discard(state)
    result = ListQuery(states)
    _simple_filters(arg, result)
    if arg.get("where"):
        for condition in parse_where(arg["where"]):
            result.fields.append(condition.field)
            result.predicates.append(lambda o, c=condition: c.matches(o, now))
    if arg.get("orderBy"):
        result.order_by = arg["orderBy"]
        result.fields.append(result.order_by)
        direction = arg.get("orderByDirection", "ASCENDING").upper()
        if direction not in {"ASCENDING", "DESCENDING"}:
            raise AdnError(400, "error.filter.invalid",
                           "orderByDirection must be ASCENDING or DESCENDING, not {{value}}",
                           {"value": direction})
        result.descending = direction == "DESCENDING"
    return result


def _simple_filters(arg: dict[str, str], result: ListQuery) -> None:
    """``id``, ``filterBy*``, ``excludeIfMissing`` and parent parameters."""
    if arg.get("id"):  # GUESS: the state flags still apply to a vectorised id list
        result.ids = [i.strip().lower() for i in arg["id"].split(";") if i.strip()]
    if arg.get("filterBy"):
        name = arg["filterBy"]
        result.fields.append(name)
        if "filterByValue" in arg:
            wanted = arg["filterByValue"]
            result.predicates.append(lambda o: str(value_at(o, name)) == wanted)
        for key, negate in (("filterByLike", False), ("filterByNotLike", True)):
            if key in arg:
                part = arg[key].lower()
                result.predicates.append(
                    lambda o, p=part, n=negate: (p in str(value_at(o, name) or "").lower()) != n)
    if arg.get("excludeIfMissing"):
        name = arg["excludeIfMissing"]
        result.fields.append(name)
        result.predicates.append(lambda o: value_at(o, name) not in (None, [], ""))
    for param in PARENT_PARAMS & set(arg):
        wanted = arg[param].lower()
        result.predicates.append(lambda o, p=param, w=wanted: str(value_at(o, p)).lower() == w)


def _sort_key(value: t.Any) -> tuple[int, t.Any]:
    if value is None:
        return (2, 0)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, Decimal(str(value)))
    if isinstance(value, str) and looks_like_time(value):
        return (0, Decimal(str(parse_time(value) or 0)))
    return (1, str(value).lower())


class Selector:
    """Matching indices per (resource, query, data version); the newest 16 kept.

    GUESS: a relative ``N days ago`` is evaluated when a query is first seen, so the pages of
    one listing agree.
    """

    def __init__(self, ds: Dataset) -> None:
        """Bind to a dataset."""
        self.ds = ds
        self._cache: OrderedDict[tuple, t.Sequence[int]] = OrderedDict()
        self._fields: dict[str, set[str]] = {}

    def known_fields(self, path: str) -> set[str]:
        """Top-level field names of a resource (from its first records)."""
        if path not in self._fields:
            names: set[str] = set()
            for i in range(min(3, self.ds.total(path))):
                names |= set(self.ds.render(path, i))
            self._fields[path] = names
        return self._fields[path]

    def select(self, path: str, query: dict[str, list[str]], now: float) -> t.Sequence[int]:
        """Indices of the matching records, in the order the list returns them."""
        key = (path, self.ds.version,
               tuple(sorted((k, tuple(v)) for k, v in query.items() if k not in NOT_FILTERS)))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        parsed = parse_list_query(query, now)
        unknown = [f for f in parsed.fields if f.split(".")[0] not in self.known_fields(path)]
        if unknown:  # GUESS: status and code for a field the resource does not have
            raise AdnError(400, "error.filter.field.unknown",
                           "Unknown field {{field}} for {{type}}",
                           {"field": unknown[0], "type": path})
        result = self._compute(path, parsed)
        self._cache[key] = result
        if len(self._cache) > 16:
            self._cache.popitem(last=False)
        return result

    def _compute(self, path: str, parsed: ListQuery) -> t.Sequence[int]:
        ds = self.ds
        if parsed.ids is not None:
            candidates: t.Iterable[int] = sorted(
                {i for i in (ds.index_of(path, x) for x in parsed.ids) if i is not None})
        else:
            candidates = range(ds.total(path))  # GUESS: default order is creation order
        everything = parsed.states >= {"ACTIVE", "INACTIVE", "HIDDEN"}
        if everything and not parsed.predicates and not parsed.order_by:
            return candidates if isinstance(candidates, range) else list(candidates)
        indices = [i for i in candidates if everything or ds.state(path, i) in parsed.states]
        if not parsed.predicates and not parsed.order_by:
            return indices
        rendered = [(i, LazyRecord(ds, path, i)) for i in indices]
        rendered = [(i, o) for i, o in rendered if all(p(o) for p in parsed.predicates)]
        if parsed.order_by:
            name = parsed.order_by
            rendered.sort(key=lambda pair: _sort_key(value_at(pair[1], name)),
                          reverse=parsed.descending)  # stable: ties keep creation order
        return [i for i, _ in rendered]
