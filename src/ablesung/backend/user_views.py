"""Users (Benutzer) of an organisation, for its admins: members with role, last login and
two-factor state, invitations, role changes, deactivation, the two-factor requirement."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from ablesung.accounts import services
from ablesung.accounts.forms import InviteForm, RoleForm, TwoFactorRequirementForm
from ablesung.accounts.models import Invitation
from ablesung.core.models import Membership
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.actor import Actor


def _members(request: OrgRequest) -> list[Membership]:
    two_factor = TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
    return list(
        Membership.objects.select_related("user")
        .annotate(has_two_factor=Exists(two_factor))
        .order_by("-is_active", "user__email")
    )


@never_cache
@login_required
@require_permission("manage_users")
def users(request: OrgRequest, org: str) -> HttpResponse:
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")
    context = {
        "members": _members(request),
        "invitations": pending,
        "requirement_form": TwoFactorRequirementForm(
            initial={"required": request.organisation.two_factor_required}
        ),
    }
    return render(request, "backend/users.html", context)


@never_cache
@login_required
@require_permission("manage_users")
@require_http_methods(["GET", "POST"])
def invite(request: OrgRequest, org: str) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_invite_member(
                request.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=Actor.from_request(request),
            )
        except services.AccountError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request,
                _("Die Einladung an %(email)s ist verschickt; der Link gilt 72 Stunden.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("backend:users", org=org)
    return render(request, "backend/user_invite.html", {"form": form})


@never_cache
@login_required
@require_permission("manage_users")
def member(request: OrgRequest, org: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    context = {
        "member": membership,
        "role_form": RoleForm(initial={"role": membership.role}),
        "has_two_factor": TOTPDevice.objects.filter(user=membership.user, confirmed=True).exists(),
        "is_self": membership.user_id == request.user.pk,
    }
    return render(request, "backend/user_detail.html", context)


@require_POST
@never_cache
@login_required
@require_permission("manage_users")
def change_role(request: OrgRequest, org: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.all(), pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Bitte wählen Sie eine Rolle."))
        return redirect("backend:user_detail", org=org, membership_id=membership.pk)
    try:
        services.do_change_role(
            request.organisation,
            membership.pk,
            role=form.cleaned_data["role"],
            actor=Actor.from_request(request),
        )
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Die Rolle ist geändert."))
    return redirect("backend:user_detail", org=org, membership_id=membership.pk)


@require_POST
@never_cache
@login_required
@require_permission("manage_users")
def deactivate(request: OrgRequest, org: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.all(), pk=membership_id)
    try:
        services.do_deactivate_member(
            request.organisation, membership.pk, actor=Actor.from_request(request)
        )
    except services.AccountError as error:
        messages.error(request, str(error))
        return redirect("backend:user_detail", org=org, membership_id=membership.pk)
    messages.success(request, _("Das Mitglied ist deaktiviert; seine Sitzungen sind beendet."))
    if membership.user_id == request.user.pk:
        return redirect("accounts:login")
    return redirect("backend:users", org=org)


@require_POST
@never_cache
@login_required
@require_permission("manage_users")
def reactivate(request: OrgRequest, org: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.all(), pk=membership_id)
    services.do_reactivate_member(
        request.organisation, membership.pk, actor=Actor.from_request(request)
    )
    messages.success(request, _("Das Mitglied ist wieder aktiv."))
    return redirect("backend:user_detail", org=org, membership_id=membership.pk)


@require_POST
@never_cache
@login_required
@require_permission("manage_users")
def revoke_invitation(request: OrgRequest, org: str, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.all(), pk=invitation_id)
    try:
        services.do_revoke_invitation(
            request.organisation, invitation.pk, actor=Actor.from_request(request)
        )
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Die Einladung ist zurückgezogen; ihr Link gilt nicht mehr."))
    return redirect("backend:users", org=org)


@require_POST
@never_cache
@login_required
@require_permission("manage_users")
def two_factor_requirement(request: OrgRequest, org: str) -> HttpResponse:
    form = TwoFactorRequirementForm(request.POST)
    required = bool(form.is_valid() and form.cleaned_data["required"])
    services.do_set_two_factor_required(
        request.organisation, required=required, actor=Actor.from_request(request)
    )
    messages.success(
        request,
        _("Ab der nächsten Anmeldung brauchen alle Mitglieder die Zwei-Faktor-Anmeldung.")
        if required
        else _("Die Zwei-Faktor-Anmeldung ist für Mitglieder freiwillig."),
    )
    return redirect("backend:users", org=org)
