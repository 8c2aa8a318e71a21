from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ablesung.accounts"
    label = "accounts"
    verbose_name = _("Konten")

    def ready(self) -> None:
        from ablesung.accounts import signals  # noqa: F401
