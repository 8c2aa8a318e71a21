from django.urls import path

from ablesung.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("konto/anmelden/", views.StaffLoginView.as_view(), name="login"),
    path("konto/anmelden/zweiter-faktor/", views.second_factor, name="second_factor"),
    path("konto/abmelden/", views.StaffLogoutView.as_view(), name="logout"),
    path("konto/", views.account_security, name="security"),
    path("konto/zwei-faktor/einrichten/", views.two_factor_setup, name="two_factor_setup"),
    path(
        "konto/zwei-faktor/wiederherstellungscodes/",
        views.renew_recovery_codes,
        name="renew_recovery_codes",
    ),
    path("konto/passwort/", views.StaffPasswordChangeView.as_view(), name="password_change"),
    path(
        "konto/passwort/vergessen/",
        views.StaffPasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "konto/passwort/vergessen/gesendet/",
        views.StaffPasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "konto/passwort/neu/<uidb64>/<token>/",
        views.StaffPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "konto/passwort/neu/fertig/",
        views.StaffPasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("konto/einladung/", views.invitation_accept, name="invitation_accept"),
    path("konto/einladung/<str:token>/", views.invitation, name="invitation"),
    path("o/", views.choose_organisation, name="choose_organisation"),
]
