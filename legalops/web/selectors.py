"""Reads for the staff pages, built on the cases selectors (tenancy stays there)."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from legalops.cases.models import SETTLED_STATUSES, LegalRequest, RequestApproval, Status
from legalops.cases.rules import ProcessType
from legalops.cases.selectors import request_list_for_user


@dataclass(frozen=True)
class Dashboard:
    counts: list[tuple[str, int]]
    urgent: list[LegalRequest]  # open emergencies and overdue requests, soonest due first
    my_first_approvals: list[LegalRequest]  # I approved; a second staff member must
    second_needed: list[LegalRequest]  # someone else approved; mine would be the second
    ready_for_release: list[LegalRequest]


def _open(queryset: QuerySet[LegalRequest]) -> QuerySet[LegalRequest]:
    return queryset.exclude(status__in=SETTLED_STATUSES)


def dashboard_for(*, user: AbstractBaseUser) -> Dashboard:
    requests = request_list_for_user(user=user)
    by_status = dict(
        requests.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    counts = [(status.value, by_status.get(status.value, 0)) for status in Status]
    now = timezone.now()
    urgent = list(
        _open(requests)
        .filter(
            Q(process_type=ProcessType.EMERGENCY) | Q(due_at__lt=now, clock_paused_at__isnull=True)
        )
        .order_by("due_at")[:50]
    )
    awaiting = requests.filter(status=Status.AWAITING_SECOND_APPROVAL)
    mine = RequestApproval.objects.filter(by=user, cleared_at__isnull=True).values("request_id")
    return Dashboard(
        counts=counts,
        urgent=urgent,
        my_first_approvals=list(awaiting.filter(pk__in=mine).order_by("due_at")),
        second_needed=list(
            awaiting.exclude(pk__in=mine).exclude(submitted_by=user).order_by("due_at")
        ),
        ready_for_release=list(requests.filter(status=Status.READY).order_by("due_at")),
    )
