"""The legal-sufficiency rules: one realistic request per finding, and the table itself.

Every test builds ``RequestFacts`` from a clean federal 2703(d) order (``clean``)
and changes only what the scenario is about, so each test shows exactly which
fact raises which finding.
"""

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from legalops.cases.rules import (
    FEDERAL_MINIMUM_PROCESS,
    FREE_MAIL_DOMAINS,
    RULES,
    RULES_BY_CODE,
    RULES_VERSION,
    STATE_RULES,
    Audience,
    Category,
    Finding,
    ProcessType,
    RequestFacts,
    Severity,
    blocking_categories,
    email_is_free_mail,
    findings_evaluate,
    findings_for_agency,
    jurisdiction_is_domestic,
)

PACIFIC = timezone(timedelta(hours=-8))

SIGNED_ORDER = """UNITED STATES DISTRICT COURT
NORTHERN DISTRICT OF CALIFORNIA
In the Matter of the Application of the United States for an Order
Pursuant to 18 U.S.C. 2703(d)
Case No. 3:26-mj-01422
ORDER
IT IS SO ORDERED.
Dated: November 20, 2026
/s/ Jane Q. Doe
United States Magistrate Judge"""

SIGNED_WARRANT = """UNITED STATES DISTRICT COURT for the Northern District of California
Case No. 3:26-mj-01500
SEARCH AND SEIZURE WARRANT
Date and time issued: 11/01/2026 10:15 am
/s/ Jane Q. Doe, United States Magistrate Judge"""

PRESERVATION_LETTER = """Re: Preservation request under 18 U.S.C. 2703(f)
Please preserve all records for the accounts below for 90 days.
Sincerely, Det. R. Alvarez"""


def clean(**changes: object) -> RequestFacts:
    """A federal 2703(d) order for 19 days of one number's outgoing lookups."""
    facts = RequestFacts(
        process_type=ProcessType.COURT_ORDER,
        jurisdiction="US",
        legal_authority="18 U.S.C. 2703(d)",
        issued_on=date(2026, 11, 20),
        expires_on=date(2026, 12, 4),
        received_at=datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
        date_from=datetime(2026, 11, 1, 0, 0, tzinfo=PACIFIC),
        date_to=datetime(2026, 11, 19, 23, 59, 59, tzinfo=PACIFIC),
        direction="outgoing",
        data_categories=(Category.QUERY_LOGS,),
        identifier_count=2,
        has_document=True,
        document_texts=(SIGNED_ORDER,),
        contact_email="j.blake@fbi.example.gov",
        renewal_count=0,
        nondisclosure_indefinite=False,
    )
    return dataclasses.replace(facts, **changes)


def codes(findings: list[Finding]) -> list[tuple[str, str | None]]:
    return [(finding.code, finding.category) for finding in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


# --- realistic requests --------------------------------------------------------------


def test_clean_federal_2703d_order_for_query_logs_has_no_findings() -> None:
    findings = findings_evaluate(facts=clean())
    assert findings == []
    assert blocking_categories(findings) == set()


def test_california_state_court_order_needs_a_warrant() -> None:
    facts = clean(jurisdiction="US-CA", legal_authority="18 U.S.C. 2703(d); Cal. Penal Code 1546")
    findings = findings_evaluate(facts=facts)
    assert codes(findings) == [("state_law_requires_warrant", "query_logs")]
    finding = findings[0]
    assert (finding.severity, finding.audience) == (Severity.ERROR, Audience.AGENCY)
    assert "Cal. Penal Code 1546(d), 1546.1(b)" in finding.message
    assert "A court order from California is not enough for query logs" in finding.message
    assert blocking_categories(findings) == {"query_logs"}


def test_california_subpoena_for_query_logs_fails_federal_and_state_law() -> None:
    facts = clean(jurisdiction="US-CA", process_type=ProcessType.SUBPOENA)
    assert codes(findings_evaluate(facts=facts)) == [
        ("insufficient_process", "query_logs"),
        ("state_law_requires_warrant", "query_logs"),
    ]


def test_california_warrant_and_california_subscriber_subpoena_are_enough() -> None:
    warrant = clean(
        jurisdiction="US-CA",
        process_type=ProcessType.SEARCH_WARRANT,
        issued_on=date(2026, 11, 20),
        expires_on=None,
        document_texts=(SIGNED_WARRANT,),
    )
    assert findings_evaluate(facts=warrant) == []
    subpoena = clean(
        jurisdiction="US-CA",
        process_type=ProcessType.SUBPOENA,
        data_categories=(Category.SUBSCRIBER_INFO,),
    )
    # CalECPA defines subscriber information apart from communication information.
    assert codes(findings_evaluate(facts=subpoena)) == [("not_held_here", "subscriber_info")]


def test_grand_jury_subpoena_blocks_query_logs_only() -> None:
    facts = clean(
        process_type=ProcessType.SUBPOENA,
        legal_authority="Fed. R. Crim. P. 17 (grand jury)",
        data_categories=(Category.SUBSCRIBER_INFO, Category.QUERY_LOGS),
    )
    findings = findings_evaluate(facts=facts)
    assert codes(findings) == [
        ("insufficient_process", "query_logs"),
        ("not_held_here", "subscriber_info"),
    ]
    assert findings[0].message == (
        "A subpoena cannot compel query logs: they are records under 18 U.S.C. 2703(c)(1) "
        "and need a court order under 2703(d) or a search warrant. The subpoena can reach "
        "basic subscriber information only."
    )
    assert findings[1].severity == Severity.WARNING
    assert "subscriber-records team" in findings[1].message
    assert blocking_categories(findings) == {"query_logs"}


def test_stale_federal_warrant_with_blank_window_is_expired_after_14_days() -> None:
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        legal_authority="18 U.S.C. 2703(c)(1)(A); Fed. R. Crim. P. 41",
        issued_on=date(2026, 11, 1),
        expires_on=None,
        received_at=datetime(2026, 11, 21, 18, 0, tzinfo=UTC),  # 20 days after issue
        document_texts=(SIGNED_WARRANT,),
    )
    finding = only(findings_evaluate(facts=facts), "expired_process")
    assert (finding.severity, finding.category) == (Severity.ERROR, None)
    assert "closed at the end of 2026-11-15" in finding.message
    assert "14 days after issue on 2026-11-01, Fed. R. Crim. P. 41(e)(2)(A)" in finding.message
    assert blocking_categories([finding]) == {c.value for c in Category}


def test_federal_warrant_served_late_on_its_last_day_is_in_time() -> None:
    # 16:30 in California on day 14 is already the next day in UTC: still in time.
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        issued_on=date(2026, 11, 1),
        expires_on=None,
        received_at=datetime(2026, 11, 15, 16, 30, tzinfo=PACIFIC),
        date_to=datetime(2026, 11, 10, tzinfo=UTC),
        document_texts=(SIGNED_WARRANT,),
    )
    assert findings_evaluate(facts=facts) == []
    day_15 = dataclasses.replace(facts, received_at=datetime(2026, 11, 16, 12, 0, tzinfo=PACIFIC))
    assert "expired_process" in dict(codes(findings_evaluate(facts=day_15)))


def test_california_warrant_is_expired_after_10_days() -> None:
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        jurisdiction="US-CA",
        issued_on=date(2026, 11, 1),
        expires_on=None,
        received_at=datetime(2026, 11, 13, 18, 0, tzinfo=UTC),  # 12 days after issue
        date_to=datetime(2026, 10, 31, tzinfo=UTC),
        document_texts=(SIGNED_WARRANT,),
    )
    finding = only(findings_evaluate(facts=facts), "expired_process")
    assert "closed at the end of 2026-11-11" in finding.message
    assert "10 days after issue on 2026-11-01, Cal. Penal Code 1534(a)" in finding.message
    on_day_10 = dataclasses.replace(facts, received_at=datetime(2026, 11, 11, 18, 0, tzinfo=UTC))
    assert findings_evaluate(facts=on_day_10) == []


def test_a_later_date_on_a_california_warrant_cannot_extend_the_statutory_window() -> None:
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        jurisdiction="US-CA",
        issued_on=date(2026, 11, 1),
        expires_on=date(2026, 11, 30),
        received_at=datetime(2026, 11, 13, 18, 0, tzinfo=UTC),
        date_to=datetime(2026, 10, 31, tzinfo=UTC),
        document_texts=(SIGNED_WARRANT,),
    )
    finding = only(findings_evaluate(facts=facts), "expired_process")
    assert "the later date the warrant states, 2026-11-30, cannot extend it" in finding.message


def test_a_warrant_past_the_date_it_states_is_expired() -> None:
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        issued_on=date(2026, 11, 1),
        expires_on=date(2026, 11, 8),
        received_at=datetime(2026, 11, 10, 18, 0, tzinfo=UTC),
        date_to=datetime(2026, 10, 31, tzinfo=UTC),
        document_texts=(SIGNED_WARRANT,),
    )
    finding = only(findings_evaluate(facts=facts), "expired_process")
    assert "2026-11-08, UTC-10 (the date the warrant states)" in finding.message


def test_a_state_without_rules_on_file_falls_back_to_the_federal_window_and_says_so() -> None:
    facts = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        jurisdiction="US-TX",
        issued_on=date(2026, 11, 1),
        expires_on=None,
        received_at=datetime(2026, 11, 21, 18, 0, tzinfo=UTC),
        document_texts=(SIGNED_WARRANT,),
    )
    finding = only(findings_evaluate(facts=facts), "expired_process")
    assert "no rule on file for US-TX, so the federal window was used" in finding.message


def test_preservation_letter_raises_no_disclosure_findings() -> None:
    facts = clean(
        process_type=ProcessType.PRESERVATION,
        legal_authority="18 U.S.C. 2703(f)",
        issued_on=None,
        expires_on=None,
        # Preservation holds everything retained up to receipt, whatever range
        # the letter names: no range rule applies.
        date_from=None,
        date_to=datetime(2026, 12, 31, tzinfo=UTC),
        direction="both",
        identifier_count=40,
        has_document=False,
        document_texts=(),
    )
    assert findings_evaluate(facts=facts) == []
    with_letter = dataclasses.replace(
        facts, has_document=True, document_texts=(PRESERVATION_LETTER,)
    )
    assert findings_evaluate(facts=with_letter) == []


def test_second_preservation_renewal_is_an_internal_warning() -> None:
    facts = clean(process_type=ProcessType.PRESERVATION, has_document=False, renewal_count=1)
    assert findings_evaluate(facts=facts) == []
    twice = dataclasses.replace(facts, renewal_count=2)
    finding = only(findings_evaluate(facts=twice), "preservation_renewed_twice")
    assert (finding.severity, finding.audience) == (Severity.WARNING, Audience.INTERNAL)
    assert "renewed 2 times" in finding.message
    assert findings_for_agency([finding]) == []


def test_emergency_from_gmail_over_ten_days_and_five_identifiers() -> None:
    facts = clean(
        process_type=ProcessType.EMERGENCY,
        legal_authority="18 U.S.C. 2702(c)(4)",
        issued_on=None,
        expires_on=None,
        received_at=datetime(2026, 11, 24, 3, 12, tzinfo=UTC),
        date_from=datetime(2026, 11, 14, 0, 0, tzinfo=UTC),
        date_to=datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC),
        identifier_count=5,
        has_document=False,
        document_texts=(),
        contact_email="Sgt.Webb.Precinct9@Gmail.com",
    )
    findings = findings_evaluate(facts=facts)
    assert codes(findings) == [("emergency_scope", None), ("free_mail_sender", None)]
    scope, sender = findings
    assert (scope.severity, scope.audience) == (Severity.WARNING, Audience.AGENCY)
    assert "a range of 10 days (more than 7 days) and 5 identifiers (more than 3)" in scope.message
    assert (sender.severity, sender.audience) == (Severity.WARNING, Audience.INTERNAL)
    assert "gmail.com" in sender.message
    assert findings_for_agency(findings) == [scope]
    assert blocking_categories(findings) == set()


def test_emergency_within_seven_days_and_three_identifiers_is_in_scope() -> None:
    facts = clean(
        process_type=ProcessType.EMERGENCY,
        received_at=datetime(2026, 11, 24, 3, 12, tzinfo=UTC),
        date_from=datetime(2026, 11, 17, 0, 0, tzinfo=UTC),
        date_to=datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC),  # exactly 7 days
        identifier_count=3,
        has_document=False,
        document_texts=(),
    )
    assert findings_evaluate(facts=facts) == []


def test_request_from_a_foreign_police_force_is_foreign_process() -> None:
    facts = clean(
        jurisdiction="gb",
        process_type=ProcessType.SUBPOENA,
        legal_authority="Investigatory Powers Act 2016",
        contact_email="dc.smith@met.police.uk",
    )
    findings = findings_evaluate(facts=facts)
    # Federal and state process rules do not apply to it: they would only repeat this.
    assert codes(findings) == [("foreign_process", None)]
    assert "law of GB" in findings[0].message
    assert "Mutual Legal Assistance Treaty" in findings[0].message
    assert "CLOUD Act" in findings[0].message
    assert blocking_categories(findings) == {"query_logs", "subscriber_info", "content"}


@pytest.mark.parametrize(
    ("code", "domestic"),
    [("US", True), ("US-CA", True), ("us-ny", True), ("GB", False), ("DE", False), ("USA", False)],
)
def test_jurisdiction_is_domestic(code: str, domestic: bool) -> None:
    assert jurisdiction_is_domestic(code) is domestic


def test_unsigned_proposed_order_pdf_is_not_issued() -> None:
    weasyprint = pytest.importorskip("weasyprint")
    from legalops.cases.document_text import pdf_text

    pdf = weasyprint.HTML(
        string=(
            "<h1>UNITED STATES DISTRICT COURT</h1><p>Case No. ____</p>"
            "<h2>[PROPOSED] ORDER PURSUANT TO 18 U.S.C. 2703(d)</h2>"
            "<p>The provider shall disclose the records described in Attachment A.</p>"
            "<p>SO ORDERED this ___ day of ____, 2026.</p>"
        )
    ).write_pdf()
    facts = clean(document_texts=(pdf_text(pdf),))
    findings = findings_evaluate(facts=facts)
    assert codes(findings) == [("document_not_issued", None)]
    assert findings[0].message.startswith(
        "The uploaded document does not look like an issued court order: "
        'the text says "[PROPOSED]"; the docket number is blank; '
        "the date of issue is blank; no signature line."
    )
    assert blocking_categories(findings) == {"query_logs", "subscriber_info", "content"}


def test_an_unsigned_cover_letter_beside_the_signed_order_is_fine() -> None:
    letter = "Dear Custodian of Records,\nPlease find the attached order.\nSA Jordan Blake"
    assert findings_evaluate(facts=clean(document_texts=(letter, SIGNED_ORDER))) == []
    only_letter = findings_evaluate(facts=clean(document_texts=(letter,)))
    assert "no signature line" in only(only_letter, "document_not_issued").message


def test_a_scanned_order_without_text_is_an_internal_warning_only() -> None:
    findings = findings_evaluate(facts=clean(document_texts=("",)))
    assert codes(findings) == [("document_unreadable", None)]
    assert findings[0].audience == Audience.INTERNAL


def test_missing_document_blocks_compulsory_process_only() -> None:
    for process_type in (ProcessType.SUBPOENA, ProcessType.COURT_ORDER):
        facts = clean(
            process_type=process_type,
            data_categories=(Category.SUBSCRIBER_INFO,),
            has_document=False,
            document_texts=(),
        )
        finding = only(findings_evaluate(facts=facts), "missing_document")
        assert (finding.severity, finding.category) == (Severity.ERROR, None)
        assert f"No signed copy of the {process_type.label.lower()}" in finding.message
    for process_type in (ProcessType.EMERGENCY, ProcessType.PRESERVATION):
        facts = clean(process_type=process_type, has_document=False, document_texts=())
        assert "missing_document" not in dict(codes(findings_evaluate(facts=facts)))


def test_prospective_range_is_an_error() -> None:
    facts = clean(date_to=datetime(2026, 12, 31, 23, 59, 59, tzinfo=PACIFIC))
    finding = only(findings_evaluate(facts=facts), "prospective_scope")
    assert (finding.severity, finding.category) == (Severity.ERROR, None)
    assert "2027-01-01 07:59:59 UTC" in finding.message
    assert "18 U.S.C. 3123" in finding.message
    edge = clean(date_to=datetime(2026, 11, 24, 17, 0, tzinfo=UTC))  # ends at receipt
    assert findings_evaluate(facts=edge) == []


def test_range_before_the_retention_window_is_a_warning() -> None:
    facts = clean(date_from=datetime(2026, 10, 10, tzinfo=UTC))
    finding = only(findings_evaluate(facts=facts), "outside_retention")
    assert (finding.severity, finding.category) == (Severity.WARNING, "query_logs")
    assert "kept 30 days: rows before 2026-10-25 17:00:00 UTC" in finding.message
    longer = dataclasses.replace(facts, retention_days=60)
    assert findings_evaluate(facts=longer) == []


def test_overbroad_range_or_identifier_count_is_a_warning() -> None:
    received = datetime(2027, 3, 1, tzinfo=UTC)
    ninety = clean(
        received_at=received,
        expires_on=None,
        date_from=datetime(2026, 11, 1, tzinfo=UTC),
        date_to=datetime(2027, 1, 29, 23, 59, 59, tzinfo=UTC),  # exactly 90 days
        retention_days=400,
    )
    assert findings_evaluate(facts=ninety) == []
    longer = dataclasses.replace(ninety, date_to=datetime(2027, 1, 30, 0, 0, 0, tzinfo=UTC))
    finding = only(findings_evaluate(facts=longer), "overbroad")
    assert finding.severity == Severity.WARNING
    assert "a range of more than 90 days (more than 90 days)" in finding.message
    many = clean(identifier_count=26)
    assert (
        "26 identifiers (more than 25)" in only(findings_evaluate(facts=many), "overbroad").message
    )
    assert findings_evaluate(facts=clean(identifier_count=25)) == []


@pytest.mark.parametrize("direction", ["incoming", "both"])
def test_other_peoples_lookups_are_a_warning(direction: str) -> None:
    finding = only(findings_evaluate(facts=clean(direction=direction)), "third_party_records")
    assert (finding.severity, finding.category) == (Severity.WARNING, "query_logs")
    assert "other people's records" in finding.message


def test_content_is_never_held() -> None:
    warrant = clean(
        process_type=ProcessType.SEARCH_WARRANT,
        issued_on=date(2026, 11, 20),
        expires_on=None,
        data_categories=(Category.CONTENT, Category.QUERY_LOGS),
        document_texts=(SIGNED_WARRANT,),
    )
    assert codes(findings_evaluate(facts=warrant)) == [("no_content_held", "content")]
    order = clean(data_categories=(Category.CONTENT, Category.QUERY_LOGS))
    findings = findings_evaluate(facts=order)
    assert codes(findings) == [("insufficient_process", "content"), ("no_content_held", "content")]
    assert "message content needs a search warrant" in findings[0].message
    assert blocking_categories(findings) == {"content"}


def test_return_date_passed_is_a_warning() -> None:
    facts = clean(
        process_type=ProcessType.SUBPOENA,
        data_categories=(Category.SUBSCRIBER_INFO,),
        issued_on=date(2026, 11, 2),
        expires_on=date(2026, 11, 16),
    )
    finding = only(findings_evaluate(facts=facts), "return_date_passed")
    assert (finding.severity, finding.audience) == (Severity.WARNING, Audience.AGENCY)
    assert "return date of 2026-11-16" in finding.message
    on_the_day = dataclasses.replace(facts, expires_on=date(2026, 11, 24))
    assert "return_date_passed" not in dict(codes(findings_evaluate(facts=on_the_day)))


@pytest.mark.parametrize(
    ("date_from", "date_to", "missing"),
    [(None, datetime(2026, 11, 19, tzinfo=UTC), "start"), (None, None, "start or end")],
)
def test_open_ended_range_is_an_error_for_query_logs(
    date_from: datetime | None, date_to: datetime | None, missing: str
) -> None:
    findings = findings_evaluate(facts=clean(date_from=date_from, date_to=date_to))
    finding = only(findings, "open_ended")
    assert (finding.severity, finding.category) == (Severity.ERROR, "query_logs")
    assert f"gives no {missing} date" in finding.message
    assert blocking_categories(findings) == {"query_logs"}


def test_a_subscriber_only_request_needs_no_range() -> None:
    facts = clean(
        process_type=ProcessType.SUBPOENA,
        data_categories=(Category.SUBSCRIBER_INFO,),
        date_from=None,
        date_to=None,
    )
    assert codes(findings_evaluate(facts=facts)) == [("not_held_here", "subscriber_info")]


def test_a_court_order_not_under_2703d_is_a_warning() -> None:
    facts = clean(legal_authority="18 U.S.C. 3123 (pen register / trap and trace)")
    finding = only(findings_evaluate(facts=facts), "order_not_under_2703d")
    assert finding.severity == Severity.WARNING
    assert 'cites "18 U.S.C. 3123 (pen register / trap and trace)"' in finding.message
    unstated = only(findings_evaluate(facts=clean(legal_authority="")), "order_not_under_2703d")
    assert "states no legal authority" in unstated.message
    for cited in ("18 USC § 2703 (d)", "2703d order"):
        assert findings_evaluate(facts=clean(legal_authority=cited)) == []


def test_indefinite_and_long_nondisclosure_orders_are_flagged_internally() -> None:
    indefinite = only(
        findings_evaluate(facts=clean(nondisclosure_indefinite=True)), "nondisclosure_indefinite"
    )
    assert indefinite.audience == Audience.INTERNAL
    long = only(
        findings_evaluate(facts=clean(nondisclosure_until=date(2027, 11, 21))),
        "nondisclosure_over_one_year",
    )
    assert "after the order's issue on 2026-11-20" in long.message
    one_year = clean(nondisclosure_until=date(2027, 11, 20), nondisclosure_order_confirmed=True)
    assert findings_evaluate(facts=one_year) == []


def test_an_ask_for_silence_without_a_confirmed_order_tells_the_agency_notice_applies() -> None:
    asked = only(
        findings_evaluate(facts=clean(nondisclosure_until=date(2027, 3, 1))),
        "nondisclosure_order_missing",
    )
    assert asked.audience == Audience.AGENCY and asked.severity == "warning"
    assert "(until 2027-03-01)" in asked.message and "not an order" in asked.message
    forever = only(
        findings_evaluate(facts=clean(nondisclosure_indefinite=True)),
        "nondisclosure_order_missing",
    )
    assert "(until further order)" in forever.message
    confirmed = clean(nondisclosure_until=date(2027, 3, 1), nondisclosure_order_confirmed=True)
    assert findings_evaluate(facts=confirmed) == []
    # Nothing asked, nothing to say; and never for process that has no notice to delay.
    assert findings_evaluate(facts=clean()) == []
    emergency = clean(
        process_type=ProcessType.EMERGENCY, nondisclosure_until=date(2027, 3, 1), has_document=False
    )
    assert "nondisclosure_order_missing" not in [f.code for f in findings_evaluate(facts=emergency)]


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("a@gmail.com", "gmail.com"),
        ("A@GMX.DE", "gmx.de"),
        ("x@gmx.net", "gmx.net"),
        ("x@yandex.ru", "yandex.ru"),
        ("x@proton.me.", "proton.me"),
        ("j.blake@fbi.gov", None),
        ("x@notgmail.com", None),
        ("x@gmail.com.evil.example", None),
        ("", None),
        ("no-at-sign", None),
    ],
)
def test_free_mail_domains(email: str, domain: str | None) -> None:
    assert email_is_free_mail(email) == domain


def test_free_mail_list_covers_the_agreed_domains() -> None:
    for pattern in ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com"):
        assert pattern in FREE_MAIL_DOMAINS
    for pattern in ("icloud.com", "proton.me", "protonmail.com", "gmx.*", "mail.com", "yandex.*"):
        assert pattern in FREE_MAIL_DOMAINS


# --- blocking_categories -------------------------------------------------------------


def _finding(severity: Severity, category: str | None, code: str = "x") -> Finding:
    return Finding(code, severity, Audience.AGENCY, category, "m", RULES_VERSION)


def test_blocking_categories() -> None:
    assert blocking_categories([]) == set()
    assert blocking_categories([_finding(Severity.WARNING, None)]) == set()
    assert blocking_categories([_finding(Severity.WARNING, "query_logs")]) == set()
    assert blocking_categories(
        [_finding(Severity.ERROR, "query_logs"), _finding(Severity.ERROR, "content")]
    ) == {"query_logs", "content"}
    assert blocking_categories(
        [_finding(Severity.ERROR, "query_logs"), _finding(Severity.ERROR, None)]
    ) == {"query_logs", "subscriber_info", "content"}


# --- facts validation ----------------------------------------------------------------


def test_facts_take_plain_strings_from_the_database() -> None:
    facts = clean(process_type="subpoena", data_categories=["query_logs"], jurisdiction=" us-ca ")
    assert facts.process_type is ProcessType.SUBPOENA
    assert facts.data_categories == (Category.QUERY_LOGS,)
    assert facts.jurisdiction == "US-CA"


@pytest.mark.parametrize(
    "changes",
    [
        {"received_at": datetime(2026, 11, 24, 17, 0)},
        {"date_from": datetime(2026, 11, 1)},
        {"process_type": "wiretap"},
        {"data_categories": ("location",)},
        {"direction": "sideways"},
        {"jurisdiction": " "},
        {"identifier_count": -1},
        {"retention_days": 0},
    ],
)
def test_facts_reject_invalid_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="RequestFacts"):
        clean(**changes)


# --- the table -----------------------------------------------------------------------

# A realistic request that raises each rule, so every message is rendered at
# least once from real facts. A new rule without an entry here fails the test.
TRIGGERS: dict[str, RequestFacts] = {
    "foreign_process": clean(jurisdiction="DE"),
    "insufficient_process": clean(process_type=ProcessType.SUBPOENA),
    "state_law_requires_warrant": clean(jurisdiction="US-CA"),
    "order_not_under_2703d": clean(legal_authority="Cal. Penal Code 1524"),
    "missing_document": clean(has_document=False, document_texts=()),
    "document_not_issued": clean(document_texts=("[PROPOSED] ORDER",)),
    "document_unreadable": clean(document_texts=("",)),
    "expired_process": clean(
        process_type=ProcessType.SEARCH_WARRANT, issued_on=date(2026, 11, 1), expires_on=None
    ),
    "return_date_passed": clean(expires_on=date(2026, 11, 21)),
    "open_ended": clean(date_to=None),
    "prospective_scope": clean(date_to=datetime(2027, 1, 1, tzinfo=UTC)),
    "outside_retention": clean(date_from=datetime(2026, 10, 1, tzinfo=UTC)),
    "overbroad": clean(identifier_count=100),
    "third_party_records": clean(direction="incoming"),
    "emergency_scope": clean(
        process_type=ProcessType.EMERGENCY, identifier_count=4, has_document=False
    ),
    "free_mail_sender": clean(contact_email="det@yahoo.com"),
    "no_content_held": clean(
        process_type=ProcessType.SEARCH_WARRANT, data_categories=(Category.CONTENT,)
    ),
    "not_held_here": clean(data_categories=(Category.SUBSCRIBER_INFO,)),
    "preservation_renewed_twice": clean(process_type=ProcessType.PRESERVATION, renewal_count=3),
    "nondisclosure_order_missing": clean(nondisclosure_until=date(2027, 3, 1)),
    "nondisclosure_indefinite": clean(nondisclosure_indefinite=True),
    "nondisclosure_over_one_year": clean(nondisclosure_until=date(2028, 1, 1)),
}


def test_rule_codes_are_unique_and_each_has_a_title_a_basis_and_a_trigger() -> None:
    assert len({rule.code for rule in RULES}) == len(RULES) == len(RULES_BY_CODE)
    assert set(TRIGGERS) == set(RULES_BY_CODE)
    for rule in RULES:
        assert rule.code.isidentifier() and rule.code.islower(), rule.code
        assert rule.title.strip() and rule.basis.strip() and rule.message.strip(), rule.code
        assert rule.process_types, rule.code
        assert not (rule.per_category and rule.category is not None), rule.code


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_every_rule_renders_its_message_from_the_facts_it_needs(rule: object) -> None:
    assert rule in RULES
    code = rule.code  # type: ignore[attr-defined]
    findings = [f for f in findings_evaluate(facts=TRIGGERS[code]) if f.code == code]
    assert findings, f"{code} did not fire on its trigger"
    for finding in findings:
        assert "{" not in finding.message and "}" not in finding.message
        assert not re.search(r"\bNone\b(?! of)", finding.message), finding.message
        assert finding.rules_version == RULES_VERSION
        assert (finding.severity, finding.audience) == (rule.severity, rule.audience)  # type: ignore[attr-defined]
        assert finding.message.endswith("."), finding.message


# The severity, audience and category DESIGN.md and the brief give each code;
# "*" is a per-category rule.
EXPECTED = {
    "insufficient_process": ("error", "agency", "*"),
    "state_law_requires_warrant": ("error", "agency", "*"),
    "foreign_process": ("error", "agency", None),
    "prospective_scope": ("error", "agency", None),
    "expired_process": ("error", "agency", None),
    "return_date_passed": ("warning", "agency", None),
    "missing_document": ("error", "agency", None),
    "document_not_issued": ("error", "agency", None),
    "outside_retention": ("warning", "agency", "query_logs"),
    "overbroad": ("warning", "agency", None),
    "open_ended": ("error", "agency", "query_logs"),
    "third_party_records": ("warning", "agency", "query_logs"),
    "emergency_scope": ("warning", "agency", None),
    "free_mail_sender": ("warning", "internal", None),
    "no_content_held": ("warning", "agency", "content"),
    "not_held_here": ("warning", "agency", "subscriber_info"),
    "preservation_renewed_twice": ("warning", "internal", None),
    "nondisclosure_order_missing": ("warning", "agency", None),
    "nondisclosure_indefinite": ("warning", "internal", None),
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_rule_severity_audience_and_category_match_the_design(code: str) -> None:
    rule = RULES_BY_CODE[code]
    severity, audience, category = EXPECTED[code]
    assert (rule.severity, rule.audience) == (severity, audience)
    if category == "*":
        assert rule.per_category and rule.category is None
    else:
        assert rule.category == category and not rule.per_category


def test_internal_findings_are_only_fraud_policy_and_notice_signals() -> None:
    internal = {rule.code for rule in RULES if rule.audience == Audience.INTERNAL}
    assert internal == {
        "document_unreadable",
        "free_mail_sender",
        "preservation_renewed_twice",
        "nondisclosure_indefinite",
        "nondisclosure_over_one_year",
    }


def test_minimum_process_table_matches_the_design() -> None:
    table = {row.category: set(row.sufficient) for row in FEDERAL_MINIMUM_PROCESS}
    assert table == {
        Category.SUBSCRIBER_INFO: {
            ProcessType.SUBPOENA,
            ProcessType.COURT_ORDER,
            ProcessType.SEARCH_WARRANT,
        },
        Category.QUERY_LOGS: {ProcessType.COURT_ORDER, ProcessType.SEARCH_WARRANT},
        Category.CONTENT: {ProcessType.SEARCH_WARRANT},
    }
    california = {row.code: row for row in STATE_RULES}["US-CA"]
    assert california.warrant_window_days == 10
    assert california.warrant_only == (Category.QUERY_LOGS,)


def test_findings_come_in_table_order_then_category_order() -> None:
    facts = clean(
        process_type=ProcessType.SUBPOENA,
        data_categories=(Category.CONTENT, Category.SUBSCRIBER_INFO, Category.QUERY_LOGS),
        direction="both",
        contact_email="x@aol.com",
        has_document=False,
        document_texts=(),
    )
    findings = findings_evaluate(facts=facts)
    assert codes(findings) == [
        ("insufficient_process", "query_logs"),
        ("insufficient_process", "content"),
        ("missing_document", None),
        ("third_party_records", "query_logs"),
        ("free_mail_sender", None),
        ("no_content_held", "content"),
        ("not_held_here", "subscriber_info"),
    ]
    assert findings_evaluate(facts=facts) == findings  # deterministic


def test_finding_as_dict_is_the_api_shape() -> None:
    finding = findings_evaluate(facts=clean(direction="both"))[0]
    assert finding.as_dict() == {
        "code": "third_party_records",
        "severity": "warning",
        "audience": "agency",
        "category": "query_logs",
        "message": finding.message,
    }
    assert all(type(value) is str for value in finding.as_dict().values())
