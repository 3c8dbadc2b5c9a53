"""Input validation and output shapes for the requests API (API.md, "Legal requests").

Serializers validate and present; the services decide. Field names are the
public contract and must not change.
"""

from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from legalops.cases.models import LegalRequest, MessageFrom, NarrowingBasis, NumberSource
from legalops.cases.notice import notice_for
from legalops.cases.rules import Category, ProcessType
from legalops.cases.services import RequestInput
from lookups.models import Direction, Hold


class AwareDateTimeField(serializers.DateTimeField):
    """A timestamp that must carry its offset: an order's times mean nothing without it."""

    default_error_messages = {
        "naive": "Give the time zone offset the order uses, e.g. 2026-11-01T00:00:00-08:00."
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and not _has_offset(value):
            self.fail("naive")
        parsed = super().to_internal_value(value)
        return parsed


def _has_offset(text: str) -> bool:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return True  # let the parent field report the format error
    return parsed.tzinfo is not None


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class RequestCreateSerializer(serializers.Serializer):
    process_type = serializers.ChoiceField(choices=ProcessType.choices)
    jurisdiction = serializers.RegexField(
        r"^(US(-[A-Z]{2})?|[A-Z]{2})$",
        max_length=5,
        error_messages={"invalid": "Use US, US-XX for a state (e.g. US-CA), or a country code."},
    )
    legal_authority = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    reference = serializers.CharField(max_length=120)
    issuing_authority = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    issued_on = serializers.DateField(required=False, allow_null=True, default=None)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    identifiers = serializers.ListField(
        child=serializers.CharField(max_length=320, trim_whitespace=False),
        allow_empty=False,
        max_length=1000,
        error_messages={"empty": "Name at least one phone number or email address."},
    )
    date_from = AwareDateTimeField(required=False, allow_null=True, default=None)
    date_to = AwareDateTimeField(required=False, allow_null=True, default=None)
    direction = serializers.ChoiceField(choices=Direction.choices)
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), allow_empty=False
    )
    nondisclosure_until = serializers.DateField(required=False, allow_null=True, default=None)
    nondisclosure_indefinite = serializers.BooleanField(required=False, default=False)
    emergency_justification = serializers.CharField(required=False, allow_blank=True, default="")
    contact = ContactSerializer()
    agency = serializers.UUIDField(required=False, help_text="Staff filing paper process only.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"date_from": ["date_from is after date_to."]})
        if (
            attrs["process_type"] == ProcessType.EMERGENCY
            and not attrs.get("emergency_justification", "").strip()
        ):
            raise serializers.ValidationError(
                {
                    "emergency_justification": [
                        "An emergency request must say what danger of death or serious physical "
                        "injury requires disclosure without delay (18 U.S.C. 2702(c)(4))."
                    ]
                }
            )
        if attrs.get("nondisclosure_until") and attrs.get("nondisclosure_indefinite"):
            raise serializers.ValidationError(
                {"nondisclosure_until": ["Give an end date or 'indefinite', not both."]}
            )
        return attrs

    def to_request_input(self) -> RequestInput:
        data = dict(self.validated_data)
        contact = data.pop("contact")
        data.pop("agency", None)
        return RequestInput(
            contact_name=contact["name"],
            contact_email=contact["email"],
            contact_phone=contact.get("phone", ""),
            utc_offset_minutes=written_offset_minutes(
                self.initial_data.get("date_from") or self.initial_data.get("date_to")
            ),
            **data,
        )


def written_offset_minutes(text: Any) -> int:
    """The UTC offset a timestamp was written with (the order's time zone)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return 0
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


class AgencyRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AgencySerializer(AgencyRefSerializer):
    country = serializers.CharField()


class IdentifierSerializer(serializers.Serializer):
    raw = serializers.CharField()
    normalized = serializers.CharField()
    kind = serializers.ChoiceField(choices=["phone", "email"])


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    audience = serializers.ChoiceField(choices=["agency", "internal"])
    category = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    rules_version = serializers.CharField()


class NoticeSerializer(serializers.Serializer):
    state = serializers.CharField()
    until = serializers.DateField(allow_null=True)
    order_document = serializers.UUIDField(
        allow_null=True,
        help_text="The uploaded 2705(b) order a reviewer confirmed, when one delays notice.",
    )


class MessageSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is the published name (API.md) and a Python keyword.
        return {
            "from": serializers.ChoiceField(choices=MessageFrom.choices),
            **super().get_fields(),
        }

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"from": instance.sender, "at": utc_iso(instance.at), "text": instance.text}


class DocumentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    superseded_by = serializers.UUIDField(
        allow_null=True, help_text="The document that replaced this one, if any."
    )


class HoldRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date_from = serializers.DateTimeField()
    date_to = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)


def utc_iso(moment: datetime | None) -> str | None:
    """A timestamp as the API answers it: UTC, with a Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class RequestSerializer(serializers.Serializer):
    """The request as API.md shows it; findings are already filtered by audience in
    the selector (an agency's queryset carries no internal ones)."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_null=True)
    agency = AgencyRefSerializer()
    process_type = serializers.CharField()
    jurisdiction = serializers.CharField()
    legal_authority = serializers.CharField()
    reference = serializers.CharField()
    issuing_authority = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    date_from = serializers.DateTimeField(allow_null=True)
    date_to = serializers.DateTimeField(allow_null=True)
    direction = serializers.CharField()
    data_categories = serializers.ListField(child=serializers.CharField())
    nondisclosure_until = serializers.DateField(allow_null=True)
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    due_on = serializers.DateField()
    overdue = serializers.BooleanField()
    identifiers = IdentifierSerializer(many=True)
    findings = FindingSerializer(many=True)
    notice = NoticeSerializer()
    approvals = serializers.ListField(child=serializers.DictField())
    scope = serializers.DictField(allow_null=True)
    messages = MessageSerializer(many=True)
    documents = DocumentSerializer(many=True)
    hold = HoldRefSerializer(allow_null=True)
    package = serializers.DictField(allow_null=True)

    def to_representation(self, instance: LegalRequest) -> dict[str, Any]:
        notice = notice_for(request=instance)
        return {
            "id": str(instance.id),
            "number": instance.number,
            "status": instance.status,
            "outcome": instance.outcome,
            "agency": {"id": str(instance.agency_id), "name": instance.agency.name},
            "process_type": instance.process_type,
            "jurisdiction": instance.jurisdiction,
            "legal_authority": instance.legal_authority,
            "reference": instance.reference,
            "issuing_authority": instance.issuing_authority,
            "issued_on": instance.issued_on.isoformat() if instance.issued_on else None,
            "expires_on": instance.expires_on.isoformat() if instance.expires_on else None,
            "date_from": utc_iso(instance.date_from),
            "date_to": utc_iso(instance.date_to),
            "direction": instance.direction,
            "data_categories": list(instance.data_categories),
            "nondisclosure_until": (
                instance.nondisclosure_until.isoformat() if instance.nondisclosure_until else None
            ),
            "received_at": utc_iso(instance.received_at),
            "due_at": utc_iso(instance.due_at),
            "due_on": instance.due_on.isoformat(),
            "overdue": instance.is_overdue(),
            "identifiers": [
                {"raw": i.raw, "normalized": i.normalized, "kind": i.kind}
                for i in instance.identifiers.all()
            ],
            "findings": [
                {
                    "code": f.code,
                    "severity": f.severity,
                    "audience": f.audience,
                    "category": f.category,
                    "message": f.message,
                    "rules_version": f.rules_version,
                }
                for f in instance.findings.all()
            ],
            "notice": {
                "state": notice.state,
                "until": notice.until.isoformat() if notice.until else None,
                "order_document": str(notice.order_document) if notice.order_document else None,
            },
            "approvals": [
                {"by": a.by.username, "at": utc_iso(a.at)}
                for a in instance.approvals.all()
                if a.cleared_at is None
            ],
            "scope": instance.scope,
            "messages": MessageSerializer(instance.messages.all(), many=True).data,
            "documents": [
                {
                    "id": str(d.id),
                    "name": d.name,
                    "sha256": d.sha256,
                    "size": d.size,
                    "uploaded_at": utc_iso(d.uploaded_at),
                    "superseded_by": str(d.superseded_by_id) if d.superseded_by_id else None,
                }
                for d in instance.documents.all()
            ],
            "hold": _hold(instance.hold),
            "package": _package(instance, agency_view=self.context.get("agency_view", True)),
        }


def _package(instance: LegalRequest, *, agency_view: bool) -> dict[str, Any] | None:
    """The package summary; agencies see it only once released (API.md)."""
    from legalops.disclosures.api import package_present  # the package app builds on cases

    package = getattr(instance, "package", None)
    if package is None:
        return None
    if agency_view and package.status != "released":
        return None
    return package_present(package)


def _hold(hold: Hold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "id": str(hold.id),
        "date_from": utc_iso(hold.date_from),
        "date_to": utc_iso(hold.date_to),
        "expires_at": utc_iso(hold.expires_at),
        "released_at": utc_iso(hold.released_at),
    }


class HoldSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    placed_by = serializers.CharField()
    reason = serializers.CharField()
    identifiers = serializers.ListField(child=serializers.CharField())
    date_from = serializers.DateTimeField()
    date_to = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    request = serializers.DictField(allow_null=True)

    def to_representation(self, instance: Hold) -> dict[str, Any]:
        linked = next(iter(instance.requests.all()), None)
        return {
            **(_hold(instance) or {}),
            "placed_by": instance.placed_by,
            "reason": instance.reason,
            "identifiers": [i.handle for i in instance.identifiers.all()],
            "created_at": utc_iso(instance.created_at),
            "release_reason": instance.release_reason,
            "request": (
                {"id": str(linked.id), "number": linked.number, "status": linked.status}
                if linked
                else None
            ),
        }


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=False, trim_whitespace=True)


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    supersedes = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="An earlier document of this request that this one replaces (it stays on "
        "file, marked superseded, and no longer counts for findings).",
    )


class ScopeInSerializer(serializers.Serializer):
    identifiers = serializers.ListField(child=serializers.CharField(max_length=320), required=False)
    date_from = AwareDateTimeField(required=False)
    date_to = AwareDateTimeField(required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), required=False
    )
    fields = serializers.ListField(child=serializers.CharField(), required=False)


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject", "request_info"])
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    scope = ScopeInSerializer(required=False)
    narrowing_basis = serializers.ChoiceField(
        choices=NarrowingBasis.choices, required=False, allow_blank=True, default=""
    )
    good_faith_facts = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Emergencies: the facts of the provider's good-faith determination.",
    )


class VerificationSerializer(serializers.Serializer):
    called_number = serializers.CharField(max_length=40)
    number_source = serializers.ChoiceField(choices=NumberSource.choices)
    spoke_with = serializers.CharField(max_length=200)
    called_at = AwareDateTimeField()
    confirmed = serializers.BooleanField()


class RequestAmendSerializer(serializers.Serializer):
    """PATCH while a question is open: the answer, and any fields it changes."""

    answer = serializers.CharField(required=False, allow_blank=True, default="")
    legal_authority = serializers.CharField(max_length=200, required=False, allow_blank=True)
    issuing_authority = serializers.CharField(max_length=300, required=False, allow_blank=True)
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)
    identifiers = serializers.ListField(
        child=serializers.CharField(max_length=320), required=False, allow_empty=False
    )
    date_from = AwareDateTimeField(required=False)
    date_to = AwareDateTimeField(required=False)
    nondisclosure_until = serializers.DateField(required=False, allow_null=True)
    nondisclosure_indefinite = serializers.BooleanField(required=False)
    emergency_justification = serializers.CharField(required=False, allow_blank=True)
    contact = ContactSerializer(required=False)

    def changes(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("answer", None)
        contact = data.pop("contact", None)
        if contact:
            data.update(
                contact_name=contact["name"],
                contact_email=contact["email"],
                contact_phone=contact.get("phone", ""),
            )
        return data


class NondisclosureSerializer(serializers.Serializer):
    """A reviewer's confirmation of an uploaded 2705(b) order and its term."""

    document = serializers.UUIDField(help_text="The uploaded order (one of `documents`).")
    until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="The day the order ends."
    )
    indefinite = serializers.BooleanField(
        required=False, default=False, help_text='The order runs "until further order".'
    )


class ExtensionSerializer(serializers.Serializer):
    due_at = AwareDateTimeField()
    agreed_by = serializers.CharField(max_length=200)
    reason = serializers.CharField()
