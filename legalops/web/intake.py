"""Staff intake of paper process: the form an agency's fax or letter is typed into.

Validation is the API's own: the form's values become the body of ``POST
/api/v1/requests/`` and go through ``RequestCreateSerializer``, then the intake
service; their errors come back next to the fields they name. The request and
its signed document are stored together or not at all.
"""

import re
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from legalops.accounts.models import Agency
from legalops.api_errors import Conflict
from legalops.cases.models import LegalRequest
from legalops.cases.rules import Category, ProcessType
from legalops.cases.serializers import RequestCreateSerializer
from legalops.cases.services import (
    MAX_DOCUMENT_BYTES,
    IntakeError,
    document_add,
    normalized_identifiers,
    request_submit,
)
from legalops.web.access import CASE_ROLES, staff_required
from legalops.web.forms import UswdsForm
from legalops.web.refusals import refusal_words
from legalops.web.review_forms import DATETIME_FORMATS, DIRECTION_LABELS

_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
_LOCAL = {"type": "datetime-local", "step": "1"}
_DATE = {"type": "date"}
# Where the serializer's names differ from the form's.
_FIELD_FOR = {"contact.name": "contact_name", "contact.email": "contact_email"}


class IntakeForm(UswdsForm):
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("name"), empty_label="Choose the agency"
    )
    process_type = forms.ChoiceField(
        label="Process type", choices=[("", "Choose the type of process"), *ProcessType.choices]
    )
    jurisdiction = forms.CharField(
        initial="US",
        help_text="US (federal), US-XX for a state (e.g. US-CA), or a country code (GB, DE).",
    )
    legal_authority = forms.CharField(
        max_length=200, required=False, help_text="e.g. 18 U.S.C. 2703(d)"
    )
    reference = forms.CharField(
        max_length=120, help_text="The case or docket number on the document."
    )
    issuing_authority = forms.CharField(max_length=300, required=False, label="Issuing authority")
    issued_on = forms.DateField(required=False, label="Issued on", widget=forms.DateInput(_DATE))
    expires_on = forms.DateField(
        required=False,
        label="Return date or end of execution window",
        widget=forms.DateInput(_DATE),
    )
    identifiers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One phone number or email address per line, as the document writes them.",
    )
    date_from = forms.CharField(
        required=False, label="Range start", widget=forms.DateTimeInput(attrs=_LOCAL)
    )
    date_to = forms.CharField(
        required=False, label="Range end (inclusive)", widget=forms.DateTimeInput(attrs=_LOCAL)
    )
    utc_offset = forms.CharField(
        label="UTC offset the document uses",
        initial="+00:00",
        max_length=6,
        help_text="The time zone of the range as written, e.g. -08:00 for Pacific standard time.",
    )
    direction = forms.ChoiceField(choices=list(DIRECTION_LABELS.items()), initial="outgoing")
    data_categories = forms.MultipleChoiceField(
        label="Data categories",
        choices=Category.choices,
        initial=[Category.QUERY_LOGS.value],
        widget=forms.CheckboxSelectMultiple,
    )
    nondisclosure_until = forms.DateField(
        required=False,
        label="Non-disclosure order until",
        widget=forms.DateInput(_DATE),
        help_text="Only for an uploaded 2705(b) order; a letter asking for silence is not one.",
    )
    nondisclosure_indefinite = forms.BooleanField(
        required=False, label="Non-disclosure order 'until further order' (no end date)"
    )
    emergency_justification = forms.CharField(
        required=False,
        label="Emergency justification",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Emergencies only: the danger of death or serious physical injury.",
    )
    contact_name = forms.CharField(max_length=200, label="Contact name")
    contact_email = forms.EmailField(label="Contact email")
    contact_phone = forms.CharField(max_length=40, required=False, label="Contact phone")
    document = forms.FileField(
        required=False,
        label="Signed legal process (PDF)",
        help_text=(
            f"PDF, at most {MAX_DOCUMENT_BYTES // 2**20} MB. A subpoena, order or warrant cannot "
            "be approved until it is uploaded."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_utc_offset(self) -> str:
        value = self.cleaned_data["utc_offset"].strip()
        if value in {"Z", "0", ""}:
            return "+00:00"
        if not _OFFSET.match(value):
            raise forms.ValidationError("Write the offset as +HH:MM or -HH:MM, e.g. -08:00.")
        return value

    def _moment(self, name: str) -> str | None:
        value = (self.cleaned_data.get(name) or "").strip()
        offset = self.cleaned_data.get("utc_offset", "+00:00")
        if not value:
            return None
        for pattern in DATETIME_FORMATS:
            try:
                parsed = datetime.strptime(value, pattern)  # noqa: DTZ007 (the offset is added below)
            except ValueError:
                continue
            return parsed.strftime("%Y-%m-%dT%H:%M:%S") + offset
        self.add_error(name, "Give a date and time, e.g. 2026-11-01 00:00:00.")
        return None

    def _value(self, name: str) -> Any:
        """The cleaned value, or what was typed when the form could not read it (so the
        API's validation still sees it and names every problem in one round)."""
        if name in self.cleaned_data:
            value = self.cleaned_data[name]
            return value.isoformat() if hasattr(value, "isoformat") else value
        return self.data.get(name) or None

    def api_body(self) -> dict[str, Any]:
        """The form as the API's request body, for the API's own validation."""
        agency = self.cleaned_data.get("agency")
        return {
            "agency": str(agency.id) if agency else None,
            "process_type": self._value("process_type"),
            "jurisdiction": (self._value("jurisdiction") or "").strip().upper(),
            "legal_authority": self._value("legal_authority") or "",
            "reference": self._value("reference") or "",
            "issuing_authority": self._value("issuing_authority") or "",
            "issued_on": self._value("issued_on"),
            "expires_on": self._value("expires_on"),
            "identifiers": self.identifier_lines(),
            "date_from": self._moment("date_from"),
            "date_to": self._moment("date_to"),
            "direction": self._value("direction"),
            "data_categories": self.cleaned_data.get("data_categories")
            or self.data.getlist("data_categories"),
            "nondisclosure_until": self._value("nondisclosure_until"),
            "nondisclosure_indefinite": bool(self.cleaned_data.get("nondisclosure_indefinite")),
            "emergency_justification": self._value("emergency_justification") or "",
            "contact": {
                "name": self._value("contact_name") or "",
                "email": self._value("contact_email") or "",
                "phone": self._value("contact_phone") or "",
            },
        }

    def identifier_lines(self) -> list[str]:
        text = self.cleaned_data.get("identifiers") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def add_api_errors(self, errors: dict[str, Any], *, prefix: str = "") -> None:
        """Put a DRF-style 400 body next to the fields it names (identifiers by line)."""
        for name, problems in errors.items():
            key = f"{prefix}{name}"
            if key == "contact":
                self.add_api_errors(problems, prefix="contact.")
                continue
            if key == "contact.phone":
                key = "contact_phone"
            field = _FIELD_FOR.get(key, key)
            if field in self.errors:  # the form already named this field's problem
                continue
            if isinstance(problems, dict):  # a list field names its bad items by index
                lines = self.identifier_lines() if field == "identifiers" else []
                for index, messages_ in problems.items():
                    where = f"line {int(index) + 1}" if lines else f"item {index}"
                    for message in messages_:
                        self.add_error(
                            field if field in self.fields else None, f"{where}: {message}"
                        )
                continue
            for message in problems:
                self.add_error(field if field in self.fields else None, str(message))


@staff_required(*CASE_ROLES)
def request_new(request: HttpRequest) -> HttpResponse:
    form = IntakeForm(request.POST or None, request.FILES or None)
    refusal = ""
    if request.method == "POST":
        form.is_valid()
        serializer = RequestCreateSerializer(data=form.api_body())
        if not serializer.is_valid():
            form.add_api_errors(serializer.errors)
        agency = form.cleaned_data.get("agency")
        if agency is not None and "identifiers" not in form.errors:
            # The service reads identifiers only once the body is valid; name bad ones
            # now too, so one round shows every problem.
            try:
                normalized_identifiers(raw=form.identifier_lines(), region=agency.country)
            except IntakeError as exc:
                form.add_api_errors(exc.errors)
        if not form.errors:
            created, refusal = _file(request, form, serializer)
            if created is not None:
                messages.success(
                    request,
                    f"Filed {created.number} for {created.agency.name}. Someone else must approve "
                    "it: you entered it.",
                )
                return redirect("web:request-detail", request_id=created.id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/requests/new.html", {"form": form, "refusal": refusal}, status=status
    )


def _file(
    request: HttpRequest, form: IntakeForm, serializer: RequestCreateSerializer
) -> tuple[LegalRequest | None, str]:
    """Submit, then attach the document, in one transaction: both or neither."""
    upload = form.cleaned_data.get("document")
    try:
        with transaction.atomic():
            created = request_submit(
                submitter=request.user,
                agency=form.cleaned_data["agency"],
                data=serializer.to_request_input(),
            )
            if upload is not None:
                document_add(
                    request=created,
                    uploader=request.user,
                    name=upload.name or "",
                    data=upload.read(MAX_DOCUMENT_BYTES + 1),
                )
    except IntakeError as exc:
        errors = dict(exc.errors)
        if "file" in errors:
            errors["document"] = errors.pop("file")
        form.add_api_errors(errors)
        return None, ""
    except Conflict as exc:
        return None, refusal_words(exc)
    return created, ""
