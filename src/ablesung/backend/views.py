"""Backend pages: thin views over the core services (reads run in the org scope)."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.core.models.base import TrashableModel
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.trash import (
    RETENTION,
    TRASH_KINDS,
    TrashError,
    do_delete_record,
    do_restore_record,
    trash_items,
)

PAGE_SIZE = 50


@require_GET
@never_cache
@login_required
@require_permission("view")
def trash(request: OrgRequest, org: str) -> HttpResponse:
    items = trash_items(request.organisation)
    now = timezone.now()
    sections = [
        {
            "kind": kind,
            "title": TRASH_KINDS[kind]._meta.verbose_name_plural,
            "rows": [{"obj": obj, "purge_on": obj.deleted_at + RETENTION} for obj in objs],
        }
        for kind, objs in items.items()
    ]
    return render(request, "backend/trash.html", {"sections": sections, "now": now})


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=False
    ):
        return target
    return fallback


def _trash_action(
    request: OrgRequest,
    service: Callable[..., TrashableModel],
    kind: str,
    object_id: int,
    success: str,
) -> None:
    """Runs delete or restore; unknown or foreign ids are 404, refusals a message."""
    try:
        obj = service(
            kind, object_id, organisation=request.organisation, actor=Actor.from_request(request)
        )
    except ObjectDoesNotExist as exc:
        raise Http404 from exc
    except TrashError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success % {"label": obj})


#: kinds whose trashing needs more than "delete": destructive campaign actions are for admins
DELETE_PERMISSIONS = {"campaign": "delete_campaign"}


@require_POST
@login_required
@require_permission("delete")
def delete_record(request: OrgRequest, org: str, kind: str, object_id: int) -> HttpResponse:
    if kind in DELETE_PERMISSIONS and not has_permission(request, DELETE_PERMISSIONS[kind]):
        raise PermissionDenied
    message = _("„%(label)s“ liegt jetzt im Papierkorb.")
    _trash_action(request, do_delete_record, kind, object_id, message)
    return redirect(_back(request, f"/o/{org}/"))


@require_POST
@login_required
@require_permission("restore")
def restore_record(request: OrgRequest, org: str, kind: str, object_id: int) -> HttpResponse:
    message = _("„%(label)s“ wurde wiederhergestellt.")
    _trash_action(request, do_restore_record, kind, object_id, message)
    return redirect("backend:trash", org=org)
