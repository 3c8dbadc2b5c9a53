"""Realistic legal process, as an agency's system would send it."""

from datetime import timedelta
from typing import Any

from django.utils import timezone


def court_order(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    body: dict[str, Any] = {
        "process_type": "court_order",
        "jurisdiction": "US",
        "legal_authority": "18 U.S.C. 2703(d)",
        "reference": f"3:26-mj-{now.microsecond:05d}",
        "issuing_authority": "United States District Court for the Northern District of California",
        "issued_on": (now - timedelta(days=1)).date().isoformat(),
        "expires_on": (now + timedelta(days=14)).date().isoformat(),
        "identifiers": ["+1 (415) 555-0100", "Target@Example.com"],
        "date_from": (now - timedelta(days=20)).replace(microsecond=0).isoformat(),
        "date_to": (now - timedelta(days=2)).replace(microsecond=0).isoformat(),
        "direction": "outgoing",
        "data_categories": ["query_logs"],
        "nondisclosure_until": (now + timedelta(days=180)).date().isoformat(),
        "emergency_justification": "",
        "contact": {
            "name": "SA Jordan Blake",
            "email": "j.blake@fbi.example.gov",
            "phone": "+14155550123",
        },
    }
    body.update(overrides)
    return body


def preservation(**overrides: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "process_type": "preservation",
        "legal_authority": "18 U.S.C. 2703(f)",
        "data_categories": ["query_logs"],
        "direction": "both",
        "nondisclosure_until": None,
    }
    return court_order(**{**defaults, **overrides})


def emergency(**overrides: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "process_type": "emergency",
        "legal_authority": "18 U.S.C. 2702(c)(4)",
        "emergency_justification": "Kidnapping in progress; the victim's phone looked up the "
        "suspect's number minutes ago.",
        "nondisclosure_until": None,
    }
    return court_order(**{**defaults, **overrides})
