"""The outbox in the operator's admin: given-up mails are the visible alert."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ablesung.mail.models import OutboxMail
from ablesung.mail.services import do_retry_given_up_mails


class StatusFilter(admin.SimpleListFilter):
    title = _("Status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("waiting", _("wartet")),
            ("sent", _("gesendet")),
            ("failed", _("aufgegeben")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "waiting":
            return queryset.filter(sent_at__isnull=True, failed_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


STATUS_LABELS = {"waiting": _("wartet"), "sent": _("gesendet"), "failed": _("aufgegeben")}


@admin.register(OutboxMail)
class OutboxMailAdmin(admin.ModelAdmin[OutboxMail]):
    list_display = (
        "created_at",
        "status_label",
        "key",
        "to",
        "subject",
        "organisation",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = (StatusFilter, "organisation", "created_at")
    search_fields = ("key", "to", "subject")
    ordering = ("-created_at", "-id")
    list_select_related = ("organisation",)
    actions = ("retry_given_up",)

    @admin.display(description=_("Status"))
    def status_label(self, obj: OutboxMail) -> str:
        return str(STATUS_LABELS[obj.status])

    def get_readonly_fields(self, request: HttpRequest, obj: OutboxMail | None = None) -> Any:
        return [field.name for field in OutboxMail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Aufgegebene E-Mails erneut versuchen"))
    def retry_given_up(self, request: HttpRequest, queryset: QuerySet[OutboxMail]) -> None:
        ids = do_retry_given_up_mails(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d E-Mail wird erneut versucht.",
                "%(count)d E-Mails werden erneut versucht.",
                len(ids),
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )
