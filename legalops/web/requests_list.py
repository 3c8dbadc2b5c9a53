"""The request list: filters, search by number or reference, pages, sort by due date."""

import django_filters
from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from legalops.accounts.models import Agency
from legalops.cases.models import LegalRequest, Status
from legalops.cases.rules import ProcessType
from legalops.cases.selectors import request_list_for_user
from legalops.web.access import CASE_ROLES, staff_required
from legalops.web.forms import UswdsForm

PAGE_SIZE = 25
SORTS = {
    "-received": ("-received_at", "id"),
    "due": ("due_at", "id"),
    "-due": ("-due_at", "id"),
    "received": ("received_at", "id"),
}
SORT_LABELS = {
    "-received": "Newest first",
    "due": "Due soonest first",
    "-due": "Due latest first",
    "received": "Oldest first",
}
_DATE = forms.DateInput(attrs={"type": "date"})


class RequestListFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Number or reference",
        help_text="e.g. LR-2026-000042 or 3:26-mj-01422",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.value.replace("_", " ")) for s in Status],
        widget=forms.CheckboxSelectMultiple,
    )
    process_type = django_filters.ChoiceFilter(
        choices=ProcessType.choices, label="Process type", empty_label="Any"
    )
    agency = django_filters.ModelChoiceFilter(
        queryset=Agency.objects.order_by("name"), empty_label="Any"
    )
    received_after = django_filters.DateFilter(
        field_name="received_at",
        lookup_expr="date__gte",
        label="Received on or after",
        widget=_DATE,
    )
    received_before = django_filters.DateFilter(
        field_name="received_at",
        lookup_expr="date__lte",
        label="Received on or before",
        widget=_DATE,
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORT_LABELS.items()), method="order", label="Sort", empty_label=None
    )

    class Meta:
        model = LegalRequest
        fields = ["q", "status", "process_type", "agency", "received_after", "received_before"]
        form = UswdsForm

    def search(self, queryset: QuerySet[LegalRequest], name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__iexact=value) | Q(reference__icontains=value))

    def order(self, queryset: QuerySet[LegalRequest], name: str, value: str) -> QuerySet:
        return queryset.order_by(*SORTS.get(value, SORTS["-received"]))


@staff_required(*CASE_ROLES)
def request_list(request: HttpRequest) -> HttpResponse:
    requests = request_list_for_user(user=request.user).order_by(*SORTS["-received"])
    filtered = RequestListFilter(request.GET or None, queryset=requests)
    rows = filtered.qs if filtered.is_bound else requests
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "web/requests/list.html",
        {"filter": filtered, "page": page, "query": keep.urlencode()},
    )
