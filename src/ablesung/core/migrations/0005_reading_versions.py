"""Reading versions: numbered per (campaign, register), one effective version held by the
database. Replaces the ``superseded_by`` chain, which trash and purge could break."""

from django.db import migrations, models


def number_versions(apps, schema_editor):
    """Versions in the order they were recorded; the newest live one is effective."""
    Reading = apps.get_model("core", "Reading")
    CampaignMeter = apps.get_model("core", "CampaignMeter")
    current: tuple[int, int] | None = None
    version = 0
    newest_live: dict[tuple[int, int], int] = {}
    rows = Reading.objects.order_by("campaign_id", "register_id", "created_at", "id").values_list(
        "pk", "campaign_id", "register_id", "deleted_at"
    )
    for pk, campaign_id, register_id, deleted_at in rows.iterator(chunk_size=2000):
        if (campaign_id, register_id) != current:
            current, version = (campaign_id, register_id), 0
        version += 1
        Reading.objects.filter(pk=pk).update(version=version)
        if deleted_at is None:
            newest_live[current] = pk
        CampaignMeter.objects.filter(campaign_id=campaign_id, register_id=register_id).update(
            last_version=version
        )
    effective = list(newest_live.values())
    for start in range(0, len(effective), 500):
        Reading.objects.filter(pk__in=effective[start : start + 500]).update(is_effective=True)
    if schema_editor.connection.vendor == "postgresql":
        # the updates left deferred foreign-key checks pending, and PostgreSQL alters no
        # table with pending trigger events in the same transaction: run them now
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_organisation_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaignmeter",
            name="last_version",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="reading",
            name="version",
            field=models.PositiveIntegerField(editable=False, null=True, verbose_name="Version"),
        ),
        migrations.AddField(
            model_name="reading",
            name="is_effective",
            field=models.BooleanField(default=False, editable=False, verbose_name="gültig"),
        ),
        migrations.AddField(
            model_name="reading",
            name="note",
            field=models.TextField(blank=True, max_length=500, verbose_name="Vermerk"),
        ),
        migrations.AddField(
            model_name="reading",
            name="released_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="freigegeben am"
            ),
        ),
        migrations.RunPython(number_versions, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="reading",
            name="version",
            field=models.PositiveIntegerField(editable=False, verbose_name="Version"),
        ),
        migrations.RemoveField(model_name="reading", name="superseded_by"),
        migrations.RemoveIndex(model_name="reading", name="reading_campaign_register"),
        migrations.AlterModelOptions(
            name="reading",
            options={
                "ordering": ["campaign_id", "register_id", "version"],
                "verbose_name": "Zählerstand",
                "verbose_name_plural": "Zählerstände",
            },
        ),
        migrations.AddConstraint(
            model_name="reading",
            constraint=models.UniqueConstraint(
                fields=("campaign", "register", "version"), name="reading_version_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="reading",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_effective", True)),
                fields=("campaign", "register"),
                name="reading_one_effective",
            ),
        ),
        migrations.AddConstraint(
            model_name="reading",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("is_effective", False), ("deleted_at__isnull", True), _connector="OR"
                ),
                name="reading_effective_not_trashed",
            ),
        ),
    ]
