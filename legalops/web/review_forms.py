"""The forms of the request page: review (approve with narrowing, reject, request
information) and the emergency callback. They only read input; the review services
decide, and their refusals come back as words (legalops.web.refusals)."""

from datetime import UTC, datetime
from typing import Any

from django import forms

from legalops.cases.models import LegalRequest, NarrowingBasis, NumberSource, RequestApproval
from legalops.cases.scope import Scope, ScopeError, scope_requested
from legalops.web.forms import UswdsForm

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
_LOCAL = {"type": "datetime-local", "step": "1"}
_COVERS = {
    "both": ("both", "outgoing", "incoming"),
    "outgoing": ("outgoing",),
    "incoming": ("incoming",),
}
DIRECTION_LABELS = {
    "outgoing": "Outgoing: lookups made by the identifiers",
    "incoming": "Incoming: lookups of the identifiers (other people's records)",
    "both": "Both directions",
}
BASIS_LABELS = {
    NarrowingBasis.AGREED_WITH_AGENCY: "Agreed with the agency",
    NarrowingBasis.INVALID_IDENTIFIER: "An identifier is invalid",
    NarrowingBasis.NOT_IN_SIGNED_PROCESS: "Not in the signed legal process",
    NarrowingBasis.OBJECTION_FILED: "An objection was filed",
    NarrowingBasis.EMERGENCY_SCOPE: "Limited to the emergency",
}
DECISIONS = ("approve", "reject", "request_info")


def review_base(*, request: LegalRequest) -> Scope | None:
    """What an approval now may narrow: the first approval's scope, else what the
    request asks for (clipped at receipt); None when the request has no closed range."""
    first = (
        RequestApproval.objects.filter(request=request, cleared_at__isnull=True)
        .order_by("at", "id")
        .last()
    )
    if first is not None:
        return Scope.from_json(first.scope)
    try:
        return scope_requested(request=request, allowed_categories=set(request.data_categories))
    except ScopeError:
        return None


def as_local(moment: datetime) -> str:
    """A UTC moment as an <input type=datetime-local> value."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class ReviewForm(UswdsForm):
    identifiers = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        label="Identifiers to disclose",
        help_text="Untick an identifier to leave it out (narrowing).",
    )
    date_from = forms.DateTimeField(
        label="Range start (UTC)",
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs=_LOCAL, format="%Y-%m-%dT%H:%M:%S"),
    )
    date_to = forms.DateTimeField(
        label="Range end (UTC, inclusive to the second)",
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs=_LOCAL, format="%Y-%m-%dT%H:%M:%S"),
    )
    direction = forms.ChoiceField(label="Direction")
    narrowing_basis = forms.ChoiceField(
        label="Basis for narrowing",
        required=False,
        help_text="Needed when you narrow compulsory process; printed in the cover letter.",
        choices=[("", "No narrowing")] + [(b.value, label) for b, label in BASIS_LABELS.items()],
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Required to reject or request information. For a request for information this is "
            "the question the agency sees."
        ),
    )
    good_faith_facts = forms.CharField(
        label="Good-faith determination (emergencies)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The facts on which you believe an emergency requires disclosure without delay.",
    )
    decision = forms.ChoiceField(choices=[(d, d) for d in DECISIONS], widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, request: LegalRequest, base: Scope | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base = base
        raw = {i.normalized: i.raw for i in request.identifiers.all()}
        if base is None:
            # Nothing closed to approve: the form is for rejecting or asking only.
            for name in ("identifiers", "date_from", "date_to", "direction", "narrowing_basis"):
                del self.fields[name]
        else:
            self.fields["identifiers"].choices = [
                (n, f"{n}  (written {raw[n]!r})" if raw.get(n, n) != n else n)
                for n in base.identifiers
            ]
            self.fields["direction"].choices = [
                (d, DIRECTION_LABELS[d]) for d in _COVERS.get(base.direction, (base.direction,))
            ]
            self.initial.setdefault("identifiers", list(base.identifiers))
            self.initial.setdefault("date_from", as_local(base.date_from))
            self.initial.setdefault("date_to", as_local(base.date_to))
            self.initial.setdefault("direction", base.direction)
        if request.process_type != "emergency":
            del self.fields["good_faith_facts"]

    def proposal(self) -> dict[str, Any] | None:
        """The scope to send to the service: None keeps the scope under review."""
        data = self.cleaned_data
        if self.base is None or data["decision"] != "approve":
            return None
        identifiers = [i for i in self.base.identifiers if i in set(data["identifiers"])]
        date_from, date_to = data["date_from"], data["date_to"]
        same = (
            identifiers == list(self.base.identifiers)
            and as_local(date_from) == as_local(self.base.date_from)
            and as_local(date_to) == as_local(self.base.date_to)
            and data["direction"] == self.base.direction
        )
        if same:
            return None
        return {
            "identifiers": identifiers,
            # The form shows whole seconds: an unchanged end keeps the base's exact moment.
            "date_from": (
                self.base.date_from
                if as_local(date_from) == as_local(self.base.date_from)
                else date_from
            ).isoformat(),
            "date_to": (
                self.base.date_to if as_local(date_to) == as_local(self.base.date_to) else date_to
            ).isoformat(),
            "direction": data["direction"],
        }

    def add_service_errors(self, errors: dict[str, Any]) -> None:
        """Put a service's 400 body next to the fields it names."""
        scope = errors.pop("scope", None)
        if isinstance(scope, dict):
            errors.update(scope)
        elif scope:
            self.add_error(None, " ".join(map(str, scope)))
        super().add_service_errors(errors)


class VerificationForm(UswdsForm):
    called_number = forms.CharField(label="Number called", max_length=40)
    number_source = forms.ChoiceField(
        label="Where the number came from",
        choices=[
            (NumberSource.AGENCY_DIRECTORY.value, "The agency directory"),
            (NumberSource.REQUEST.value, "The request itself"),
            (NumberSource.OTHER.value, "Somewhere else"),
        ],
    )
    spoke_with = forms.CharField(label="Spoke with", max_length=200)
    called_at = forms.DateTimeField(
        label="Called at (UTC)",
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs=_LOCAL, format="%Y-%m-%dT%H:%M:%S"),
    )
    confirmed = forms.BooleanField(
        label="The agency confirmed the emergency on this call", required=False
    )


class NondisclosureForm(UswdsForm):
    """A reviewer confirms that an uploaded document is a 2705(b) order, and its term."""

    document = forms.ChoiceField(label="The signed order (an uploaded document)")
    until = forms.DateField(
        label="The order ends on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The date the order states. Leave empty for an order 'until further order'.",
    )
    indefinite = forms.BooleanField(
        label="The order runs 'until further order' (no end date)", required=False
    )

    def __init__(self, *args: Any, request: LegalRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = [
            (str(d.id), d.name)
            for d in request.documents.all()
            if d.superseded_by_id is None  # a replaced document is not the order
        ]
