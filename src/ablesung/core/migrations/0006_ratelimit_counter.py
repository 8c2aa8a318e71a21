"""Rate-limit counters in a table of their own, which never culls (unlike the database cache)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_reading_versions"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitCounter",
            fields=[
                ("key", models.CharField(max_length=120, primary_key=True, serialize=False)),
                ("count", models.PositiveIntegerField(default=0)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "verbose_name": "Zähler der Ratenbegrenzung",
                "verbose_name_plural": "Zähler der Ratenbegrenzung",
            },
        ),
    ]
