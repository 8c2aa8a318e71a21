from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class LetterStatus(models.TextChoices):
    QUEUED = "queued", _("In Warteschlange")
    RUNNING = "running", _("Wird erstellt")
    SUCCEEDED = "succeeded", _("Erstellt")
    FAILED = "failed", _("Fehlgeschlagen")


class LetterSelection(models.TextChoices):
    """For which properties of the campaign letters are made."""

    ALL = "all", _("alle Objekte")
    WITHOUT_EMAIL = "without_email", _("nur Objekte ohne E-Mail-Adresse")
    OBJECT_NUMBERS = "object_numbers", _("ausgewählte Objektnummern")
    #: reminder letters: properties without a reading in the campaign and without e-mail
    REMINDER = "reminder", _("Erinnerungsbrief: noch nicht gemeldet, ohne E-Mail-Adresse")
    STREET = "street", _("eine Straße")
    DISTRICT = "district", _("ein Ort oder Ortsteil")


class LetterBatch(TenantModel):
    """One run of reading letters for a campaign: one PDF, one letter per selected property.

    Making the letters issues new access grants for those properties (the old links and
    codes stop working); the plaintext codes exist only in the PDF, never in a column.
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="letter_batches",
        verbose_name=_("Ableseaktion"),
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=LetterStatus.choices, default=LetterStatus.QUEUED
    )
    selection = models.CharField(
        _("Auswahl"), max_length=20, choices=LetterSelection.choices, default=LetterSelection.ALL
    )
    #: the object numbers of an OBJECT_NUMBERS selection
    object_numbers = models.JSONField(_("Objektnummern"), default=list, blank=True)
    #: the street of a STREET selection
    street = models.CharField(_("Straße"), max_length=200, blank=True)
    #: the place (the properties' ``city``) of a DISTRICT selection, or the place of the
    #: street of a STREET selection (empty: the street in every place)
    district = models.CharField(_("Ort oder Ortsteil"), max_length=100, blank=True)
    total = models.PositiveIntegerField(_("Briefe insgesamt"), default=0)
    done = models.PositiveIntegerField(_("Briefe erstellt"), default=0)
    pages = models.PositiveIntegerField(_("Seiten"), default=0)
    #: the selected properties in print order, fixed when the build starts: chunks are cut
    #: from this list, so a resumed build continues exactly after the last committed chunk
    property_ids = models.JSONField(_("Objekte in Druckreihenfolge"), default=list, blank=True)
    #: how far the committed chunks reach into ``property_ids``
    position = models.PositiveIntegerField(_("Position"), default=0)
    #: the committed chunks, each a stored PDF part (joined at the end, then deleted)
    parts = models.PositiveIntegerField(_("Teile"), default=0)
    #: grants revoked by the committed chunks (for the audit entry at the end)
    revoked = models.PositiveIntegerField(_("widerrufene Zugänge"), default=0)
    attempts = models.PositiveIntegerField(_("Versuche"), default=0)
    #: the worker holding the batch renews the lease with every chunk; the sweep hands a
    #: batch whose lease ran out to a new task
    lease_until = models.DateTimeField(_("reserviert bis"), null=True, blank=True)
    pdf_file = models.FileField(_("PDF-Datei"), max_length=300, blank=True)
    pdf_name = models.CharField(_("Name der PDF-Datei"), max_length=200, blank=True)
    pdf_sha256 = models.CharField(_("SHA-256 der PDF-Datei"), max_length=64, blank=True)
    message = models.TextField(_("Meldung"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("erstellt von"),
    )
    actor_label = models.CharField(_("erstellt von"), max_length=254, blank=True)
    started_at = models.DateTimeField(_("begonnen am"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fertig am"), null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "-created_at", "-id"]
        verbose_name = _("Ablesebrief-Lauf")
        verbose_name_plural = _("Ablesebrief-Läufe")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in {LetterStatus.SUCCEEDED, LetterStatus.FAILED}


class TextKindChoice(models.TextChoices):
    """The kinds of :class:`ablesung.letters.texts.TextKind`, with their German names."""

    LETTER = "letter", _("Ablesebrief")
    REMINDER_LETTER = "reminder_letter", _("Erinnerungsbrief")
    INVITATION_MAIL = "invitation_mail", _("Einladung per E-Mail")
    REMINDER_MAIL = "reminder_mail", _("Erinnerung per E-Mail")


#: the kinds a campaign may override (its letters); mails are the organisation's only
CAMPAIGN_TEXT_KINDS: tuple[str, ...] = (
    TextKindChoice.LETTER.value,
    TextKindChoice.REMINDER_LETTER.value,
)


class CustomText(TenantModel):
    """A subject and body that replace a default text of :mod:`ablesung.letters.texts`.

    Without ``campaign``: the organisation's text of that kind (one per kind). With
    ``campaign``: that campaign's letter or reminder-letter text, in front of the
    organisation's. Written only by :mod:`ablesung.letters.text_store`, which checks the
    placeholders and the length first, so a stored text always renders.
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="custom_texts",
        verbose_name=_("Ableseaktion"),
    )
    kind = models.CharField(_("Art"), max_length=20, choices=TextKindChoice.choices)
    subject = models.CharField(_("Betreff"), max_length=150)
    body = models.TextField(_("Text"))
    updated_at = models.DateTimeField(_("geändert am"), auto_now=True)
    updated_by = models.CharField(_("geändert von"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("eigener Text")
        verbose_name_plural = _("eigene Texte")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=models.Q(campaign__isnull=True),
                name="customtext_one_per_organisation_kind",
            ),
            models.UniqueConstraint(
                fields=["campaign", "kind"],
                condition=models.Q(campaign__isnull=False),
                name="customtext_one_per_campaign_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=True)
                | models.Q(kind__in=list(CAMPAIGN_TEXT_KINDS)),
                name="customtext_campaign_only_letters",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'campaign' if self.campaign else 'organisation'})"
