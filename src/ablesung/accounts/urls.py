from django.urls import path

from ablesung.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("konto/anmelden/", views.StaffLoginView.as_view(), name="login"),
    path("konto/abmelden/", views.StaffLogoutView.as_view(), name="logout"),
    path("o/", views.choose_organisation, name="choose_organisation"),
]
