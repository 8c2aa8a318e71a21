from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class GrantChannel(models.TextChoices):
    """How a grant reached the citizen: printed (letter, list of codes) or in an e-mail."""

    LETTER = "letter", _("Brief")
    MAIL = "mail", _("E-Mail")


class AccessGrant(TenantModel):
    """A citizen's way into the portal: one property in one campaign.

    Neither the link token nor the access code is stored, only their hashes:

    * ``token_hash`` is the SHA-256 (hex) of the 128-bit link token. A plain hash
      is enough: the token is random and far too long to guess.
    * ``code_hash`` is HMAC-SHA256 keyed with ``settings.SECRET_KEY`` over the
      normalised access code. Deliberately fast (no Argon2): a code has 55 random
      bits, is only accepted together with a meter number, and wrong tries are
      rate-limited per IP and per meter. The key keeps a stolen database dump
      from being searched offline without the secret key as well. Rotating
      ``SECRET_KEY`` therefore invalidates all typed codes (links keep working).

    Issuing letters again for a campaign revokes the previous printed grants
    (``revoked_at``); links sent by e-mail (``channel`` mail) stay valid, since a new
    letter does not reach the mailbox that holds them.
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="access_grants",
        verbose_name=_("Ableseaktion"),
    )
    property = models.ForeignKey(
        "core.Property",
        on_delete=models.CASCADE,
        related_name="access_grants",
        verbose_name=_("Objekt"),
    )
    token_hash = models.CharField(_("Link (SHA-256)"), max_length=64, unique=True)
    code_hash = models.CharField(_("Zugangscode (HMAC)"), max_length=64, db_index=True)
    channel = models.CharField(
        _("Weg"), max_length=10, choices=GrantChannel.choices, default=GrantChannel.LETTER
    )
    issued_at = models.DateTimeField(_("ausgegeben am"), default=timezone.now)
    revoked_at = models.DateTimeField(_("widerrufen am"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "id"]
        verbose_name = _("Zugang")
        verbose_name_plural = _("Zugänge")

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.property_id}"
