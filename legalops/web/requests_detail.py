"""One request: everything on it, and the review, callback, package and release
actions. Each action calls one service; a refusal comes back in words."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from legalops.api_errors import Conflict
from legalops.audit.selectors import audit_events_for
from legalops.cases.models import LegalRequest, RequestDocument, Status
from legalops.cases.nondisclosure import nondisclosure_confirm
from legalops.cases.notice import nondisclosure_order_current, notice_for
from legalops.cases.review import (
    Decision,
    emergency_is_verified,
    emergency_verify,
    request_claim,
    request_review,
)
from legalops.cases.rules import COMPULSORY
from legalops.cases.scope import ScopeError
from legalops.cases.selectors import request_get_for_user
from legalops.cases.services import IntakeError, document_open
from legalops.cases.workflow import refusal_for_status
from legalops.disclosures.models import Package, PackageStatus
from legalops.disclosures.services import (
    PackageIntegrityError,
    package_open,
    package_regenerate,
    package_release,
)
from legalops.web.access import CASE_ROLES, staff_required, user_may_open
from legalops.web.refusals import refusal_words
from legalops.web.review_forms import (
    NondisclosureForm,
    ReviewForm,
    VerificationForm,
    review_base,
)
from lookups.selectors import count_in_scope

NOTICE_WORDS = {
    "notify_before_disclosure": "The account holder is told before anything is disclosed.",
    "notify_on_delivery": "The account holder is told when the records are delivered.",
    "delayed_until": "Notice is delayed by a non-disclosure order until {until}.",
    "delayed_indefinitely": (
        "Notice is delayed indefinitely ('until further order'): flag the order for challenge."
    ),
    "after_emergency": "The account holder is told once the emergency has passed.",
    "not_required": "No notice: a preservation discloses nothing.",
}
POLLING = {PackageStatus.QUEUED, PackageStatus.PROCESSING}
REVIEWABLE = frozenset({Status.RECEIVED, Status.IN_REVIEW, Status.AWAITING_SECOND_APPROVAL})


def _package(legal_request: LegalRequest) -> Package | None:
    return Package.objects.filter(request=legal_request).select_related("released_by").first()


def _dry_run(base: Any) -> int | None:
    if base is None:
        return None
    return count_in_scope(
        identifiers=base.identifiers,
        date_from=base.date_from,
        date_to=base.date_to,
        direction=base.direction,
    )


def _page(
    request: HttpRequest,
    legal_request: LegalRequest,
    *,
    review_form: ReviewForm | None = None,
    verification_form: VerificationForm | None = None,
    nondisclosure_form: NondisclosureForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    base = review_base(request=legal_request)
    notice = notice_for(request=legal_request)
    emergency = legal_request.process_type == "emergency"
    context = {
        "r": legal_request,
        "identifiers": list(legal_request.identifiers.all()),
        "findings": list(legal_request.findings.all()),
        "documents": list(legal_request.documents.all()),
        "messages_to_agency": list(legal_request.messages.all()),
        "approvals": [a for a in legal_request.approvals.all() if a.cleared_at is None],
        "notice": notice,
        "notice_words": NOTICE_WORDS.get(notice.state, notice.state).format(until=notice.until),
        "base": base,
        "dry_run": _dry_run(base),
        "timeline": list(audit_events_for(target=legal_request)),
        "package": _package(legal_request),
        "polling": POLLING,
        "review_form": review_form or ReviewForm(request=legal_request, base=base),
        "reviewable": legal_request.status in REVIEWABLE,
        "emergency": emergency,
        "verified": emergency and emergency_is_verified(request=legal_request),
        "verifications": list(legal_request.verifications.all()) if emergency else [],
        "verification_form": verification_form or VerificationForm(),
        # Only compulsory process carries a 2705(b) order; the agency's ask is not one.
        "ndo_applicable": legal_request.process_type in COMPULSORY,
        "ndo_order": nondisclosure_order_current(request=legal_request),
        "nondisclosure_form": nondisclosure_form or NondisclosureForm(request=legal_request),
        "refusal": refusal,
        "is_custodian": user_may_open(request.user, ("custodian",)),
    }
    return render(request, "web/requests/detail.html", context, status=status)


@staff_required(*CASE_ROLES)
def request_detail(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    return _page(request, legal_request)


@require_POST
@staff_required(*CASE_ROLES)
def request_review_submit(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    if legal_request.status not in REVIEWABLE:
        # No form on the page to put errors next to: the state machine's own words.
        action = {"reject": "reject", "request_info": "request_info"}.get(
            request.POST.get("decision", ""), "approve_first"
        )
        refusal = refusal_words(refusal_for_status(request=legal_request, action=action))
        return _page(request, legal_request, refusal=refusal, status=409)
    form = ReviewForm(request.POST, request=legal_request, base=review_base(request=legal_request))
    if not form.is_valid():
        return _page(request, legal_request, review_form=form, status=400)
    data = form.cleaned_data
    decision = Decision(
        decision=data["decision"],
        reason=data["reason"],
        scope=form.proposal(),
        narrowing_basis=data.get("narrowing_basis", ""),
        good_faith_facts=data.get("good_faith_facts", ""),
    )
    try:
        reviewed = request_review(request=legal_request, actor=request.user, decision=decision)
    except Conflict as exc:
        return _page(
            request, legal_request, review_form=form, refusal=refusal_words(exc), status=409
        )
    except (IntakeError, ScopeError) as exc:
        form.add_service_errors(dict(exc.errors))
        return _page(request, legal_request, review_form=form, status=400)
    done = {
        "approve": f"Approved. {reviewed.number} is now {reviewed.status.replace('_', ' ')}.",
        "reject": f"Rejected {reviewed.number}; the agency is told why.",
        "request_info": f"Question sent to the agency; the clock of {reviewed.number} is paused.",
    }
    messages.success(request, done[data["decision"]])
    return redirect("web:request-detail", request_id=legal_request.id)


@require_POST
@staff_required(*CASE_ROLES)
def request_verification_submit(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    form = VerificationForm(request.POST)
    if not form.is_valid():
        return _page(request, legal_request, verification_form=form, status=400)
    try:
        emergency_verify(request=legal_request, actor=request.user, **form.cleaned_data)
    except Conflict as exc:
        return _page(
            request, legal_request, verification_form=form, refusal=refusal_words(exc), status=409
        )
    except IntakeError as exc:
        form.add_service_errors(dict(exc.errors))
        return _page(request, legal_request, verification_form=form, status=400)
    if emergency_is_verified(request=legal_request):
        messages.success(request, "Call recorded: the emergency is verified.")
    else:
        messages.warning(
            request,
            "Call recorded, but it does not verify the emergency: it must be confirmed, on a "
            "number from the agency directory that is not the request's own contact number.",
        )
    return redirect("web:request-detail", request_id=legal_request.id)


@require_POST
@staff_required(*CASE_ROLES)
def request_nondisclosure_submit(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    form = NondisclosureForm(request.POST, request=legal_request)
    if not form.is_valid():
        return _page(request, legal_request, nondisclosure_form=form, status=400)
    data = form.cleaned_data
    try:
        order = nondisclosure_confirm(
            request=legal_request,
            actor=request.user,
            document=UUID(data["document"]),
            until=data["until"],
            indefinite=data["indefinite"],
        )
    except Conflict as exc:
        return _page(
            request, legal_request, nondisclosure_form=form, refusal=refusal_words(exc), status=409
        )
    except IntakeError as exc:
        form.add_service_errors(dict(exc.errors))
        return _page(request, legal_request, nondisclosure_form=form, status=400)
    term = "until further order" if order.indefinite else f"until {order.until:%Y-%m-%d}"
    messages.success(request, f"Non-disclosure order confirmed: notice is delayed {term}.")
    return redirect("web:request-detail", request_id=legal_request.id)


@require_POST
@staff_required(*CASE_ROLES)
def request_claim_submit(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    try:
        request_claim(request=legal_request, actor=request.user)
    except Conflict as exc:
        messages.error(request, refusal_words(exc))
    else:
        messages.success(request, f"{legal_request.number} is in review.")
    return redirect("web:request-detail", request_id=legal_request.id)


@require_POST
@staff_required(*CASE_ROLES)
def request_package_regenerate(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """A failed package goes back to the queue (failed -> approved)."""
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    try:
        package_regenerate(request=legal_request, actor=request.user)
    except Conflict as exc:
        messages.error(request, refusal_words(exc))
    else:
        messages.success(request, "The package job is queued again.")
    return redirect("web:request-detail", request_id=legal_request.id)


@staff_required(*CASE_ROLES)
def request_package_panel(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The package panel alone: what the progress bar polls (HTML, not the JSON API)."""
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    return render(
        request,
        "web/requests/_package.html",
        {
            "r": legal_request,
            "package": _package(legal_request),
            "polling": POLLING,
            "is_custodian": user_may_open(request.user, ("custodian",)),
        },
    )


@staff_required(*CASE_ROLES)
def request_document_open(
    request: HttpRequest, request_id: UUID, document_id: UUID
) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    try:
        document = legal_request.documents.get(pk=document_id)
    except RequestDocument.DoesNotExist as exc:
        raise Http404("No such document.") from exc
    response = FileResponse(
        document_open(document=document, actor=request.user),
        content_type="application/pdf",
        filename=document.name,
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required(*CASE_ROLES)
def request_package_pdf(request: HttpRequest, request_id: UUID) -> HttpResponse:
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    package = _package(legal_request)
    if package is None or package.status not in {PackageStatus.READY, PackageStatus.RELEASED}:
        raise Http404("The package is not ready.")
    try:
        package, stream = package_open(request=legal_request, actor=request.user)
    except PackageIntegrityError:
        messages.error(
            request,
            "The stored package failed its integrity check and was not sent. Regenerate it "
            "and tell the custodian of records.",
        )
        return redirect("web:request-detail", request_id=legal_request.id)
    response = FileResponse(
        stream,
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{legal_request.number}.pdf",
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required("custodian")
def request_release(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """GET: the confirmation page (the certificate is signed in your name); POST: release."""
    legal_request = request_get_for_user(user=request.user, request_id=request_id)
    package = _package(legal_request)
    if package is None:
        raise Http404("No package yet.")
    if request.method == "POST":
        try:
            package_release(request=legal_request, actor=request.user)
        except Conflict as exc:
            messages.error(request, refusal_words(exc))
            return redirect("web:request-detail", request_id=legal_request.id)
        messages.success(
            request,
            f"Released {legal_request.number}. The certificate is signed in your name and the "
            "agency is told it can download the production.",
        )
        return redirect("web:request-detail", request_id=legal_request.id)
    signer = request.user.get_full_name() or request.user.get_username()
    return render(
        request,
        "web/requests/release.html",
        {
            "r": legal_request,
            "package": package,
            "signer": signer,
            "detail_url": reverse("web:request-detail", kwargs={"request_id": legal_request.id}),
        },
    )
