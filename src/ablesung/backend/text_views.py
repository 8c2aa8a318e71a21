"""Texts of letters and mails: the organisation's four texts and a campaign's letter texts.

One page per text kind (``?art=``): subject and body, the allowed placeholders, the preview
for a sample property (HTML on the page; the letter kinds also as a one-letter PDF with
made-up access data) and "Auf Standardtext zurücksetzen". Every member reads (GET needs
"view"), as on the plausibility settings. Changing the organisation's texts needs
"manage_settings" (admins: they are settings); a campaign's own letter text needs "letters"
(clerks and admins, who make that campaign's letters). "Vorschau" and "Vorschau als PDF"
with unsaved values are POSTs of the same form, so they need the right to edit; the preview
of the saved text is a GET for everyone. A preview never saves and never issues access.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ablesung.backend.text_forms import TextForm
from ablesung.core.models import Campaign
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.letters import pdf, preview, text_store, texts
from ablesung.letters.models import CAMPAIGN_TEXT_KINDS, TextKindChoice
from ablesung.letters.text_store import LETTER_KINDS, TextInvalid
from ablesung.letters.texts import TextKind, TextSet

TEMPLATE = "backend/texts.html"
KIND_PARAMETER = "art"
#: the ``?art=`` values (German URLs) and their kinds, in the order of the page
KIND_SLUGS: dict[str, TextKind] = {
    "brief": TextKind.LETTER,
    "erinnerungsbrief": TextKind.REMINDER_LETTER,
    "einladung": TextKind.INVITATION_MAIL,
    "erinnerung": TextKind.REMINDER_MAIL,
}
SLUG_OF = {kind: slug for slug, kind in KIND_SLUGS.items()}
ACTION = "aktion"
SAVE, PREVIEW, RESET = "speichern", "vorschau", "zuruecksetzen"


def _kind(request: OrgRequest, campaign: Campaign | None) -> TextKind:
    source = request.POST if request.method == "POST" else request.GET
    kind = KIND_SLUGS.get(source.get(KIND_PARAMETER, "brief"))
    if kind is None or (campaign is not None and kind.value not in CAMPAIGN_TEXT_KINDS):
        raise Http404
    return kind


def _can_edit(request: OrgRequest, campaign: Campaign | None) -> bool:
    return has_permission(request, "manage_settings" if campaign is None else "letters")


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    return campaign


def _page_url(org: str, campaign: Campaign | None, kind: TextKind) -> str:
    if campaign is None:
        url = reverse("backend:texts", kwargs={"org": org})
    else:
        url = reverse("backend:campaign_texts", kwargs={"org": org, "campaign_id": campaign.pk})
    return f"{url}?{KIND_PARAMETER}={SLUG_OF[kind]}"


def _pdf_url(org: str, campaign: Campaign | None) -> str:
    if campaign is None:
        return reverse("backend:texts_preview_pdf", kwargs={"org": org})
    return reverse(
        "backend:campaign_texts_preview_pdf", kwargs={"org": org, "campaign_id": campaign.pk}
    )


def _labels() -> dict[TextKind, str]:
    return {TextKind(value): str(label) for value, label in TextKindChoice.choices}


def _placeholders(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"name": "{" + name + "}", "help": texts.PLACEHOLDER_HELP[name]} for name in names]


def _context(
    request: OrgRequest,
    campaign: Campaign | None,
    kind: TextKind,
    form: TextForm,
    shown: TextSet | None,
) -> dict[str, Any]:
    organisation = request.organisation
    org = organisation.slug
    labels = _labels()
    kinds = [TextKind(value) for value in CAMPAIGN_TEXT_KINDS] if campaign else list(TextKind)
    own = text_store.stored_text(organisation, campaign, kind)
    sample = preview.sample_for(organisation, campaign)
    if campaign is None:
        title = _("Texte für Briefe und E-Mails")
    else:
        title = _("Brieftexte: %(name)s") % {"name": campaign.name}
    return {
        "title": title,
        "campaign": campaign,
        "kind": kind,
        "kind_slug": SLUG_OF[kind],
        "kind_label": labels[kind],
        "is_letter": kind in LETTER_KINDS,
        "tabs": [
            {"label": labels[each], "url": _page_url(org, campaign, each), "current": each == kind}
            for each in kinds
        ],
        "form": form,
        "can_edit": _can_edit(request, campaign),
        "own": own,
        "inherited_from_organisation": campaign is not None
        and text_store.stored_text(organisation, None, kind) is not None,
        "body_placeholders": _placeholders(texts.PLACEHOLDERS[kind]),
        "subject_placeholders": _placeholders(texts.SUBJECT_PLACEHOLDERS),
        "sample": sample.description,
        "preview": preview.rendered(organisation, sample, kind, shown) if shown else None,
        "pdf_url": _pdf_url(org, campaign),
        "max_lines": pdf.max_text_lines() if kind in LETTER_KINDS else None,
    }


def _action(request: OrgRequest) -> str:
    return request.POST.get(ACTION, SAVE) if request.method == "POST" else ""


def _checked(request: OrgRequest, kind: TextKind, form: TextForm) -> TextSet | None:
    """The posted text if it passes the store's checks; else ``None`` (errors on the form)."""
    if not form.is_valid():
        return None
    try:
        return text_store.clean_text(
            request.organisation, kind, form.cleaned_data["subject"], form.cleaned_data["body"]
        )
    except TextInvalid as exc:
        form.add_text_errors(exc)
        return None


def _text_page(request: OrgRequest, org: str, campaign: Campaign | None) -> HttpResponse:
    organisation = request.organisation
    kind = _kind(request, campaign)
    can_edit = _can_edit(request, campaign)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    action = _action(request)
    actor = Actor.from_request(request)
    if action == RESET:
        if text_store.do_reset_text(organisation, kind, campaign=campaign, actor=actor):
            messages.success(
                request,
                _("Der Text gilt wieder wie vorgegeben.")
                if campaign is None
                else _("Die Ableseaktion verwendet wieder den Text der Organisation."),
            )
        return redirect(_page_url(org, campaign, kind))
    current = text_store.texts_for(organisation, campaign, kind)
    status = 200
    if request.method == "POST":
        form = TextForm(request.POST, body_help=_body_help(kind))
        shown = _checked(request, kind, form)
        if shown is not None and action == SAVE:
            try:
                changed = text_store.do_save_text(
                    organisation,
                    kind,
                    subject=shown.subject,
                    body=shown.body,
                    campaign=campaign,
                    actor=actor,
                )
            except TextInvalid as exc:
                form.add_text_errors(exc)
                shown = None
            else:
                messages.success(
                    request,
                    _("Der Text wurde gespeichert.") if changed else _("Der Text ist unverändert."),
                )
                return redirect(_page_url(org, campaign, kind))
        if shown is None:
            status = 400
    else:
        form = TextForm(
            initial={"subject": current.subject, "body": current.body},
            body_help=_body_help(kind),
            readonly=not can_edit,
        )
        shown = current
    return render(request, TEMPLATE, _context(request, campaign, kind, form, shown), status=status)


def _body_help(kind: TextKind) -> str:
    if kind in LETTER_KINDS:
        return _(
            "Höchstens %(lines)s Zeilen im Brief (etwa 80 Zeichen je Zeile, jeder Absatz "
            "beginnt eine neue Zeile). Eine geschweifte Klammer als Text schreiben Sie doppelt."
        ) % {"lines": pdf.max_text_lines()}
    return _(
        "Höchstens %(limit)s Zeichen. Eine geschweifte Klammer als Text schreiben Sie doppelt."
    ) % {"limit": texts.MAX_BODY}


def _preview_pdf(request: OrgRequest, org: str, campaign: Campaign | None) -> HttpResponse:
    """One letter for the sample property, as PDF: the saved text (GET) or the posted one."""
    organisation = request.organisation
    kind = _kind(request, campaign)
    if kind not in LETTER_KINDS:
        raise Http404
    if request.method == "POST":
        if not _can_edit(request, campaign):
            raise PermissionDenied
        form = TextForm(request.POST, body_help=_body_help(kind))
        text = _checked(request, kind, form)
        if text is None:
            context = _context(request, campaign, kind, form, None)
            return render(request, TEMPLATE, context, status=400)
    else:
        text = text_store.texts_for(organisation, campaign, kind)
    sample = preview.sample_for(organisation, campaign)
    try:
        data = preview.letter_pdf(organisation, sample, kind, text)
    except pdf.FontMissing as exc:
        messages.error(request, str(exc))
        return redirect(_page_url(org, campaign, kind))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="vorschau-{SLUG_OF[kind]}.pdf"'
    return response


# --- routes -------------------------------------------------------------------------------


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def organisation_texts(request: OrgRequest, org: str) -> HttpResponse:
    return _text_page(request, org, None)


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def organisation_texts_pdf(request: OrgRequest, org: str) -> HttpResponse:
    return _preview_pdf(request, org, None)


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def campaign_texts(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    return _text_page(request, org, _campaign(campaign_id))


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def campaign_texts_pdf(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    return _preview_pdf(request, org, _campaign(campaign_id))
