"""Package endpoints (API.md "Disclosure packages")."""

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from legalops.accounts.roles import Role, user_has_role, user_is_officer
from legalops.api_errors import ERROR_RESPONSES
from legalops.cases.api import IsOfficerOrStaff, IsReviewingStaff, _shown
from legalops.cases.models import LegalRequest
from legalops.cases.selectors import request_get_for_user
from legalops.cases.serializers import utc_iso
from legalops.disclosures.models import Package, PackageStatus
from legalops.disclosures.services import (
    PackageIntegrityError,
    package_open,
    package_regenerate,
    package_release,
)

_AGENCY_VISIBLE = {PackageStatus.RELEASED}

PackageSerializer = inline_serializer(
    name="Package",
    fields={
        "status": serializers.ChoiceField(choices=PackageStatus.choices),
        "kind": serializers.CharField(),
        "progress": serializers.FloatField(),
        "rows": serializers.IntegerField(allow_null=True),
        "pages": serializers.IntegerField(allow_null=True),
        "sha256": serializers.CharField(allow_null=True),
        "generated_at": serializers.DateTimeField(allow_null=True),
        "released_at": serializers.DateTimeField(allow_null=True),
        "error": serializers.CharField(allow_null=True),
    },
)


def package_present(package: Package) -> dict[str, Any]:
    return {
        "status": package.status,
        "kind": package.kind,
        "progress": round(package.progress, 3),
        "rows": package.rows,
        "pages": package.pages,
        "sha256": package.sha256 or None,
        "generated_at": utc_iso(package.generated_at),
        "released_at": utc_iso(package.released_at),
        "error": package.error or None,
    }


def _package_for(request: Request, legal_request: LegalRequest) -> Package:
    """Staff see the package at any stage; an agency only once it is released."""
    package = Package.objects.filter(request=legal_request).first()
    if package is None:
        raise Http404("No package yet.")
    if user_is_officer(request.user) and package.status not in _AGENCY_VISIBLE:
        raise Http404("No package yet.")
    return package


class IsCustodian(BasePermission):
    message = "Only a custodian of records may release a package."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_has_role(request.user, Role.CUSTODIAN)


class PackageView(APIView):
    permission_classes = [IsOfficerOrStaff]

    @extend_schema(
        operation_id="requests_package", responses={200: PackageSerializer, **ERROR_RESPONSES}
    )
    def get(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        return Response(package_present(_package_for(request, legal_request)))


class PackagePdfView(APIView):
    permission_classes = [IsOfficerOrStaff]

    @extend_schema(
        operation_id="requests_package_pdf",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERROR_RESPONSES},
    )
    def get(self, request: Request, request_id: str) -> Any:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        package = _package_for(request, legal_request)
        if package.status not in {PackageStatus.READY, PackageStatus.RELEASED}:
            raise Http404("The package is not ready.")
        try:
            package, stream = package_open(request=legal_request, actor=request.user)
        except PackageIntegrityError:
            return Response(
                {
                    "detail": "The stored package failed its integrity check and was not sent; "
                    "the custodian has been alerted."
                },
                status=503,
            )
        response = FileResponse(
            stream,
            content_type="application/pdf",
            as_attachment=True,
            filename=f"{legal_request.number}.pdf",
        )
        response["Cache-Control"] = "no-store"
        response["X-Content-SHA256"] = package.sha256
        return response


class ReleaseView(APIView):
    permission_classes = [IsCustodian]

    @extend_schema(
        operation_id="requests_release",
        request=None,
        responses={
            200: inline_serializer(name="Released", fields={"package": PackageSerializer}),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        package_release(request=legal_request, actor=request.user)
        return _shown(request, legal_request.id)


class RegenerateView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="requests_regenerate",
        request=None,
        responses={200: PackageSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, request_id: str) -> Response:
        legal_request = request_get_for_user(user=request.user, request_id=request_id)
        return Response(
            package_present(package_regenerate(request=legal_request, actor=request.user))
        )
