"""The dashboard: what needs attention first."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from legalops.web.access import staff_required


@staff_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})
