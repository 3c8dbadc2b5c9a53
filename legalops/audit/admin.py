"""Read-only admin: nobody adds, changes or deletes audit rows through Django."""

from django.contrib import admin
from django.http import HttpRequest

from legalops.audit.models import AuditAnchor, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["=object_id", "=actor_label", "action"]
    ordering = ["-seq"]
    # COUNT(*) over a long log on every page load is not worth the exact total.
    show_full_result_count = False
    list_per_page = 100


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    list_display = ["id", "seq", "hash"]
