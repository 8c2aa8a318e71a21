from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitationsConfig(AppConfig):
    name = "ablesung.invitations"
    label = "invitations"
    verbose_name = _("Einladungen und Erinnerungen")
