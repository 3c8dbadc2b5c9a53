"""Reads for legal requests. The one access path for request code: tenancy lives here."""

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from legalops.accounts.roles import user_is_officer, user_is_reviewing_staff
from legalops.cases.models import LegalRequest, RequestFinding
from legalops.cases.rules import Audience

User = AbstractBaseUser | AnonymousUser


def request_list_for_user(*, user: User) -> QuerySet[LegalRequest]:
    """Officers see their agency's requests; reviewing staff see all; others none."""
    queryset = LegalRequest.objects.select_related("agency", "hold", "package").prefetch_related(
        "identifiers", "documents", "messages", "approvals__by", "nondisclosure_orders__document"
    )
    if user_is_reviewing_staff(user):
        findings = RequestFinding.objects.all()
    elif user_is_officer(user):
        queryset = queryset.filter(agency_id=user.officer.agency_id)  # type: ignore[union-attr]
        # An agency never sees internal findings: filtered here, not in the view.
        findings = RequestFinding.objects.filter(audience=Audience.AGENCY)
    else:
        return LegalRequest.objects.none()
    return queryset.prefetch_related(Prefetch("findings", queryset=findings))


def request_get_for_user(*, user: User, request_id: UUID | str) -> LegalRequest:
    """The request if this user may see it; otherwise 404 (its existence is not
    disclosed to another agency)."""
    try:
        return request_list_for_user(user=user).get(pk=request_id)
    except (LegalRequest.DoesNotExist, ValueError) as exc:
        raise Http404("No such request.") from exc
