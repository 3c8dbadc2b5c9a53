"""POST /api/v1/logs/: the ingest pipeline's endpoint (ingest role only)."""

from typing import Any

import orjson
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from legalops.accounts.permissions import IsIngest
from legalops.api_errors import ERROR_RESPONSES
from lookups.ingest import logs_ingest
from lookups.readers import array_entries, ndjson_entries

MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024


class RawBodyParser(BaseParser):
    """Hands the view the body bytes: the view parses JSON or JSON Lines itself so it
    can name each bad row instead of failing the whole request."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return stream.read(MAX_BYTES + 1) if stream is not None else b""


class PayloadTooLarge(serializers.ValidationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class QueryLogEntryInSerializer(serializers.Serializer):
    """The published shape of one entry (validation itself is lookups.entries)."""

    event_id = serializers.UUIDField()
    occurred_at = serializers.DateTimeField()
    service = serializers.ChoiceField(choices=["imessage", "facetime"])
    source = serializers.CharField()
    target = serializers.CharField()
    source_ip = serializers.IPAddressField()
    client = serializers.CharField(required=False)
    target_reachable = serializers.BooleanField()


_ResultSerializer = inline_serializer(
    name="IngestResult",
    fields={
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": serializers.ListField(child=serializers.DictField()),
    },
)


def _too_large(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class LogIngestView(APIView):
    permission_classes = [IsIngest]
    parser_classes = [RawBodyParser]

    @extend_schema(
        operation_id="logs_ingest",
        summary="Ingest query-log entries (JSON array or JSON Lines)",
        request={
            "application/json": QueryLogEntryInSerializer(many=True),
            "application/x-ndjson": QueryLogEntryInSerializer,
        },
        responses={200: _ResultSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "one rejected row",
                value={
                    "accepted": 2,
                    "duplicates": 0,
                    "rejected": [{"index": 1, "errors": {"source": ["... is not valid"]}}],
                },
                response_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
        if content_length > MAX_BYTES:
            return _too_large(f"the body is larger than {MAX_BYTES} bytes; send smaller batches")
        body: bytes = request.data if isinstance(request.data, bytes) else b""
        if len(body) > MAX_BYTES:
            return _too_large(f"the body is larger than {MAX_BYTES} bytes; send smaller batches")
        if not body.strip():
            raise ParseError("the body is empty: send a JSON array or JSON Lines of entries")
        if request.content_type.split(";")[0].strip() == "application/x-ndjson":
            entries = list(ndjson_entries(body))
        else:
            try:
                items = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ParseError(f"the body is not valid JSON: {exc}") from exc
            if not isinstance(items, list):
                raise ParseError("the body must be a JSON array of entries (or JSON Lines)")
            entries = list(array_entries(items))
        if len(entries) > MAX_ROWS:
            return _too_large(f"{len(entries)} entries in one request; at most {MAX_ROWS}")
        result = logs_ingest(entries=entries)
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": [
                    {"index": rejection.position, "errors": rejection.errors}
                    for rejection in sorted(result.rejected, key=lambda r: r.position)
                ],
            }
        )
