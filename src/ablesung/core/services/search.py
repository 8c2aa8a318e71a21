"""Finding meters: the clerks' meter and property list.

Search: one term, folded (:mod:`ablesung.lib.folding`), is a prefix of the meter number,
the object number, the customer number, the owner's name ("Name, Vorname" as
"name vorname") or the street ("Straße Hausnummer"); each is one index range over a
search key column (``core/models/search_key.py``). A few hundred meters found are listed
by id (the database starts from them); more (a common name) become a condition on each
row, so that the database walks the list's order and stops after a page.

With a campaign, the rows are the campaign's lines (one per register) with their effective
reading, and the reading filters apply (state, "ohne Ablesung", outcome, source, control
reading requested); without one, the rows are meters. Pages are keyset pages: ordered by
the sort key and the row id, a page starts after (or ends before) the row named in the
URL, so the last page costs what the first does. Call inside the organisation's scope.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, FilteredRelation, OuterRef, Q, QuerySet
from django_scopes import get_scope

from ablesung.core.models import Campaign, CampaignMeter, Meter, Reading
from ablesung.core.models.search_key import prefix_filter
from ablesung.lib.folding import fold

PAGE_SIZE = 50
#: up to this many meters found, a search lists them by id; beyond, it filters each row
FEW_HITS = 500
MAX_TERM = 100
#: "ohne Ablesung": the register has no effective reading in the campaign
NO_READING = "none"
#: sort name → (the table, the search key it orders by)
SORT_KEYS = {
    "zaehler": ("meter", "number_key"),
    "objekt": ("property", "object_key"),
    "name": ("property", "owner_key"),
    "strasse": ("property", "street_key"),
}
DEFAULT_SORT = "zaehler"
#: what a search term is a prefix of: (the table, its search key)
SEARCH_FIELDS = (
    ("meter", "number_key"),
    ("property", "object_key"),
    ("property", "customer_key"),
    ("property", "owner_key"),
    ("property", "street_key"),
)
#: the rows' property, joined once as ``prop`` (live only): filters, sorting and display use
#: it, and its id stays in the ORDER BY (Django would write a plain join's id as the meter's
#: property_id, which the database cannot match with the property's index)
PROPERTY = "prop"


class CursorGone(LookupError):
    """The row a page should start after (or end before) is not there any more."""


@dataclass(frozen=True)
class MeterQuery:
    """What the clerk asked for (already validated, see ``backend/search_views.py``)."""

    term: str = ""
    campaign: Campaign | None = None
    state: str = ""  # a ReviewState, NO_READING or "" (any)
    outcome: str = ""
    source: str = ""
    kind: str = ""
    control: bool = False
    sort: str = DEFAULT_SORT
    descending: bool = False

    @property
    def by_line(self) -> bool:
        return self.campaign is not None


@dataclass(frozen=True)
class MeterRow:
    meter: Meter
    line: CampaignMeter | None = None
    reading: Reading | None = None

    @property
    def id(self) -> int:
        return self.line.pk if self.line is not None else self.meter.pk


@dataclass(frozen=True)
class MeterPage:
    rows: Sequence[MeterRow]
    has_previous: bool
    has_next: bool

    @property
    def first_id(self) -> int | None:
        return self.rows[0].id if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None


def search_hits(term: str, organisation: int) -> dict[tuple[str, str], list[int]]:
    """Per searched field, the ids of up to ``FEW_HITS + 1`` live meters it finds: one
    index range each."""
    hits: dict[tuple[str, str], list[int]] = {}
    for table, key in SEARCH_FIELDS:
        if table == "meter":
            meters = Meter.objects.filter(prefix_filter(key, term))
        else:
            # the property's organisation: its key indexes start with it
            meters = Meter.objects.filter(
                prefix_filter(f"property__{key}", term),
                property__organisation=organisation,
                property__deleted_at__isnull=True,
            )
        ids = list(meters.order_by().values_list("pk", flat=True)[: FEW_HITS + 1])
        if ids:
            hits[(table, key)] = ids
    return hits


def _paths(query: MeterQuery) -> dict[str, str]:
    """The path from a row to its meter and to its property (``prop``)."""
    return {"meter": "register__meter__" if query.by_line else "", "property": f"{PROPERTY}__"}


def _search(query: MeterQuery, term: str, organisation: int) -> Q:
    """The rows of the meters the term finds.

    Few hits: exactly those meters, by id (the database starts from them). Many (a common
    name finds a seventh of all meters): the search as a condition on each row, so that
    the database walks the list's order and stops after a page instead of joining and
    sorting every hit. That condition is a ``LIKE``, which SQLite cannot answer from the
    key's binary index (PostgreSQL may, and chooses by its statistics), unless the list is
    sorted by that very key: then the key's range is the walk.
    """
    hits = search_hits(term, organisation)
    paths = _paths(query)
    if sum(map(len, hits.values())) <= FEW_HITS:
        ids = sorted({pk for found in hits.values() for pk in found})
        return Q(**{f"{paths['meter']}pk__in": ids})
    condition = Q()
    sort_key = SORT_KEYS.get(query.sort, SORT_KEYS[DEFAULT_SORT])
    for (table, key), ids in hits.items():
        if len(ids) <= FEW_HITS:
            condition |= Q(**{f"{paths['meter']}pk__in": ids})
        elif (table, key) == sort_key:
            condition |= prefix_filter(paths[table] + key, term)
        else:
            condition |= Q(**{f"{paths[table]}{key}__startswith": term})
    return condition


def sort_paths(query: MeterQuery) -> tuple[str, ...]:
    """The columns a page is ordered by: the sort key, for a property's key the property
    (its index ends with it: the database walks it and sorts only a property's rows),
    then the row's id."""
    table, key = SORT_KEYS.get(query.sort, SORT_KEYS[DEFAULT_SORT])
    paths = _paths(query)
    if table == "property":
        return (f"{paths['property']}{key}", f"{PROPERTY}__id", "pk")
    return (f"{paths['meter']}{key}", "pk")


def _base(query: MeterQuery) -> "QuerySet[Any]":
    """The live rows with ``prop`` (and ``effective``, the effective reading, for a
    campaign's lines), before any filter."""
    if query.campaign is None:
        meters: QuerySet[Any] = Meter.objects.annotate(
            prop=FilteredRelation("property", condition=Q(property__deleted_at__isnull=True))
        )
        return meters
    lines: QuerySet[Any] = CampaignMeter.objects.filter(
        campaign=query.campaign, register__meter__deleted_at__isnull=True
    ).annotate(
        prop=FilteredRelation(
            "register__meter__property",
            condition=Q(register__meter__property__deleted_at__isnull=True),
        ),
        effective=FilteredRelation(
            "register__readings",
            condition=Q(
                register__readings__campaign=query.campaign,
                register__readings__is_effective=True,
            ),
        ),
    )
    return lines


def rows_of(query: MeterQuery) -> "QuerySet[Any]":
    """The filtered rows, unordered: a campaign's lines when the query names one, else
    meters."""
    term = fold(query.term[:MAX_TERM])
    # The organisation again on the meter and the property (the scope filters the rows'
    # own table): their search-key indexes start with it, so the database can walk a key's
    # index in order instead of sorting all rows.
    organisation = get_scope()["organisation"]
    meter = _paths(query)["meter"]
    rows = _base(query).filter(
        **{f"{meter}organisation": organisation, f"{PROPERTY}__organisation": organisation}
    )
    if query.kind:
        rows = rows.filter(**{f"{meter}kind": query.kind})
    if term:
        rows = rows.filter(_search(query, term, organisation))
    if query.campaign is None:
        return rows
    effective = Reading.objects.filter(
        campaign=query.campaign, register=OuterRef("register_id"), is_effective=True
    )
    if query.state == NO_READING:
        rows = rows.filter(~Exists(effective))
    else:
        wanted = {
            name: value
            for name, value in (
                ("state", query.state),
                ("outcome", query.outcome),
                ("source", query.source),
            )
            if value
        }
        if wanted:
            rows = rows.filter(Exists(effective.filter(**wanted)))
    if query.control:
        rows = rows.filter(control_requested_at__isnull=False)
    return rows


def _beyond(paths: Sequence[str], values: Sequence[Any], *, ascending: bool) -> Q:
    """Rows after ``values`` in the order of ``paths`` (ascending), or before them
    (descending). The first column's condition alone is an index range."""
    path, value = paths[0], values[0]
    strict, wide = ("gt", "gte") if ascending else ("lt", "lte")
    if len(paths) == 1:
        return Q(**{f"{path}__{strict}": value})
    rest = _beyond(paths[1:], values[1:], ascending=ascending)
    return Q(**{f"{path}__{wide}": value}) & (Q(**{f"{path}__{strict}": value}) | rest)


def _ordered(paths: Sequence[str], *, ascending: bool) -> list[str]:
    return [path if ascending else f"-{path}" for path in paths]


class MeterSearch:
    """The rows of one query and its pages (the search's hits are looked up once)."""

    def __init__(self, query: MeterQuery) -> None:
        self.query = query
        self.rows = rows_of(query)
        self.paths = sort_paths(query)

    def page(
        self,
        *,
        after: int | None = None,
        before: int | None = None,
        last: bool = False,
        size: int = PAGE_SIZE,
    ) -> MeterPage:
        """The first page, the one after row ``after``, the one before row ``before``, or
        the last. Raises :class:`CursorGone` when that row is gone."""
        query, rows, paths = self.query, self.rows, self.paths
        ascending = not query.descending
        backwards = last or before is not None
        page_query = rows
        cursor_id = after if after is not None else before
        if cursor_id is not None:
            values = _base(query).filter(pk=cursor_id).values_list(*paths).first()
            if values is None:
                raise CursorGone(cursor_id)
            page_query = rows.filter(_beyond(paths, values, ascending=ascending != backwards))
        if query.by_line:
            page_query = page_query.select_related("register__meter", PROPERTY, "effective")
            page_query = page_query.defer("raw_row")
        else:
            page_query = page_query.select_related(PROPERTY)
        order = _ordered(paths, ascending=ascending != backwards)
        found = list(page_query.order_by(*order)[: size + 1])
        more = len(found) > size
        found = found[:size]
        if backwards:
            found.reverse()
        if not found:
            return MeterPage([], has_previous=False, has_next=False)
        if backwards:
            has_previous = more
            has_next = not last and self._exists_beyond(found[-1], ascending=ascending)
        else:
            has_next = more
            has_previous = after is not None and self._exists_beyond(
                found[0], ascending=not ascending
            )
        rows_found = [_row(obj, query) for obj in found]
        return MeterPage(rows_found, has_previous=has_previous, has_next=has_next)

    def _exists_beyond(self, obj: Any, *, ascending: bool) -> bool:
        values = [_value(obj, path) for path in self.paths]
        return bool(self.rows.filter(_beyond(self.paths, values, ascending=ascending)).exists())


def _value(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = obj.pk if part == "pk" else getattr(obj, part)
    return obj


def _row(obj: Any, query: MeterQuery) -> MeterRow:
    meter: Meter = obj.register.meter if query.by_line else obj
    meter.property = getattr(obj, PROPERTY)  # the property joined as ``prop``
    if not query.by_line:
        return MeterRow(meter=meter)
    return MeterRow(meter=meter, line=obj, reading=getattr(obj, "effective", None))
