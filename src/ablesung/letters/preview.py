"""Previews of a letter or mail text for a sample property, before or after saving it.

The sample is the first property (in letter order) of the given campaign or, on the
organisation's page, of its newest campaign; without one, a made-up property. A preview
never issues access: the letter shows the made-up code :data:`SAMPLE_CODE`, its QR code and
link lead to the portal's start page, and every page says "MUSTER" in the letterhead.
"""

import dataclasses
import datetime
import io
from collections.abc import Sequence

from django.utils import timezone

from ablesung.core.models import Campaign, Organisation, Property
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.branding import logo_bytes
from ablesung.letters import pdf, texts
from ablesung.letters.models import LetterSelection
from ablesung.letters.services import (
    NO_OWNER,
    _rows,
    letter_for,
    letterhead,
    one_line_address,
    owner_name,
    portal_address,
    selected_properties,
)
from ablesung.letters.texts import TextKind, TextSet

#: the access code printed on a preview: the format of a real one, but never valid
#: (real codes never contain a U: see ablesung.lib.codes.ALPHABET)
SAMPLE_CODE = "MUST-ERXX-XXX"
MAIL_KINDS = frozenset({TextKind.INVITATION_MAIL, TextKind.REMINDER_MAIL})


@dataclasses.dataclass(frozen=True)
class Sample:
    """Whom a preview is for: a stored property of a campaign, or a made-up one."""

    campaign: Campaign | None
    prop: Property | None

    @property
    def description(self) -> str:
        if self.prop is None:
            return "ein erfundenes Objekt (Erika Mustermann, Musterweg 1, 12345 Musterstadt)"
        prop = self.prop
        street = " ".join(part for part in (prop.street, prop.house_number) if part)
        campaign = self.campaign.name if self.campaign else ""
        return f"Objekt {prop.object_number}, {street} (Ableseaktion „{campaign}“)"


def sample_for(organisation: Organisation, campaign: Campaign | None) -> Sample:
    """The first property of ``campaign`` or of the newest campaign (inside no scope)."""
    with organisation_scope(organisation):
        if campaign is None:
            campaign = Campaign.objects.order_by("-created_at", "-pk").first()
        if campaign is None:
            return Sample(None, None)
        return Sample(campaign, selected_properties(campaign, LetterSelection.ALL).first())


def _dates(campaign: Campaign | None) -> tuple[str, str]:
    if campaign is not None:
        deadline = campaign.online_until
        return (
            campaign.key_date.strftime("%d.%m.%Y"),
            deadline.strftime("%d.%m.%Y") if deadline else texts.NO_DEADLINE,
        )
    key_date = datetime.date(timezone.localdate().year, 12, 31)
    return key_date.strftime("%d.%m.%Y"), (key_date + datetime.timedelta(days=15)).strftime(
        "%d.%m.%Y"
    )


def _head(
    organisation: Organisation, sample: Sample, kind: TextKind, text: TextSet
) -> pdf.Letterhead:
    if sample.campaign is not None:
        head = letterhead(organisation, sample.campaign, kind)
    else:
        key_date, deadline = _dates(None)
        head = pdf.Letterhead(
            organisation=organisation.name,
            sender_line=organisation.name,
            contact=[line for line in organisation.contact_address.splitlines() if line][:3],
            portal=portal_address(),
            key_date=key_date,
            deadline=deadline,
            date=timezone.localdate().strftime("%d.%m.%Y"),
            logo=logo_bytes(organisation),
        )
    return dataclasses.replace(
        head, subject=text.subject, text=text.body, sample=True, title="Vorschau (Muster)"
    )


def _letter(organisation: Organisation, sample: Sample) -> pdf.Letter:
    prop = sample.prop
    if prop is None or sample.campaign is None:
        return pdf.Letter(
            object_number="MUSTER-001",
            name="Erika Mustermann",
            address=["Erika Mustermann", "Musterweg 1", "12345 Musterstadt"],
            link=portal_address(),
            code=SAMPLE_CODE,
            rows=[pdf.LetterRow("12345678", "Wasser", "", "1234", "31.12.2025")],
        )
    with organisation_scope(organisation):
        rows = _rows(sample.campaign, [prop])[prop.pk]
    return letter_for(prop, portal_address(), SAMPLE_CODE, rows)


def letter_pdf(organisation: Organisation, sample: Sample, kind: TextKind, text: TextSet) -> bytes:
    """One letter of ``kind`` with ``text`` for the sample, as PDF (made-up access)."""
    out = io.BytesIO()
    pdf.write_letters(out, _head(organisation, sample, kind, text), [_letter(organisation, sample)])
    return out.getvalue()


def _objects(organisation: Organisation, sample: Sample) -> str:
    """The ``{objekte}`` lines of the sample person: their properties in the campaign."""
    prop = sample.prop
    if prop is None or sample.campaign is None:
        properties: Sequence[tuple[str, str]] = [("Musterweg 1, 12345 Musterstadt", "MUSTER-001")]
    else:
        same: list[Property] = [prop]
        if prop.email:
            with organisation_scope(organisation):
                same = list(
                    selected_properties(sample.campaign, LetterSelection.ALL).filter(
                        email__iexact=prop.email
                    )
                )
        properties = [(one_line_address(other), other.object_number) for other in same]
    return texts.objects_list((address, number, portal_address()) for address, number in properties)


def rendered(organisation: Organisation, sample: Sample, kind: TextKind, text: TextSet) -> TextSet:
    """Subject and body of ``kind`` as the sample's recipient reads them (made-up access)."""
    if kind in MAIL_KINDS:
        key_date, deadline = _dates(sample.campaign)
        prop = sample.prop
        values = {
            "name": (owner_name(prop) if prop else "Erika Mustermann") or NO_OWNER,
            "objekte": _objects(organisation, sample),
            "stichtag": key_date,
            "frist": deadline,
            "portal": portal_address(),
            "organisation": organisation.name,
        }
    else:
        head = _head(organisation, sample, kind, text)
        values = pdf.placeholder_values(head, _letter(organisation, sample))
    return TextSet(texts.render(text.subject, values), texts.render(text.body, values))
