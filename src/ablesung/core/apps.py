from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _create_cache_table(**kwargs: Any) -> None:
    """The database cache holds rate-limit counters shared by all processes."""
    from django.conf import settings
    from django.core.management import call_command

    if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)


class CoreConfig(AppConfig):
    name = "ablesung.core"
    label = "core"
    verbose_name = _("Ablesung")

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self)
