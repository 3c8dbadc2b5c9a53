from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from legalops.accounts.models import Agency, ApiToken, Officer
from legalops.accounts.services import token_revoke


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "created_at"]
    search_fields = ["name"]


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = ["user", "agency"]
    list_select_related = ["user", "agency"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by the management commands (the key is shown once there);
    the admin lists them and revokes them."""

    list_display = [
        "key_hint",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    readonly_fields = ["key_hint", "user", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = sum(token_revoke(token=token) for token in queryset)
        self.message_user(request, f"Revoked {count} token(s).")
