"""The requests, documents, agencies and holds endpoints (API.md). Views stay thin:
validate, call one service or selector, present."""

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from legalops.accounts.models import Agency
from legalops.accounts.roles import user_is_officer, user_is_reviewing_staff
from legalops.api_errors import ERROR_RESPONSES
from legalops.cases.models import LegalRequest, RequestDocument
from legalops.cases.nondisclosure import nondisclosure_confirm
from legalops.cases.review import (
    Decision,
    deadline_extend,
    emergency_verify,
    request_answer,
    request_claim,
    request_review,
    request_withdraw,
)
from legalops.cases.selectors import request_get_for_user, request_list_for_user
from legalops.cases.serializers import (
    AgencySerializer,
    DocumentUploadSerializer,
    ExtensionSerializer,
    HoldSerializer,
    NondisclosureSerializer,
    ReasonSerializer,
    RequestAmendSerializer,
    RequestCreateSerializer,
    RequestSerializer,
    ReviewSerializer,
    VerificationSerializer,
)
from legalops.cases.services import (
    MAX_DOCUMENT_BYTES,
    IntakeError,
    document_add,
    document_open,
    preservation_renew,
    request_hold_release,
    request_submit,
)
from lookups.models import Hold


class IsOfficerOrStaff(BasePermission):
    message = "Only agency officers and legal staff may use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_officer(request.user) or user_is_reviewing_staff(request.user)


class IsReviewingStaff(BasePermission):
    message = "Only legal staff (reviewers and custodians) may use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_reviewing_staff(request.user)


class IsOfficer(BasePermission):
    message = "Only the agency that filed the request may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_officer(request.user)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


RequestPageSerializer = inline_serializer(
    name="RequestPage",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": RequestSerializer(many=True),
    },
)


class CommaSeparatedChoices(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class RequestFilter(django_filters.FilterSet):
    status = CommaSeparatedChoices(field_name="status", lookup_expr="in")
    process_type = django_filters.CharFilter(field_name="process_type")
    received_after = django_filters.DateFilter(field_name="received_at", lookup_expr="date__gte")
    received_before = django_filters.DateFilter(field_name="received_at", lookup_expr="date__lte")

    class Meta:
        model = LegalRequest
        fields = ["status", "process_type", "received_after", "received_before"]


def _intake_error(exc: IntakeError) -> ValidationError:
    return ValidationError(exc.errors)


class RequestListView(APIView):
    permission_classes = [IsOfficerOrStaff]
    throttle_scope = "intake"

    def get_throttles(self) -> list[Any]:
        # Intake is throttled; reading one's own list is not.
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="requests_list",
        parameters=[
            OpenApiParameter("status", str, description="one or more statuses, comma-separated"),
            OpenApiParameter("process_type", str),
            OpenApiParameter("received_after", OpenApiTypes.DATE, description="inclusive"),
            OpenApiParameter("received_before", OpenApiTypes.DATE, description="inclusive"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="at most 200"),
        ],
        responses={200: RequestPageSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        queryset: QuerySet[LegalRequest] = request_list_for_user(user=request.user)
        filtered = RequestFilter(request.query_params, queryset=queryset)
        if not filtered.is_valid():
            raise ValidationError(filtered.errors)
        paginator = Pagination()
        page = paginator.paginate_queryset(filtered.qs.order_by("-received_at", "id"), request)
        return paginator.get_paginated_response(
            RequestSerializer(page, many=True, context=_viewer(request)).data
        )

    @extend_schema(
        operation_id="requests_create",
        request=RequestCreateSerializer,
        responses={201: RequestSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agency = self._filing_agency(request, serializer.validated_data.get("agency"))
        try:
            created = request_submit(
                submitter=request.user, agency=agency, data=serializer.to_request_input()
            )
        except IntakeError as exc:
            raise _intake_error(exc) from exc
        shown = request_get_for_user(user=request.user, request_id=created.id)
        return _shown(request, shown.id, status.HTTP_201_CREATED)

    @staticmethod
    def _filing_agency(request: Request, agency_id: Any) -> Agency:
        if user_is_officer(request.user):
            own = request.user.officer.agency
            if agency_id is not None and agency_id != own.id:
                raise ValidationError({"agency": ["Officers file for their own agency only."]})
            return own
        if agency_id is None:
            raise ValidationError({"agency": ["Staff filing paper process must name the agency."]})
        try:
            return Agency.objects.get(pk=agency_id)
        except Agency.DoesNotExist as exc:
            raise ValidationError({"agency": ["No such agency."]}) from exc


def _shown(request: Request, legal_request_id: Any, status_code: int = 200) -> Response:
    """The request as this user may see it, after an action (fresh from the selector)."""
    shown = request_get_for_user(user=request.user, request_id=legal_request_id)
    return Response(RequestSerializer(shown, context=_viewer(request)).data, status=status_code)


def _viewer(request: Request) -> dict[str, bool]:
    # Default to the agency's view: staff-only parts appear only when we know it is staff.
    return {"agency_view": not user_is_reviewing_staff(request.user)}


class RequestDetailView(APIView):
    permission_classes = [IsOfficerOrStaff]

    @extend_schema(
        operation_id="requests_retrieve", responses={200: RequestSerializer, **ERROR_RESPONSES}
    )
    def get(self, request: Request, request_id: str) -> Response:
        return _shown(request, request_id)

    @extend_schema(
        operation_id="requests_amend",
        request=RequestAmendSerializer,
        responses={200: RequestSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        if not user_is_officer(request.user):
            raise PermissionDenied("Only the agency answers its own request's questions.")
        serializer = RequestAmendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            request_answer(
                request=legal_request,
                actor=request.user,
                changes=serializer.changes(),
                answer=serializer.validated_data.get("answer", ""),
            )
        except IntakeError as exc:
            raise _intake_error(exc) from exc
        return _shown(request, legal_request.id)


class _RequestAction(APIView):
    """POST /requests/{id}/<action>/: validate the body, call one service."""

    body: type | None = None

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        data: dict[str, Any] = {}
        if self.body is not None:
            serializer = self.body(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            data["_raw"] = serializer.initial_data
        try:
            self.act(request, legal_request, data)
        except IntakeError as exc:
            raise _intake_error(exc) from exc
        return _shown(request, legal_request.id)


def _action_schema(operation_id: str, body: type | None) -> Any:
    return extend_schema(
        operation_id=operation_id,
        request=body,
        responses={200: RequestSerializer, **ERROR_RESPONSES},
    )


class RequestReviewView(_RequestAction):
    permission_classes = [IsReviewingStaff]
    body = ReviewSerializer

    @_action_schema("requests_review", ReviewSerializer)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        decision = Decision(
            decision=data["decision"],
            reason=data["reason"],
            scope=data["_raw"].get("scope") if "scope" in data else None,
            narrowing_basis=data["narrowing_basis"],
            good_faith_facts=data["good_faith_facts"],
        )
        request_review(request=legal_request, actor=request.user, decision=decision)


class RequestClaimView(_RequestAction):
    permission_classes = [IsReviewingStaff]

    @_action_schema("requests_claim", None)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        request_claim(request=legal_request, actor=request.user)


class RequestWithdrawView(_RequestAction):
    permission_classes = [IsOfficer]

    @_action_schema("requests_withdraw", None)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        request_withdraw(request=legal_request, actor=request.user)


class RequestVerificationView(_RequestAction):
    permission_classes = [IsReviewingStaff]
    body = VerificationSerializer

    @_action_schema("requests_verification", VerificationSerializer)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        data.pop("_raw")
        emergency_verify(request=legal_request, actor=request.user, **data)


class RequestExtensionView(_RequestAction):
    permission_classes = [IsReviewingStaff]
    body = ExtensionSerializer

    @_action_schema("requests_extension", ExtensionSerializer)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        data.pop("_raw")
        deadline_extend(request=legal_request, actor=request.user, **data)


class RequestNondisclosureView(_RequestAction):
    permission_classes = [IsReviewingStaff]
    body = NondisclosureSerializer

    @_action_schema("requests_nondisclosure", NondisclosureSerializer)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        data.pop("_raw")
        nondisclosure_confirm(request=legal_request, actor=request.user, **data)


class RequestRenewView(_RequestAction):
    permission_classes = [IsOfficer]

    @_action_schema("requests_renew", None)
    def post(self, request: Request, request_id: str) -> Response:
        return super().post(request, request_id)

    def act(self, request: Request, legal_request: LegalRequest, data: dict[str, Any]) -> None:
        preservation_renew(request=legal_request, actor=request.user)


class RequestDocumentsView(APIView):
    permission_classes = [IsOfficerOrStaff]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="requests_documents_create",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: RequestSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Attach the PDF in the multipart field 'file'."]})
        fields = DocumentUploadSerializer(data=request.data)
        fields.is_valid(raise_exception=True)
        if upload.size and upload.size > MAX_DOCUMENT_BYTES:
            return Response(
                {"detail": f"The file is larger than {MAX_DOCUMENT_BYTES // 2**20} MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            document_add(
                request=legal_request,
                uploader=request.user,
                name=upload.name or "",
                data=upload.read(),
                supersedes=fields.validated_data["supersedes"],
            )
        except IntakeError as exc:
            raise _intake_error(exc) from exc
        shown = request_get_for_user(user=request.user, request_id=legal_request.id)
        return _shown(request, shown.id, status.HTTP_201_CREATED)


class RequestDocumentFileView(APIView):
    """Staff open the uploaded process; the file never has a public URL."""

    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="requests_documents_file",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERROR_RESPONSES},
    )
    def get(self, request: Request, request_id: str, document_id: str) -> FileResponse:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        try:
            document = legal_request.documents.get(pk=document_id)
        except (RequestDocument.DoesNotExist, ValueError) as exc:
            raise Http404("No such document.") from exc
        response = FileResponse(
            document_open(document=document, actor=request.user),
            content_type="application/pdf",
            filename=document.name,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class AgencyListView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="agencies_list",
        responses={200: AgencySerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        agencies = Agency.objects.order_by("name")
        return Response([{"id": str(a.id), "name": a.name, "country": a.country} for a in agencies])


class HoldListView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="holds_list", responses={200: HoldSerializer(many=True), **ERROR_RESPONSES}
    )
    def get(self, request: Request) -> Response:
        holds = (
            Hold.objects.active().prefetch_related("identifiers", "requests").order_by("created_at")
        )
        return Response(HoldSerializer(holds, many=True).data)


class HoldReleaseView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="holds_release",
        request=ReasonSerializer,
        responses={200: HoldSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, hold_id: str) -> Response:
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            hold = Hold.objects.get(pk=hold_id)
        except (Hold.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise Http404("No such hold.") from exc
        try:
            released = request_hold_release(
                hold=hold, actor=request.user, reason=serializer.validated_data["reason"]
            )
        except IntakeError as exc:
            raise _intake_error(exc) from exc
        return Response(HoldSerializer(released).data)
