from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from ablesung.accounts.models import User


class EmailUserCreationForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = ("email", "full_name", "is_active", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    add_form = EmailUserCreationForm
    form = EmailUserChangeForm
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_superuser", "last_login")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_superuser")
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Rechte", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Daten", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()
