"""Django admin for the operator: organisations and their members (scopes disabled there)."""

from django.contrib import admin

from ablesung.core.models import AuditEntry, Membership, Organisation


class MembershipInline(admin.TabularInline[Membership, Organisation]):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("name", "slug", "is_active", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        instances = formset.save(commit=False)
        for instance in instances:
            instance.organisation = form.instance
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = (
        "created_at",
        "action",
        "organisation",
        "actor_label",
        "object_type",
        "client_ip",
    )
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "object_id")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
