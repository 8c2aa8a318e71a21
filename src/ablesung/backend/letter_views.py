"""Reading letters of a campaign: counts, the dialog, the batches, the PDF download.

Every member sees the page; making letters and downloading the PDF (it holds access
codes) need "letters" (clerks and admins). A batch's page refreshes its status with htmx
while the job runs (without JavaScript: a link to reload).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.backend.letter_forms import LettersForm
from ablesung.core.models import Campaign
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.letters.models import LetterBatch, LetterSelection
from ablesung.letters.services import (
    LettersRefused,
    campaign_districts,
    campaign_streets,
    do_request_letters,
    do_retry_letters,
    letters_made,
    may_retry,
    selected_properties,
)
from ablesung.letters.text_store import stored_text
from ablesung.letters.texts import TextKind


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organisation"), pk=campaign_id
    )
    return campaign


def _batch(letter_batch_id: int) -> LetterBatch:
    batch: LetterBatch = get_object_or_404(
        LetterBatch.objects.select_related("campaign"), pk=letter_batch_id
    )
    return batch


def _form(
    campaign: Campaign, data: QueryDict | None = None, initial: dict[str, object] | None = None
) -> LettersForm:
    return LettersForm(
        data,
        initial=initial,
        made=letters_made(campaign),
        streets=campaign_streets(campaign),
        districts=campaign_districts(campaign),
    )


def _context(request: OrgRequest, campaign: Campaign, form: LettersForm) -> dict[str, object]:
    organisation = request.organisation
    return {
        "own_text": stored_text(organisation, campaign, TextKind.LETTER) is not None,
        "own_reminder_text": stored_text(organisation, campaign, TextKind.REMINDER_LETTER)
        is not None,
        "campaign": campaign,
        "form": form,
        "made": form.made,
        "with_meters": selected_properties(campaign, LetterSelection.ALL).count(),
        "without_email": selected_properties(campaign, LetterSelection.WITHOUT_EMAIL).count(),
        "batches": LetterBatch.objects.filter(campaign=campaign).order_by("-created_at", "-pk"),
        "may_make": has_permission(request, "letters"),
    }


@require_GET
@never_cache
@login_required
@require_permission("view")
def letters_page(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    chosen = request.GET.get("auswahl")  # the reminders page links here with "reminder"
    form = _form(
        campaign, initial={"selection": chosen} if chosen in LetterSelection.values else None
    )
    return render(request, "backend/letters.html", _context(request, campaign, form))


@require_POST
@never_cache
@login_required
@require_permission("letters")
def letters_start(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = _form(campaign, request.POST)
    if not form.is_valid():
        return render(
            request, "backend/letters.html", _context(request, campaign, form), status=400
        )
    street, district = form.street_and_district()
    try:
        batch = do_request_letters(
            campaign,
            organisation=campaign.organisation,
            selection=form.cleaned_data["selection"],
            object_numbers=form.numbers(),
            street=street,
            district=district,
            confirmed_made=form.cleaned_data.get("confirmed_made") or 0,
            actor=Actor.from_request(request),
        )
    except LettersRefused as exc:
        messages.error(request, str(exc))
        return redirect("backend:letters", org=org, campaign_id=campaign.pk)
    messages.success(request, _("Die Ablesebriefe werden erstellt."))
    return redirect("backend:letter_batch", org=org, letter_batch_id=batch.pk)


@require_GET
@never_cache
@login_required
@require_permission("view")
def letter_batch(request: OrgRequest, org: str, letter_batch_id: int) -> HttpResponse:
    batch = _batch(letter_batch_id)
    context = {
        "campaign": batch.campaign,
        "batch": batch,
        "may_make": has_permission(request, "letters"),
        "may_retry": may_retry(batch),
    }
    if request.headers.get("HX-Request"):
        # the live region speaks when the count moved (or the job ended), not every poll
        context["announce"] = batch.is_finished or request.GET.get("gesehen") != str(batch.done)
        return render(request, "backend/_letter_batch_status.html", context)
    return render(request, "backend/letter_batch.html", context)


@require_GET
@never_cache
@login_required
@require_permission("letters")
def letter_batch_pdf(request: OrgRequest, org: str, letter_batch_id: int) -> FileResponse:
    batch = _batch(letter_batch_id)
    if not batch.pdf_file:
        raise Http404
    return FileResponse(batch.pdf_file.open("rb"), as_attachment=True, filename=batch.pdf_name)


@require_POST
@never_cache
@login_required
@require_permission("letters")
def letter_batch_retry(request: OrgRequest, org: str, letter_batch_id: int) -> HttpResponse:
    batch = _batch(letter_batch_id)
    if do_retry_letters(batch, actor=Actor.from_request(request)):
        messages.success(request, _("Die Ablesebriefe werden fortgesetzt."))
    else:
        messages.info(
            request,
            _(
                "Dieser Lauf kann nicht fortgesetzt werden (er ist nicht fehlgeschlagen, oder "
                "es gibt einen neueren); es wurde nichts geändert."
            ),
        )
    return redirect("backend:letter_batch", org=org, letter_batch_id=batch.pk)
