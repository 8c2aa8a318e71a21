"""Model instances from one hand-written SELECT, for the hottest read paths.

The ORM compiles every queryset anew: lookups, joins, ``select_related``, ordering.
For the portal's few small queries per request that costs several times what the
database needs to answer them (measured: about 70 % of a query's time on SQLite).
A :class:`RowShape` works out the column list and the database converters once per
connection, PostgreSQL plans its statements once per connection (the settings bind
parameters on the server, so psycopg prepares what ran ``prepare_threshold`` times), and
its rows become the same model instances the ORM builds, with the related instances
cached on them as ``select_related`` does.

The caller writes ``FROM … WHERE …`` itself, so it must also write what the ORM
would add: the organisation (django-scopes) and ``deleted_at IS NULL`` (trash).
Every use has a test that compares it with the ORM query it replaces.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


def table(model: type[Model], alias: str, using: str = "default") -> str:
    """``"core_meter" "m"``: a model's table with an alias, quoted for the connection."""
    quote = connections[using].ops.quote_name
    return f"{quote(model._meta.db_table)} {quote(alias)}"


@dataclass(frozen=True)
class Part:
    """One model of the row: its table alias and, except for the first, where it hangs:
    on a foreign key of its parent (``via``, as ``select_related`` caches it), or, for a
    row the caller's SQL joins otherwise (``LEFT JOIN``), on a plain attribute of the
    parent (``attribute``), which is ``None`` when the joined row is missing."""

    model: type[Model]
    alias: str
    parent: str | None = None  # alias of the instance that refers to this one
    via: str | None = None  # the foreign key on the parent
    defer: tuple[str, ...] = ()
    attribute: str | None = None  # instead of ``via``: an optional row, set as this attribute


@dataclass(frozen=True)
class _Compiled:
    columns: str
    # per part: the selected fields' attnames (as a set, and in column order), and per
    # column its converters
    attnames: list[frozenset[str]]
    ordered: list[tuple[str, ...]]
    widths: list[int]
    converters: list[list[tuple[int, Any, list[Converter]]]]
    primary_keys: list[int]  # per part: the index of its primary key among its columns


def _from_db(
    model: type[Model],
    using: str,
    names: frozenset[str],
    ordered: tuple[str, ...],
    values: list[Any],
) -> Model:
    """``model.from_db(using, names, values)``, built without ``Model.__init__``.

    For a new instance ``__init__`` sets each value through the fields' descriptors, which
    only store it in ``__dict__`` (a foreign key's would also drop a cached related object,
    and a new instance has none), and sends ``pre_init`` and ``post_init``. So when nobody
    listens to those signals for the model, filling ``__dict__`` is the same instance:
    fields left out stay deferred, ``_state`` says loaded from ``using``. A portal
    submission builds about twenty instances; this way it takes 2 % fewer instructions (21.8 to
    21.3 million, callgrind). With a listener (an ``ImageField`` with dimension fields
    connects one, say) ``from_db`` builds the instance.
    """
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(using, names, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(ordered, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = using
    return instance


class RowShape:
    """The parts of a joined row; :meth:`fetch` turns rows into instances of the first."""

    def __init__(self, *parts: Part) -> None:
        if not parts or parts[0].parent is not None:
            raise ValueError("the first part is the one returned and hangs on nothing")
        seen = {parts[0].alias}
        for part in parts[1:]:
            if part.parent not in seen or (part.via is None) == (part.attribute is None):
                raise ValueError(
                    f"{part.alias}: an earlier part as parent, and a foreign key or an attribute"
                )
            if part.attribute is None:  # nothing hangs on an optional part
                seen.add(part.alias)
        for part in parts:
            names = {f.name for f in part.model._meta.concrete_fields}
            if not set(part.defer) <= names:
                raise ValueError(f"{part.alias}: no such fields {set(part.defer) - names}")
        self.parts = parts
        self._compiled: dict[str, _Compiled] = {}

    def fields(self, part: Part) -> list[Field[Any, Any]]:
        return [f for f in part.model._meta.concrete_fields if f.name not in part.defer]

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        quote = connection.ops.quote_name
        columns: list[str] = []
        attnames: list[frozenset[str]] = []
        ordered: list[tuple[str, ...]] = []
        widths: list[int] = []
        converters: list[list[tuple[int, Any, list[Converter]]]] = []
        primary_keys: list[int] = []
        for part in self.parts:
            fields = self.fields(part)
            primary_keys.append(fields.index(part.model._meta.pk))  # type: ignore[arg-type]
            part_converters = []
            for index, field in enumerate(fields):
                assert field.column is not None  # concrete fields have a column
                columns.append(f"{quote(part.alias)}.{quote(field.column)}")
                col = field.get_col(part.alias)
                found = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
                if found:
                    part_converters.append((index, col, found))
            attnames.append(frozenset(f.attname for f in fields))
            ordered.append(tuple(f.attname for f in fields))
            widths.append(len(fields))
            converters.append(part_converters)
        return _Compiled(", ".join(columns), attnames, ordered, widths, converters, primary_keys)

    def compiled(self, using: str = "default") -> _Compiled:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        return compiled

    def select(self, using: str = "default") -> str:
        """``SELECT`` and the column list, to be followed by the caller's ``FROM …``."""
        return f"SELECT {self.compiled(using).columns}"

    def fetch(
        self, model: type[M], tail: str, params: Sequence[Any], *, using: str = "default"
    ) -> list[M]:
        """Runs ``SELECT <columns> <tail>`` and returns instances of the first part."""
        if model is not self.parts[0].model:
            raise TypeError(f"this shape returns {self.parts[0].model.__name__}")
        compiled = self.compiled(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(f"{self.select(using)} {tail}", params)
            rows = cursor.fetchall()
        result: list[M] = []
        for row in rows:
            instances: dict[str, Model] = {}
            start = 0
            for part, names, ordered, width, part_converters, pk_index in zip(
                self.parts,
                compiled.attnames,
                compiled.ordered,
                compiled.widths,
                compiled.converters,
                compiled.primary_keys,
                strict=True,
            ):
                values = list(row[start : start + width])
                start += width
                if part.attribute is not None and values[pk_index] is None:
                    setattr(instances[part.parent], part.attribute, None)  # type: ignore[index]
                    continue
                for index, col, functions in part_converters:
                    for function in functions:
                        values[index] = function(values[index], col, connection)
                instance = _from_db(part.model, using, names, ordered, values)
                instances[part.alias] = instance
                if part.parent is None:
                    continue
                parent = instances[part.parent]
                if part.via is not None:
                    parent._meta.get_field(part.via).set_cached_value(parent, instance)  # type: ignore[union-attr]
                else:
                    setattr(parent, part.attribute, instance)  # type: ignore[arg-type]
            first = instances[self.parts[0].alias]
            assert isinstance(first, model)
            result.append(first)
        return result


@cache
def _insert_sql(model: type[Model], using: str) -> tuple[str, tuple[Field[Any, Any], ...], bool]:
    """The INSERT, the fields it takes, and whether it returns a generated key."""
    connection = connections[using]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    generated = bool(getattr(pk, "db_returning", False))  # an auto-incremented id
    fields = tuple(f for f in model._meta.concrete_fields if not (f is pk and generated))
    columns = ", ".join(quote(f.column) for f in fields if f.column)
    marks = ", ".join(["%s"] * len(fields))
    # names from the model's metadata only; values go in as parameters
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    if generated:
        assert pk.column is not None
        sql += f" RETURNING {quote(pk.column)}"
    return sql, fields, generated


def insert[T: Model](instance: T, *, using: str = "default") -> T:
    """Stores a new instance with one ``INSERT`` written once per model, as
    ``Model.save()`` would (values prepared by each field, a generated id set), without
    its per-call query compilation. For hot paths of models without ``save()`` logic or
    signals. A taken key raises ``IntegrityError``."""
    if not instance._state.adding:
        raise ValueError("insert() stores new instances only")
    connection = connections[using]
    sql, fields, generated = _insert_sql(type(instance), using)
    if generated and instance.pk is not None:
        raise ValueError("insert() stores new instances only")
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if generated:
            instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = using
    return instance


def _concrete(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is no column")
    return field


@cache
def _update_sql(model: type[Model], names: tuple[str, ...], using: str) -> str:
    quote = connections[using].ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    assert pk.column is not None
    columns = [_concrete(model, name).column for name in names]
    sets = ", ".join(f"{quote(str(column))} = %s" for column in columns)
    # names from the model's metadata only; values go in as parameters
    return f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(pk.column)} = %s"  # noqa: S608


def update(instance: Model, *names: str, using: str = "default") -> None:
    """Writes the named fields of a stored instance with one ``UPDATE`` written once per
    model and field set, as ``save(update_fields=names)`` would, without its per-call
    query compilation. For hot paths of models without ``save()`` logic or signals."""
    if instance._state.adding or instance.pk is None or not names:
        raise ValueError("update() writes named fields of stored instances")
    connection = connections[using]
    fields = [_concrete(type(instance), name) for name in names]
    params = [f.get_db_prep_save(f.pre_save(instance, add=False), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(instance), names, using), [*params, instance.pk])
