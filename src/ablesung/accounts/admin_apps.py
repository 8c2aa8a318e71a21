from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    """The operator's Django admin, signing in through the staff login (throttled, 2FA)."""

    default_site = "ablesung.accounts.admin_site.OperatorAdminSite"
