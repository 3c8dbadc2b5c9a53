"""The transparency endpoint's query and answer (API.md "Transparency")."""

from datetime import date, timedelta
from typing import Any

from rest_framework import serializers

from legalops.cases.rules import DISCLOSING
from legalops.transparency.selectors import (
    MAX_REPORT_DAYS,
    OUTCOMES,
    ProcessTypeCounts,
    TransparencyReport,
)


class _ReportDateField(serializers.DateField):
    default_error_messages = {
        "required": "Give the {name} date as YYYY-MM-DD.",
        "null": "Give the {name} date as YYYY-MM-DD.",
        "invalid": "'{value}' is not a date: give the {name} date as YYYY-MM-DD.",
        "datetime": "Give a date without a time, as YYYY-MM-DD.",
    }

    def __init__(self, *, name: str) -> None:
        super().__init__(input_formats=["%Y-%m-%d"])
        self.report_name = name

    def fail(self, key: str, **kwargs: Any) -> None:
        kwargs.setdefault("name", self.report_name)
        kwargs.setdefault("value", str(self.context.get("raw", {}).get(self.field_name, "")))
        super().fail(key, **kwargs)


class TransparencyQuerySerializer(serializers.Serializer):
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD``: both days included."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword: the fields are named here, not as attributes.
        return {
            "from": _ReportDateField(name="first (from=)"),
            "to": _ReportDateField(name="last (to=)"),
        }

    def validate(self, attrs: dict[str, date]) -> dict[str, date]:
        first, last = attrs["from"], attrs["to"]
        if last < first:
            raise serializers.ValidationError(
                {"to": [f"to ({last.isoformat()}) is before from ({first.isoformat()})."]}
            )
        if last - first > timedelta(days=MAX_REPORT_DAYS):
            raise serializers.ValidationError(
                {"to": [f"One report covers at most {MAX_REPORT_DAYS} days; shorten the range."]}
            )
        return attrs


def _outcome_fields() -> dict[str, serializers.Field]:
    return {outcome: serializers.IntegerField(min_value=0) for outcome in OUTCOMES}


OutcomesSerializer = type("TransparencyOutcomes", (serializers.Serializer,), _outcome_fields())
MonthTypesSerializer = type(
    "TransparencyMonthTypes",
    (serializers.Serializer,),
    {str(value): serializers.IntegerField(min_value=0) for value in DISCLOSING},
)


class ProcessTypeRowSerializer(serializers.Serializer):
    process_type = serializers.CharField()
    requests = serializers.IntegerField(min_value=0)
    identifiers_specified = serializers.IntegerField(
        min_value=0, help_text="Distinct normalized identifiers per request, summed."
    )
    outcomes = OutcomesSerializer()


class PreservationsSerializer(serializers.Serializer):
    requests = serializers.IntegerField(min_value=0)
    identifiers_specified = serializers.IntegerField(min_value=0)
    active = serializers.IntegerField(min_value=0, help_text="Holds still standing.")
    expired = serializers.IntegerField(min_value=0, help_text="Holds that ran out.")


class MonthSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM (UTC)")
    by_type = MonthTypesSerializer()
    preservations = serializers.IntegerField(min_value=0)


class TransparencyReportSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "process_types": ProcessTypeRowSerializer(many=True),
            "total": ProcessTypeRowSerializer(),
            "preservations": PreservationsSerializer(),
            "by_month": MonthSerializer(many=True),
        }


def _row(row: ProcessTypeCounts) -> dict[str, Any]:
    return {
        "process_type": row.process_type,
        "requests": row.requests,
        "identifiers_specified": row.identifiers,
        "outcomes": dict(row.outcomes),
    }


def report_present(report: TransparencyReport) -> dict[str, Any]:
    kept = report.preservations
    return {
        "from": report.date_from.isoformat(),
        "to": report.date_to.isoformat(),
        "process_types": [_row(row) for row in report.by_type],
        "total": _row(report.total),
        "preservations": {
            "requests": kept.requests,
            "identifiers_specified": kept.identifiers,
            "active": kept.active,
            "expired": kept.expired,
        },
        "by_month": [
            {"month": m.month, "by_type": dict(m.by_type), "preservations": m.preservations}
            for m in report.by_month
        ],
    }
