"""Legal requests (tickets): one piece of legal process and everything done with it."""

import uuid
from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from legalops.accounts.models import Agency
from legalops.cases.rules import Audience, Category, ProcessType, Severity
from lookups.models import Direction, Hold


class Status(models.TextChoices):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    PROCESSING = "processing"
    READY = "ready"
    RELEASED = "released"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    INFO_REQUESTED = "info_requested"
    CLOSED = "closed"
    FAILED = "failed"
    PRESERVED = "preserved"
    EXPIRED = "expired"


SETTLED_STATUSES = frozenset(
    {
        Status.RELEASED,
        Status.DELIVERED,
        Status.REJECTED,
        Status.CLOSED,
        Status.PRESERVED,
        Status.EXPIRED,
    }
)


class Outcome(models.TextChoices):
    DATA_PRODUCED = "data_produced"
    NO_DATA = "no_data"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    PRESERVED = "preserved"


class LegalRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True, help_text="LR-YYYY-NNNNNN")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="requests")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submitted_requests"
    )
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, null=True, blank=True)  # noqa: DJ001 (null: not settled)

    process_type = models.CharField(max_length=16, choices=ProcessType.choices)
    jurisdiction = models.CharField(max_length=8)
    legal_authority = models.CharField(max_length=200, blank=True, default="")
    reference = models.CharField(max_length=120)
    issuing_authority = models.CharField(max_length=300, blank=True, default="")
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True, help_text="Inclusive to its second.")
    # The offset the order itself used, kept so letters can print its local times.
    utc_offset_minutes = models.IntegerField(default=0)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    data_categories = models.JSONField(default=list)
    nondisclosure_until = models.DateField(null=True, blank=True)
    nondisclosure_indefinite = models.BooleanField(default=False)
    emergency_justification = models.TextField(blank=True, default="")
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=40, blank=True, default="")

    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    renewal_count = models.PositiveIntegerField(default=0)
    # The clock stops while staff wait on the agency; due_at moves on by the pause.
    clock_paused_at = models.DateTimeField(null=True, blank=True)
    # What may be disclosed, fixed by the second approval (API.md "scope").
    scope = models.JSONField(null=True, blank=True)
    narrowing_basis = models.CharField(max_length=32, blank=True, default="")
    narrowing_reason = models.TextField(blank=True, default="")
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "reference"], name="cases_request_reference_per_agency"
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="cases_status_received")]

    def __str__(self) -> str:
        return self.number

    @property
    def due_on(self) -> date:
        return self.due_at.date()

    def is_overdue(self, *, now: datetime | None = None) -> bool:
        if self.status in SETTLED_STATUSES or self.clock_paused_at is not None:
            return False
        return (now or timezone.now()) > self.due_at


class RequestIdentifier(models.Model):
    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="identifiers")
    position = models.PositiveIntegerField()
    raw = models.CharField(max_length=320)
    normalized = models.CharField(max_length=320)
    kind = models.CharField(max_length=8)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "position"], name="cases_identifier_position"
            )
        ]

    def __str__(self) -> str:
        return self.normalized


class RequestDocument(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255)
    # Stored under MEDIA_ROOT, which no URL serves: staff open it through a view
    # that applies access rules.
    file = models.FileField(upload_to="documents/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    text = models.TextField(blank=True, default="", help_text="Extracted text, for findings.")
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    # A document is never deleted (the record of what was served stays); one sent by
    # mistake, a proposed order say, is superseded by its replacement and no longer
    # counts for findings.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.name


class MessageFrom(models.TextChoices):
    STAFF = "staff"
    AGENCY = "agency"


class RequestMessage(models.Model):
    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=8, choices=MessageFrom.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


class RequestFinding(models.Model):
    """A legal-sufficiency finding as last computed; replaced whole on recompute."""

    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    audience = models.CharField(max_length=8, choices=Audience.choices)
    category = models.CharField(max_length=16, choices=Category.choices, null=True, blank=True)  # noqa: DJ001 (null: whole request)
    message = models.TextField()
    rules_version = models.CharField(max_length=20)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class RequestCounter(models.Model):
    """The last number issued per year, so numbers are gap-free and human-sized."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class NarrowingBasis(models.TextChoices):
    AGREED_WITH_AGENCY = "agreed_with_agency"
    INVALID_IDENTIFIER = "invalid_identifier"
    NOT_IN_SIGNED_PROCESS = "not_in_signed_process"
    OBJECTION_FILED = "objection_filed"
    EMERGENCY_SCOPE = "emergency_scope"


class RequestApproval(models.Model):
    """One staff approval. A question to the agency clears the round's approvals
    (kept, with ``cleared_at``, for the record)."""

    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="approvals")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(default=timezone.now)
    scope = models.JSONField()
    reason = models.TextField(blank=True, default="")
    narrowing_basis = models.CharField(max_length=32, blank=True, default="")
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request} approved by {self.by}"


class NumberSource(models.TextChoices):
    AGENCY_DIRECTORY = "agency_directory"
    REQUEST = "request"
    OTHER = "other"


class EmergencyVerification(models.Model):
    """The out-of-band callback that verifies an emergency request is genuine."""

    request = models.ForeignKey(
        LegalRequest, on_delete=models.CASCADE, related_name="verifications"
    )
    called_number = models.CharField(max_length=40)
    number_source = models.CharField(max_length=20, choices=NumberSource.choices)
    spoke_with = models.CharField(max_length=200)
    called_at = models.DateTimeField()
    confirmed = models.BooleanField()
    # Whether the number called was the request's own contact phone at the time:
    # such a call never verifies, even if the request's phone changes later.
    called_request_number = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.request} call to {self.called_number}"


class GoodFaithDetermination(models.Model):
    """The provider's good-faith determination for an emergency (2702(c)(4)):
    who decided, on what facts, when."""

    request = models.OneToOneField(
        LegalRequest, on_delete=models.CASCADE, related_name="good_faith"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    facts = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.request} determined by {self.by}"


class DeadlineExtension(models.Model):
    request = models.ForeignKey(LegalRequest, on_delete=models.CASCADE, related_name="extensions")
    previous_due_at = models.DateTimeField()
    due_at = models.DateTimeField()
    agreed_by = models.CharField(max_length=200, help_text="Who at the agency agreed.")
    reason = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.request} due {self.due_at:%Y-%m-%d}"


class NondisclosureOrder(models.Model):
    """A reviewer's confirmation that an uploaded document is a 2705(b) order, and
    its term as the order states it.

    Only a confirmed order delays notice: the request's own ``nondisclosure_*``
    fields are what the agency asks for, and a request or a cover letter asking for
    silence is not an order. The latest confirmation governs (an extension of the
    order is confirmed again, on its own document)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        LegalRequest, on_delete=models.CASCADE, related_name="nondisclosure_orders"
    )
    document = models.ForeignKey(RequestDocument, on_delete=models.PROTECT, related_name="+")
    until = models.DateField(null=True, blank=True)
    indefinite = models.BooleanField(default=False)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["confirmed_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="nondisclosure_order_has_one_term",
                condition=(
                    models.Q(indefinite=True, until__isnull=True)
                    | models.Q(indefinite=False, until__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        term = "until further order" if self.indefinite else f"until {self.until}"
        return f"{self.request} NDO {term}"
