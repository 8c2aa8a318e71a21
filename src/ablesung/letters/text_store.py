"""The stored texts of letters and mails: lookup with fallback, and checked saving.

A text of :class:`~ablesung.letters.texts.TextKind` comes from, in this order: the
campaign's own text (letters and reminder letters only), the organisation's text, the
default of :data:`~ablesung.letters.texts.DEFAULTS` (:func:`texts_for`). Every save goes
through :func:`clean_text` – placeholders (:func:`~ablesung.letters.texts.check_set`),
lengths, and for letters whether the text fits the letter's text area – so that a stored
text always renders and never runs into the meter table or the reply card. A refused text
changes nothing; :class:`TextInvalid` carries the German messages per field.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ablesung.core.models import Campaign, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.letters import pdf, texts
from ablesung.letters.models import CAMPAIGN_TEXT_KINDS, CustomText
from ablesung.letters.texts import TextKind, TextSet

LETTER_KINDS = frozenset({TextKind.LETTER, TextKind.REMINDER_LETTER})
SUBJECT, BODY = "subject", "body"

#: values a letter text is measured with on save: realistic lengths (a name of 30
#: characters, a link of the real length); a longer name on one letter is cut at the
#: text area's last line by the writer, never drawn into the table
MEASURE_VALUES = {
    "name": "Maximiliane Mustermann-Schulze",
    "objekt": "1234567890-001",
    "stichtag": "31.12.2026",
    "frist": "15.01.2027",
    "zugangscode": "ABCD-EFGH-JKM",
}


class TextInvalid(ValueError):
    """A text that cannot be stored; ``errors`` maps ``subject``/``body`` to German messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


def may_override(kind: TextKind, campaign: Campaign | None) -> bool:
    return campaign is None or kind.value in CAMPAIGN_TEXT_KINDS


# --- reading ------------------------------------------------------------------------------


def stored_text(
    organisation: Organisation, campaign: Campaign | None, kind: TextKind
) -> CustomText | None:
    """The organisation's (``campaign=None``) or the campaign's own text of ``kind``."""
    with organisation_scope(organisation):
        found: CustomText | None = CustomText.objects.filter(
            campaign=campaign, kind=kind.value
        ).first()
    return found


def texts_for(organisation: Organisation, campaign: Campaign | None, kind: TextKind) -> TextSet:
    """The text of ``kind`` for ``campaign``: its own, else the organisation's, else the
    default (one query)."""
    scope = Q(campaign__isnull=True)
    if campaign is not None and kind.value in CAMPAIGN_TEXT_KINDS:
        scope |= Q(campaign=campaign)
    with organisation_scope(organisation):
        rows = list(CustomText.objects.filter(scope, kind=kind.value))
    # the campaign's own text first
    rows.sort(key=lambda row: row.campaign_id is None)
    if rows:
        return TextSet(rows[0].subject, rows[0].body)
    return texts.DEFAULTS[kind]


def inherited_texts(
    organisation: Organisation, campaign: Campaign | None, kind: TextKind
) -> TextSet:
    """What applies without the own text: the organisation's (for a campaign) or the default."""
    if campaign is None:
        return texts.DEFAULTS[kind]
    return texts_for(organisation, None, kind)


# --- checking -----------------------------------------------------------------------------


def measure_values(organisation: Organisation) -> dict[str, str]:
    """The placeholder values a letter text is measured with on save."""
    portal = settings.BASE_URL + "/"
    return {
        **MEASURE_VALUES,
        "link": settings.BASE_URL + "/r/" + "x" * 22,
        "portal": portal,
        "organisation": organisation.name,
    }


def clean_text(organisation: Organisation, kind: TextKind, subject: str, body: str) -> TextSet:
    """The text as stored (line ends normalised, outer blanks removed), or
    :class:`TextInvalid` with every problem at its field."""
    subject = subject.strip()
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    errors: dict[str, list[str]] = {}
    if not subject:
        errors[SUBJECT] = [_("Bitte geben Sie einen Betreff ein.")]
    elif "\n" in subject:
        errors[SUBJECT] = [_("Der Betreff hat nur eine Zeile.")]
    elif len(subject) > texts.MAX_SUBJECT:
        errors[SUBJECT] = [
            _("Der Betreff hat %(count)s Zeichen; erlaubt sind höchstens %(limit)s.")
            % {"count": len(subject), "limit": texts.MAX_SUBJECT}
        ]
    if not body:
        errors[BODY] = [_("Bitte geben Sie einen Text ein.")]
    elif len(body) > texts.MAX_BODY:
        errors[BODY] = [
            _("Der Text hat %(count)s Zeichen; erlaubt sind höchstens %(limit)s.")
            % {"count": len(body), "limit": texts.MAX_BODY}
        ]
    if SUBJECT not in errors:
        try:
            texts.check(subject, texts.SUBJECT_PLACEHOLDERS, _("Betreff"))
        except texts.TextError as exc:
            errors[SUBJECT] = [str(exc)]
    if BODY not in errors:
        try:
            texts.check(body, texts.PLACEHOLDERS[kind], _("Text"))
        except texts.TextError as exc:
            errors[BODY] = [str(exc)]
    if BODY not in errors and kind in LETTER_KINDS:
        problem = _letter_fit_problem(organisation, body)
        if problem:
            errors[BODY] = [problem]
    if errors:
        raise TextInvalid(errors)
    result = TextSet(subject, body)
    texts.check_set(kind, result)  # the same rules as the writer's, once more
    return result


def _letter_fit_problem(organisation: Organisation, body: str) -> str:
    try:
        lines = pdf.text_lines(texts.render(body, measure_values(organisation)))
        limit = pdf.max_text_lines()
    except pdf.FontMissing as exc:
        return str(exc)
    if lines <= limit:
        return ""
    return _(
        "Der Text ist zu lang für den Brief: Er braucht %(lines)s Zeilen, zwischen Betreff "
        "und Zählertabelle ist Platz für höchstens %(limit)s Zeilen (je etwa 80 Zeichen, "
        "jeder Absatz beginnt eine neue Zeile). Bitte kürzen Sie ihn."
    ) % {"lines": lines, "limit": limit}


# --- writing ------------------------------------------------------------------------------


def _audit_data(kind: TextKind, campaign: Campaign | None) -> dict[str, object]:
    data: dict[str, object] = {"kind": kind.value}
    if campaign is not None:
        data["campaign"] = campaign.pk
    return data


def do_save_text(
    organisation: Organisation,
    kind: TextKind,
    *,
    subject: str,
    body: str,
    campaign: Campaign | None = None,
    actor: Actor,
) -> bool:
    """Stores the organisation's (or the campaign's) text of ``kind``; returns whether it
    changed. Raises :class:`TextInvalid` (nothing stored)."""
    if not may_override(kind, campaign):
        raise ValueError(f"a campaign has no own {kind} text")
    cleaned = clean_text(organisation, kind, subject, body)
    with transaction.atomic(durable=True), organisation_scope(organisation):
        if campaign is not None:
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        row = (
            CustomText.objects.select_for_update()
            .filter(campaign=campaign, kind=kind.value)
            .first()
        )
        if row is not None and (row.subject, row.body) == (cleaned.subject, cleaned.body):
            return False
        if row is None:
            row = CustomText(organisation=organisation, campaign=campaign, kind=kind.value)
        row.subject, row.body, row.updated_by = cleaned.subject, cleaned.body, actor.label[:254]
        row.save()
        audit.record(
            "letters.text_saved",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data=_audit_data(kind, campaign),
        )
    return True


def do_reset_text(
    organisation: Organisation,
    kind: TextKind,
    *,
    campaign: Campaign | None = None,
    actor: Actor,
) -> bool:
    """Removes the own text of ``kind`` (the organisation's or the campaign's); the
    inherited text applies again. Returns whether there was one."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        deleted, _rows = CustomText.objects.filter(campaign=campaign, kind=kind.value).delete()
        if not deleted:
            return False
        audit.record(
            "letters.text_reset",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data=_audit_data(kind, campaign),
        )
    return True
