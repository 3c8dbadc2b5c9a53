"""One error shape for the whole API: DRF-style bodies, never an HTML page."""

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
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


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(404, "Not found.")


def api_server_error(request: HttpRequest) -> JsonResponse:
    return _json_error(500, "Internal server error. The failure was logged.")
