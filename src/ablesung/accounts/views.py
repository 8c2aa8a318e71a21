from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from ablesung.accounts.forms import StaffLoginForm
from ablesung.core.scoping import memberships_of


class StaffLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


class StaffLogoutView(LogoutView):
    pass


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
