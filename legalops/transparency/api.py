"""GET /api/v1/transparency/ and its CSV (API.md "Transparency"): staff only."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from legalops.api_errors import ERROR_RESPONSES
from legalops.cases.api import IsReviewingStaff
from legalops.transparency.selectors import (
    TransparencyReport,
    transparency_csv,
    transparency_report,
)
from legalops.transparency.serializers import (
    TransparencyQuerySerializer,
    TransparencyReportSerializer,
    report_present,
)

RANGE_PARAMETERS = [
    OpenApiParameter(
        "from", OpenApiTypes.DATE, required=True, description="first day, by received_at (UTC)"
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, required=True, description="last day, included (UTC)"
    ),
]


def report_for_query(request: Request) -> TransparencyReport:
    query = TransparencyQuerySerializer(
        data=request.query_params, context={"raw": request.query_params}
    )
    query.is_valid(raise_exception=True)
    return transparency_report(
        date_from=query.validated_data["from"], date_to=query.validated_data["to"]
    )


class TransparencyView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="transparency_report",
        parameters=RANGE_PARAMETERS,
        responses={200: TransparencyReportSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return Response(report_present(report_for_query(request)))


class TransparencyCsvView(APIView):
    permission_classes = [IsReviewingStaff]

    @extend_schema(
        operation_id="transparency_report_csv",
        parameters=RANGE_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> HttpResponse:
        report = report_for_query(request)
        return csv_response(report)


def csv_response(report: TransparencyReport) -> HttpResponse:
    """The CSV as a download named after its period (also served to the staff UI)."""
    name = f"transparency-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    response = HttpResponse(transparency_csv(report=report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
