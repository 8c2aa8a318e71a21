"""Folded copies of searchable fields (see :mod:`ablesung.lib.folding`).

A :class:`SearchKeyField` holds ``search_key(*sources)`` of its model's source fields. It
is filled whenever the ORM writes the row: ``save()`` and ``bulk_create()`` call the
field's ``pre_save``; :class:`SearchKeys` adds the key to ``save(update_fields=…)`` when a
source is saved; ``bulk_update`` callers set the keys with :func:`fill_search_keys`. The
meter import's bulk writer computes the same keys in Python when it stages its rows
(``ablesung.core.services.bulk_writer``).

The column compares bytes, not language rules (PostgreSQL: collation ``"C"``; SQLite's
default is binary), so that a prefix is one index range on both databases
(``prefix_filter``) and the keys sort the same everywhere.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from ablesung.lib.folding import MAX_KEY, PREFIX_END, fold, search_key


class SearchKeyField(models.CharField):  # type: ignore[type-arg]
    """A folded copy of ``sources`` (field names of the same model), kept by the ORM."""

    def __init__(self, *args: Any, sources: Iterable[str] = (), **kwargs: Any) -> None:
        self.sources = tuple(sources)
        kwargs.setdefault("max_length", MAX_KEY)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["sources"] = self.sources
        for option, default in (("max_length", MAX_KEY), ("editable", False), ("blank", True)):
            if kwargs.get(option) == default:
                del kwargs[option]
        if kwargs.get("default") == "":
            del kwargs["default"]
        return name, path, args, kwargs

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params: dict[str, Any] = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"  # bytes, as SQLite compares by default
        return params

    def key_of(self, instance: models.Model) -> str:
        return search_key(*(getattr(instance, source) or "" for source in self.sources))

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = self.key_of(model_instance)
        setattr(model_instance, self.attname, value)
        return value


def search_key_fields(model: type[models.Model]) -> list[SearchKeyField]:
    return [field for field in model._meta.fields if isinstance(field, SearchKeyField)]


def fill_search_keys(instance: models.Model) -> list[str]:
    """Sets the instance's keys from its fields (before ``bulk_update``); returns their names."""
    names = []
    for field in search_key_fields(type(instance)):
        field.pre_save(instance, add=False)
        names.append(field.name)
    return names


def prefix_filter(field: str, term: str) -> models.Q:
    """Rows whose key ``field`` starts with the folded ``term``: one index range."""
    folded = fold(term)
    return models.Q(**{f"{field}__gte": folded, f"{field}__lt": folded + PREFIX_END})


class SearchKeys(models.Model):
    """Saves a model's search keys with their sources, also under ``update_fields``."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            saved = set(update_fields)
            kwargs["update_fields"] = saved | {
                field.name
                for field in search_key_fields(type(self))
                if saved.intersection(field.sources)
            }
        super().save(*args, **kwargs)
