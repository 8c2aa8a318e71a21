"""The organisation foreign key is held by the database on every tenant table: the second
line of tenant isolation beside the scoped managers."""

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import ForeignKey, Model
from django_scopes import scopes_disabled

from ablesung.core.models import Organisation, Property


def tenant_models() -> list[type[Model]]:
    found: list[type[Model]] = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "organisation"), None)
        if isinstance(field, ForeignKey) and field.related_model is Organisation:
            found.append(model)
    return found


@pytest.mark.django_db
def test_every_tenant_table_has_a_foreign_key_constraint_on_its_organisation() -> None:
    models = tenant_models()
    assert len(models) >= 12  # every core tenant model, the audit log and the outbox
    missing = []
    with connection.cursor() as cursor:
        for model in models:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            if not any(
                info["foreign_key"] == (Organisation._meta.db_table, "id")
                and info["columns"] == ["organisation_id"]
                for info in constraints.values()
            ):
                missing.append(model._meta.label)
    assert missing == []


@pytest.mark.django_db(transaction=True)
def test_a_row_naming_a_missing_organisation_is_refused() -> None:
    def insert_orphan() -> None:
        with transaction.atomic(), scopes_disabled():
            Property.objects.bulk_create([Property(organisation_id=987654, object_number="X")])
            # SQLite checks at once, PostgreSQL (deferred constraints) at the latest on commit
            connection.check_constraints()

    with pytest.raises(IntegrityError):
        insert_orphan()
    with scopes_disabled():
        assert not Property.objects.filter(object_number="X").exists()
