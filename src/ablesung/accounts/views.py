"""Staff login (password, then the second factor), two-factor setup, invitations, password
reset. Failed tries of both login steps are throttled per client address and per account."""

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from ablesung.accounts import services, twofactor
from ablesung.accounts.forms import (
    NewPasswordForm,
    OutboxPasswordResetForm,
    SecondFactorForm,
    StaffLoginForm,
    TotpSetupForm,
)
from ablesung.accounts.middleware import SETUP_REQUIRED_KEY
from ablesung.accounts.models import RecoveryCodeDevice, User
from ablesung.core import ratelimit
from ablesung.core.scoping import memberships_of
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.lib.net import client_ip, limit_subject

#: session keys of a login whose password was right and whose second factor is pending
PENDING_USER_KEY = "_2fa_pending_user"
PENDING_AT_KEY = "_2fa_pending_at"
PENDING_NEXT_KEY = "_2fa_pending_next"
PENDING_BACKEND_KEY = "_2fa_pending_backend"
#: how long the second step waits for the code after the password step
PENDING_SECONDS = 5 * 60
#: session key: the invitation whose link was opened (the token leaves the URL at once)
INVITATION_KEY = "_invitation"

BLOCKED_MESSAGE = _(
    "Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie einige Minuten und "
    "versuchen Sie es dann erneut."
)


def _blocked(
    request: HttpRequest, template: str, context: dict[str, Any], wait: int, account: str
) -> HttpResponse:
    audit.record(
        "auth.login_blocked",
        actor=Actor(user=None, label=account[:254], ip=client_ip(request)),
        organisation=None,
    )
    response = render(request, template, {**context, "blocked": BLOCKED_MESSAGE}, status=429)
    response["Retry-After"] = str(wait)
    return response


def _safe_next(request: HttpRequest, value: str, default: str) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return default


class StaffLoginView(auth_views.LoginView):
    """Step one: e-mail and password. With two-factor login the session is not signed in
    yet: step two (:func:`second_factor`) asks for the code."""

    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = str(request.POST.get("username", ""))[:254]
        wait = ratelimit.login_retry_after(ip=client_ip(request), account=account)
        if wait is not None:
            form = self.get_form()
            return _blocked(
                request, self.template_name, self.get_context_data(form=form), wait, account
            )
        response: HttpResponse = super().post(request, *args, **kwargs)
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        account = str(self.request.POST.get("username", ""))[:254]
        ratelimit.record_login_failure(ip=client_ip(self.request), account=account)
        response: HttpResponse = super().form_invalid(form)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        request = self.request
        if twofactor.has_two_factor(user):
            request.session.cycle_key()  # a new id for the half-signed-in session
            request.session[PENDING_USER_KEY] = user.pk
            request.session[PENDING_AT_KEY] = int(time.time())
            request.session[PENDING_BACKEND_KEY] = user.backend
            request.session[PENDING_NEXT_KEY] = self.get_success_url()
            return redirect("accounts:second_factor")
        login(request, user)  # a new session id
        if twofactor.two_factor_required(user):
            request.session[SETUP_REQUIRED_KEY] = True
            request.session[PENDING_NEXT_KEY] = self.get_success_url()
            return redirect("accounts:two_factor_setup")
        return redirect(self.get_success_url())


def _pending_user(request: HttpRequest) -> User | None:
    user_id = request.session.get(PENDING_USER_KEY)
    started = int(request.session.get(PENDING_AT_KEY, 0))
    if user_id is None or time.time() - started > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Step two: a TOTP code (each code once) or a recovery code (each once)."""
    user = _pending_user(request)
    if user is None:
        messages.info(request, _("Bitte melden Sie sich erneut an."))
        return redirect("accounts:login")
    template = "accounts/second_factor.html"
    form = SecondFactorForm(request.POST or None)
    ip = client_ip(request)
    if request.method == "POST":
        wait = ratelimit.login_retry_after(ip=ip, account=user.email)
        if wait is not None:
            return _blocked(request, template, {"form": form}, wait, user.email)
        device = (
            twofactor.verify_second_factor(user, form.data.get("code", ""))
            if form.is_valid()
            else None
        )
        if device is None:
            ratelimit.record_login_failure(ip=ip, account=user.email)
            services.record_account_event(
                "auth.second_factor_failed",
                user=user,
                actor=Actor(user=None, label=user.email, ip=ip),
            )
            form.add_error("code", _("Der Code ist falsch oder wurde schon verwendet."))
        else:
            next_url = str(request.session.get(PENDING_NEXT_KEY, ""))
            user.backend = str(request.session.get(PENDING_BACKEND_KEY, ""))
            for key in (PENDING_USER_KEY, PENDING_AT_KEY, PENDING_NEXT_KEY, PENDING_BACKEND_KEY):
                request.session.pop(key, None)
            login(request, user)  # a new session id after the second factor
            otp_login(request, device)
            if isinstance(device, RecoveryCodeDevice):
                services.record_account_event(
                    "auth.recovery_code_used",
                    user=user,
                    actor=Actor(user=user, label=user.email, ip=ip),
                    data={"remaining": device.remaining()},
                )
            return redirect(_safe_next(request, next_url, reverse(settings.LOGIN_REDIRECT_URL)))
    return render(request, template, {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: scan (or type) the key, confirm with a code; the
    recovery codes are shown once afterwards."""
    user: User = request.user  # type: ignore[assignment]
    key_hex = request.session.get(twofactor.SETUP_KEY)
    if not key_hex:
        key_hex = twofactor.new_totp_key()
        request.session[twofactor.SETUP_KEY] = key_hex
    form = TotpSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = twofactor.verify_setup_code(key_hex, form.cleaned_data["code"])
        if step is None:
            form.add_error(
                "code",
                _("Der Code stimmt nicht. Bitte geben Sie den aktuellen Code aus der App ein."),
            )
        else:
            codes = services.do_enable_two_factor(
                user, key_hex=key_hex, step=step, actor=Actor.from_request(request)
            )
            next_url = str(request.session.get(PENDING_NEXT_KEY, ""))
            request.session.pop(twofactor.SETUP_KEY, None)
            request.session.pop(SETUP_REQUIRED_KEY, None)
            request.session.pop(PENDING_NEXT_KEY, None)
            request.session.cycle_key()
            device = twofactor.totp_devices(user)[0]
            otp_login(request, device)
            return render(
                request,
                "accounts/recovery_codes.html",
                {
                    "codes": codes,
                    "next": _safe_next(request, next_url, reverse(settings.LOGIN_REDIRECT_URL)),
                    "first_setup": True,
                },
            )
    uri = twofactor.provisioning_uri(user, key_hex)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr": twofactor.qr_svg_data_uri(uri),
            "secret": twofactor.key_base32(key_hex),
            "required": bool(request.session.get(SETUP_REQUIRED_KEY)),
            "has_two_factor": twofactor.has_two_factor(user),
        },
    )


@never_cache
@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    """The person's own account: two-factor state, recovery codes, password."""
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/security.html",
        {
            "has_two_factor": twofactor.has_two_factor(user),
            "remaining_codes": twofactor.remaining_recovery_codes(user),
            "two_factor_required": twofactor.two_factor_required(user),
        },
    )


@never_cache
@login_required
@require_POST
def renew_recovery_codes(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not twofactor.has_two_factor(user):
        return redirect("accounts:two_factor_setup")
    codes = services.do_renew_recovery_codes(user, actor=Actor.from_request(request))
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": reverse("accounts:security"), "first_setup": False},
    )


class StaffPasswordChangeView(auth_views.PasswordChangeView):
    """A new password ends every other session of the account (the password hash is part
    of each session's auth hash); this one goes on."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "kern-form-input__input"
        return form

    def form_valid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_valid(form)
        update_session_auth_hash(self.request, form.user)
        services.record_account_event(
            "auth.password_changed", user=form.user, actor=Actor.from_request(self.request)
        )
        messages.success(
            self.request, _("Ihr Passwort wurde geändert. Andere Sitzungen sind beendet.")
        )
        return response


class StaffPasswordResetView(auth_views.PasswordResetView):
    """The same answer for every address; mails limited per address and client a day."""

    template_name = "accounts/password_reset.html"
    form_class = OutboxPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")
    email_template_name = "accounts/mail/password_reset.txt"
    subject_template_name = "accounts/mail/password_reset_subject.txt"
    extra_email_context = {"base_url": settings.BASE_URL}

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        ip = client_ip(self.request)
        wait = ratelimit.take(
            [
                (
                    ratelimit.Limit(
                        "reset-address",
                        settings.PASSWORD_RESET_MAILS_PER_ADDRESS_PER_DAY,
                        ratelimit.DAY,
                    ),
                    f"reset:{email}",
                ),
                (
                    ratelimit.Limit(
                        "reset-ip", settings.PASSWORD_RESET_MAILS_PER_IP_PER_DAY, ratelimit.DAY
                    ),
                    f"reset-ip:{limit_subject(ip)}",
                ),
            ]
        )
        if wait is None:
            for user in form.get_users(email):
                services.record_account_event(
                    "auth.password_reset_requested",
                    user=user,
                    actor=Actor(user=None, label=email, ip=ip),
                )
            response: HttpResponse = super().form_valid(form)
            return response
        return redirect(self.success_url)  # the same answer: nothing tells what happened


class StaffPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class StaffPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "kern-form-input__input"
        return form

    def form_valid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_valid(form)
        services.end_sessions(form.user)
        services.record_account_event(
            "auth.password_reset",
            user=form.user,
            actor=Actor(user=form.user, label=form.user.email, ip=client_ip(self.request)),
        )
        return response


class StaffPasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class StaffLogoutView(auth_views.LogoutView):
    pass


@never_cache
def invitation(request: HttpRequest, token: str) -> HttpResponseBase:
    """The mailed link: remembers the invitation in the session and drops the token from
    the address bar (no token in history, referrers or logs)."""
    found = services.invitation_for_token(token)
    if found is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    request.session[INVITATION_KEY] = found.pk
    response = redirect("accounts:invitation_accept")
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    from django_scopes import scopes_disabled

    from ablesung.accounts.models import Invitation

    invitation_id = request.session.get(INVITATION_KEY)
    with scopes_disabled():
        found = (
            Invitation.objects.select_related("organisation").filter(pk=invitation_id).first()
            if invitation_id
            else None
        )
    if found is None or not found.is_pending:
        request.session.pop(INVITATION_KEY, None)
        return render(request, "accounts/invitation_invalid.html", status=404)
    existing = User.objects.filter(email__iexact=found.email).first()
    has_account = existing is not None and existing.has_usable_password()
    signed_in_as_invitee = (
        existing is not None
        and has_account
        and request.user.is_authenticated
        and request.user.pk == existing.pk
    )
    form = NewPasswordForm(request.POST or None, user=existing or User(email=found.email))
    context = {
        "invitation": found,
        "form": form,
        "has_account": has_account,
        "signed_in": signed_in_as_invitee,
    }
    if request.method == "POST":
        actor = Actor(user=None, label=found.email, ip=client_ip(request))
        try:
            if has_account:
                if not signed_in_as_invitee:
                    return render(request, "accounts/invitation_accept.html", context)
                user = services.do_accept_invitation(
                    found.pk, password=None, existing_user=existing, actor=actor
                )
            elif form.is_valid():
                user = services.do_accept_invitation(
                    found.pk,
                    password=form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"],
                    actor=actor,
                )
            else:
                return render(request, "accounts/invitation_accept.html", context)
        except ValidationError as error:
            form.add_error("password1", error)
            return render(request, "accounts/invitation_accept.html", context)
        except services.AccountError as error:
            messages.error(request, str(error))
            return render(request, "accounts/invitation_accept.html", context)
        request.session.pop(INVITATION_KEY, None)
        if not signed_in_as_invitee:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        if twofactor.two_factor_required(user) and not twofactor.has_two_factor(user):
            request.session[SETUP_REQUIRED_KEY] = True
            request.session[PENDING_NEXT_KEY] = reverse(
                "backend:dashboard", kwargs={"org": found.organisation.slug}
            )
            return redirect("accounts:two_factor_setup")
        messages.success(
            request,
            _("Willkommen! Sie sind jetzt Mitglied von %(name)s.")
            % {"name": found.organisation.name},
        )
        return redirect("backend:dashboard", org=found.organisation.slug)
    return render(request, "accounts/invitation_accept.html", context)


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("accounts:choose_organisation")


@never_cache
@login_required
def choose_organisation(request: HttpRequest) -> HttpResponse:
    """The organisation switcher: one membership goes straight in, several are listed."""
    memberships = memberships_of(request.user)
    wanted = request.GET.get("org", "")
    slugs = {m.organisation.slug for m in memberships}
    if wanted in slugs:
        return redirect("backend:dashboard", org=wanted)
    if len(memberships) == 1 and "org" not in request.GET:
        return redirect("backend:dashboard", org=memberships[0].organisation.slug)
    return render(request, "accounts/choose_organisation.html", {"memberships": memberships})
