"""The header navigation: one list, each entry shown to the roles that may open it.

To add a page to the header, append a ``NavItem`` here naming its URL (in the
``web`` namespace). An entry whose URL is not wired yet is left out, not an error.
"""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from legalops.accounts.roles import STAFF_ROLES
from legalops.web.access import CASE_ROLES, staff_roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...] = STAFF_ROLES


NAV_ITEMS: list[NavItem] = [
    NavItem("Dashboard", "web:dashboard"),
    NavItem("Requests", "web:request-list", CASE_ROLES),
    NavItem("New request", "web:request-new", CASE_ROLES),
    NavItem("Holds", "web:holds", CASE_ROLES),
    NavItem("Log search", "web:logsearch", CASE_ROLES),
    NavItem("Transparency", "web:transparency", CASE_ROLES),
    NavItem("Audit", "web:audit", ("custodian", "admin")),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``nav_items`` as (label, url, is_current) for this user."""
    roles = staff_roles(getattr(request, "user", None))
    if not roles:
        return {"nav_items": [], "staff_roles": roles}
    items = []
    for item in NAV_ITEMS:
        if not roles & set(item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "current": False})
    # The longest matching prefix is the current page: /requests/new/ is "New request",
    # not also "Requests".
    matches = [i for i in items if request.path == i["url"] or request.path.startswith(i["url"])]
    matches = [i for i in matches if i["url"] != "/" or request.path == "/"]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["current"] = True
    return {"nav_items": items, "staff_roles": roles}
