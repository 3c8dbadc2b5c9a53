"""One error shape for the whole API: DRF-style bodies, never an HTML page."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Conflict(APIException):
    """A refused action: 409 with a refusal code from API.md and words a person can act on."""

    status_code = 409
    default_detail = "This action is not allowed now."
    default_code = "not_allowed_in_status"

    def __init__(self, detail: str, *, code: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail=detail, code=code)
        self.refusal_code = code
        self.extra = extra or {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=404)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, Conflict):
        response.data = {"detail": str(exc.detail), "code": exc.refusal_code, **exc.extra}
    return response


def _json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _is_api(request: HttpRequest) -> bool:
    # The staff UI's pages answer errors as pages; the API and health check never do.
    return request.path.startswith(("/api/", "/healthz"))


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(404, "Not found.")
    return defaults.page_not_found(request, exception or Http404())


def api_server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json_error(500, "Internal server error. The failure was logged.")
    return defaults.server_error(request)


def api_bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django refuses some requests before any view runs (too many form fields, a
    bad Host): under /api/ that answer is JSON too."""
    if request.path.startswith("/api/"):
        return _json_error(400, "Bad request: the request could not be read.")
    return defaults.bad_request(request, exception)


def api_permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _json_error(403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


_Detail = inline_serializer(name="ErrorDetail", fields={"detail": serializers.CharField()})
_Refusal = inline_serializer(
    name="Refusal",
    fields={"detail": serializers.CharField(), "code": serializers.CharField()},
)

# Declared on every endpoint so clients (and schemathesis) know each error's shape.
ERROR_RESPONSES = {
    # Any field name can carry messages (a list field's by index), or "detail" for a
    # body that could not be parsed: an open object.
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description='Validation: {"field": ["message"]}, {"identifiers": {"0": ["..."]}}, '
        'or {"detail": "..."} for an unreadable body',
    ),
    401: OpenApiResponse(_Detail, description="No, invalid, expired or revoked token"),
    403: OpenApiResponse(_Detail, description="The role may not do this"),
    404: OpenApiResponse(_Detail, description="No such object, or another agency's"),
    409: OpenApiResponse(_Refusal, description="A refused action, with its refusal code"),
    413: OpenApiResponse(_Detail, description="The body or file is too large"),
    415: OpenApiResponse(_Detail, description="The body's media type is not accepted here"),
    429: OpenApiResponse(_Detail, description="Too many requests; retry later"),
}
