"""The dashboard: what needs attention first."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from legalops.web.access import CASE_ROLES, staff_required, user_may_open
from legalops.web.selectors import dashboard_for


@staff_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    # Admins manage accounts, not cases: their dashboard has no request lists.
    board = dashboard_for(user=request.user) if user_may_open(request.user, CASE_ROLES) else None
    return render(
        request,
        "web/dashboard.html",
        {"board": board, "is_custodian": user_may_open(request.user, ("custodian",))},
    )
