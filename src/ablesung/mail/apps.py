from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "ablesung.mail"
    label = "mail"
    verbose_name = _("E-Mail")

    def ready(self) -> None:
        from ablesung.mail import checks  # noqa: F401  (registers the deploy checks)
