"""Legal-sufficiency rules for legal process, kept as data (DESIGN.md, "Legal rules").

How to read this module, top to bottom:

1. The vocabulary: process types, data categories, severities, audiences.
2. ``FEDERAL_MINIMUM_PROCESS``: which process unlocks which data category.
3. ``FEDERAL`` and ``STATE_RULES``: what changes per jurisdiction (warrant
   execution windows, state laws that demand a warrant).
4. The thresholds (retention, breadth, emergencies) and the free-mail list.
5. ``RULES``: every finding the system can raise, in the order it reports them,
   each with its severity, who sees it, the data category it concerns, the message
   the reader gets and the legal source it rests on.
6. The evaluator: ``findings_evaluate(facts=...)``, a pure function of
   ``RequestFacts``. One small check per rule decides *whether* it fires and
   supplies the facts its message names; everything a lawyer signs off is above.

An ``error`` blocks approving its category (or every category when it has none);
a ``warning`` informs. ``internal`` findings are never shown to the agency.
Each finding records ``RULES_VERSION``: bump it whenever a rule, a threshold or a
message changes, so a stored finding can always be traced to the table that made it.

Not legal advice: the legal team signs off this table (research/domain.md (b)).
"""

import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from fnmatch import fnmatchcase

from django.db.models import TextChoices

from legalops.cases.document_text import NO_SIGNATURE_REASON, not_issued_signs

RULES_VERSION = "2026.12.2"


# --- 1. Vocabulary ------------------------------------------------------------------


class Severity(TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


class Audience(TextChoices):
    AGENCY = "agency", "Agency and staff"
    INTERNAL = "internal", "Staff only"


class Category(TextChoices):
    QUERY_LOGS = "query_logs", "Query logs"
    SUBSCRIBER_INFO = "subscriber_info", "Subscriber information"
    CONTENT = "content", "Content"


class ProcessType(TextChoices):
    SUBPOENA = "subpoena", "Subpoena"
    COURT_ORDER = "court_order", "Court order"
    SEARCH_WARRANT = "search_warrant", "Search warrant"
    EMERGENCY = "emergency", "Emergency request"
    PRESERVATION = "preservation", "Preservation request"


# Process that compels disclosure. Emergencies (voluntary disclosure, 18 U.S.C.
# 2702(b)(8), (c)(4)) and preservations (2703(f): disclose nothing) are their own
# regimes and never "insufficient": they do not compel anything.
COMPULSORY = (ProcessType.SUBPOENA, ProcessType.COURT_ORDER, ProcessType.SEARCH_WARRANT)
DISCLOSING = (*COMPULSORY, ProcessType.EMERGENCY)
ALL_PROCESS = (*DISCLOSING, ProcessType.PRESERVATION)

DIRECTIONS = ("outgoing", "incoming", "both")

_ARTICLE = {ProcessType.EMERGENCY: "an"}  # every other label takes "a"


# --- 2. Minimum process per data category (federal law) -----------------------------


@dataclass(frozen=True)
class MinimumProcess:
    """The compulsory process that unlocks one data category."""

    category: Category
    sufficient: tuple[ProcessType, ...]
    requirement: str  # completes "A subpoena cannot compel query logs: ..."
    basis: str


FEDERAL_MINIMUM_PROCESS: tuple[MinimumProcess, ...] = (
    MinimumProcess(
        category=Category.SUBSCRIBER_INFO,
        sufficient=(ProcessType.SUBPOENA, ProcessType.COURT_ORDER, ProcessType.SEARCH_WARRANT),
        requirement=(
            "basic subscriber information can be compelled by an administrative, grand-jury "
            "or trial subpoena, or by a 2703(d) order or a warrant (18 U.S.C. 2703(c)(2))"
        ),
        basis="18 U.S.C. 2703(c)(2)",
    ),
    MinimumProcess(
        # A log row holds the looked-up identifier (the other party's address):
        # a non-content record under 2703(c)(1), outside the 2703(c)(2) list a
        # subpoena reaches. Conservative default: a subpoena unlocks no rows.
        category=Category.QUERY_LOGS,
        sufficient=(ProcessType.COURT_ORDER, ProcessType.SEARCH_WARRANT),
        requirement=(
            "they are records under 18 U.S.C. 2703(c)(1) and need a court order under "
            "2703(d) or a search warrant"
        ),
        basis="18 U.S.C. 2703(c)(1)(A)-(B), 2703(d)",
    ),
    MinimumProcess(
        # 2703(b) would allow a subpoena or a 2703(d) order with notice for older
        # content, but since Warshak providers and DOJ require a warrant for all of it.
        category=Category.CONTENT,
        sufficient=(ProcessType.SEARCH_WARRANT,),
        requirement=(
            "message content needs a search warrant (18 U.S.C. 2703(a); United States v. "
            "Warshak, 631 F.3d 266 (6th Cir. 2010))"
        ),
        basis="18 U.S.C. 2703(a)-(b); United States v. Warshak, 631 F.3d 266 (6th Cir. 2010)",
    ),
)
MINIMUM_PROCESS_BY_CATEGORY: Mapping[Category, MinimumProcess] = {
    row.category: row for row in FEDERAL_MINIMUM_PROCESS
}

# What each compulsory process does reach, for the second sentence of
# ``insufficient_process`` (so the agency knows what it can still get).
PROCESS_REACH: Mapping[ProcessType, str] = {
    ProcessType.SUBPOENA: "The subpoena can reach basic subscriber information only.",
    ProcessType.COURT_ORDER: "A 2703(d) order can reach non-content records, not content.",
    ProcessType.SEARCH_WARRANT: "A search warrant can reach every category.",
}


# --- 3. Jurisdictions ----------------------------------------------------------------


@dataclass(frozen=True)
class JurisdictionRules:
    """What one jurisdiction's own law adds to the federal baseline."""

    code: str  # "US" or ISO 3166-2 "US-XX"
    name: str
    # A warrant whose document leaves the execution window blank must be executed
    # within this many days of issue; a later date on the document cannot extend it.
    warrant_window_days: int
    warrant_window_basis: str
    # When the last day of a window ends. A fixed offset, the westernmost (latest)
    # clock of that jurisdiction's courts all year round, so a receipt late on the
    # last day is never called late: a false "expired" blocks a valid warrant.
    day_ends_at: timezone
    # Categories this jurisdiction's own entities may compel only by search warrant
    # (or by process this system does not take: wiretap and pen/trap orders).
    warrant_only: tuple[Category, ...] = ()
    warrant_only_rule: str = ""
    warrant_only_basis: str = ""


FEDERAL = JurisdictionRules(
    code="US",
    name="federal",
    warrant_window_days=14,
    warrant_window_basis="Fed. R. Crim. P. 41(e)(2)(A)",
    # The District of Hawaii is the westernmost federal court (UTC-10, no DST).
    day_ends_at=timezone(timedelta(hours=-10), "UTC-10"),
)

STATE_RULES: tuple[JurisdictionRules, ...] = (
    JurisdictionRules(
        code="US-CA",
        name="California",
        # "within 10 days after date of issuance ... After the expiration of 10
        # days, the warrant, unless executed, is void."
        warrant_window_days=10,
        warrant_window_basis="Cal. Penal Code 1534(a)",
        # Pacific Standard Time; in summer the day really ends an hour earlier.
        day_ends_at=timezone(timedelta(hours=-8), "UTC-8"),
        # CalECPA: "electronic communication information" includes metadata
        # (sender, recipient, time, IP), so it covers query logs; subscriber
        # information is defined apart (1546(l)) and stays on the federal baseline.
        warrant_only=(Category.QUERY_LOGS,),
        warrant_only_rule=(
            "California law (CalECPA) lets a California government entity compel "
            "electronic communication information, which includes metadata such as "
            "these query logs, only by a search warrant, a wiretap order or a "
            "pen-register/trap-and-trace order"
        ),
        warrant_only_basis="Cal. Penal Code 1546(d), 1546.1(b) (CalECPA)",
    ),
)
STATE_RULES_BY_CODE: Mapping[str, JurisdictionRules] = {row.code: row for row in STATE_RULES}

_DOMESTIC = re.compile(r"US(?:-[A-Z]{2})?")


def jurisdiction_is_domestic(code: str) -> bool:
    """Federal (``US``) or a US state or territory (``US-XX``)."""
    return _DOMESTIC.fullmatch(code.strip().upper()) is not None


def jurisdiction_rules(code: str) -> tuple[JurisdictionRules, bool]:
    """The rules for ``code`` and whether they are on file (``False``: federal fallback).

    A state without an entry falls back to the federal rules, and messages say so:
    state warrant procedure governs a state warrant (18 U.S.C. 2703(a)), and the
    legal team should add that state before relying on the fallback.
    """
    code = code.strip().upper()
    if code == FEDERAL.code:
        return FEDERAL, True
    if code in STATE_RULES_BY_CODE:
        return STATE_RULES_BY_CODE[code], True
    return FEDERAL, False


# --- 4. Thresholds and lists --------------------------------------------------------

RETENTION_DAYS_DEFAULT = 30
# Beyond these a request is flagged as overbroad for the reviewer (not blocked).
OVERBROAD_MAX_DAYS = 90
OVERBROAD_MAX_IDENTIFIERS = 25
# An emergency reaches only "information relating to the emergency".
EMERGENCY_MAX_DAYS = 7
EMERGENCY_MAX_IDENTIFIERS = 3
# 18 U.S.C. 2703(f)(2) provides one 90-day extension.
PRESERVATION_RENEWALS_IN_STATUTE = 1
# DOJ policy (Oct. 19, 2017): delay notice "for one year or less" barring
# exceptional circumstances.
NDO_MAX_YEARS = 1

# Free-mail providers: agencies write from their own domains, and forged emergency
# requests often come from free or compromised mailboxes. Shell-style patterns:
# "gmx.*" is every GMX country domain.
FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.*",
    "mail.com",
    "yandex.*",
)


# --- 5. The rules table --------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One finding the system can raise.

    ``category`` is the data category the rule always concerns, or ``None`` when it
    concerns the whole request; a ``per_category`` rule (``category`` ``None``)
    raises one finding per requested category it fails, carrying that category.
    A rule with a category fires only when that category is requested.
    ``message`` is a ``str.format`` template; every message may use ``{process}``
    ("court order"), ``{a_process}`` / ``{A_process}`` ("a court order"),
    ``{jurisdiction}``, ``{received_at}``, ``{identifier_count}`` and
    ``{direction}``, plus the fields its check supplies.
    """

    code: str
    severity: Severity
    audience: Audience
    category: Category | None
    title: str
    message: str
    basis: str
    process_types: tuple[ProcessType, ...] = ALL_PROCESS
    # Federal and state process law only: a foreign request is answered by
    # foreign_process, and these rules would only repeat it in other words.
    domestic_only: bool = False
    per_category: bool = False

    @property
    def fields(self) -> frozenset[str]:
        """The named fields the message template uses."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.message) if name)


E, W = Severity.ERROR, Severity.WARNING
AGENCY, INTERNAL = Audience.AGENCY, Audience.INTERNAL

RULES: tuple[Rule, ...] = (
    # Who may ask ------------------------------------------------------------------
    Rule(
        code="foreign_process",
        severity=E,
        audience=AGENCY,
        category=None,
        title="Foreign legal process",
        message=(
            "This request was issued under the law of {jurisdiction}, not of the United "
            'States or a US state. A foreign authority is not a "governmental entity" '
            "under the Stored Communications Act, so its process does not compel this "
            "provider. Route the request through a Mutual Legal Assistance Treaty request "
            "or, where one is in force, an executive agreement under the CLOUD Act."
        ),
        basis="18 U.S.C. 2711(4), 2703; 18 U.S.C. 3512 (MLAT); 18 U.S.C. 2523 (CLOUD Act)",
    ),
    # Is the process enough for what it asks? ------------------------------------------
    Rule(
        code="insufficient_process",
        severity=E,
        audience=AGENCY,
        category=None,
        per_category=True,
        title="Process below what the category needs",
        message="{A_process} cannot compel {category}: {requirement}. {reach}",
        basis="18 U.S.C. 2703(a)-(d); table FEDERAL_MINIMUM_PROCESS",
        process_types=COMPULSORY,
        domestic_only=True,
    ),
    Rule(
        code="state_law_requires_warrant",
        severity=E,
        audience=AGENCY,
        category=None,
        per_category=True,
        title="State law requires a warrant",
        message=(
            "{state_rule} ({state_basis}). {A_process} from {state_name} is not enough "
            "for {category}, even where federal law would accept it."
        ),
        basis="State law, per jurisdiction (STATE_RULES); California: Cal. Penal Code 1546.1(b)",
        process_types=COMPULSORY,
        domestic_only=True,
    ),
    Rule(
        code="order_not_under_2703d",
        severity=W,
        audience=AGENCY,
        category=Category.QUERY_LOGS,
        title="Court order not shown to be a 2703(d) order",
        message=(
            "The order {authority_text}, not 18 U.S.C. 2703(d). Query logs need an order "
            "under 2703(d), issued on specific and articulable facts, or a search warrant; "
            "a pen-register/trap-and-trace order (18 U.S.C. 3123) reaches only future "
            "addressing information. The reviewer confirms from the signed order that it "
            "was issued under 2703(d)."
        ),
        basis="18 U.S.C. 2703(c)(1)(B), 2703(d)",
        process_types=(ProcessType.COURT_ORDER,),
        domestic_only=True,
    ),
    # Is the document real, issued and current? ---------------------------------------
    Rule(
        code="missing_document",
        severity=E,
        audience=AGENCY,
        category=None,
        title="No signed document uploaded",
        message=(
            "No signed copy of the {process} has been uploaded. The provider answers "
            "compulsory process only on the document itself: it relies on it in good "
            "faith and keeps it with the production. Upload the signed {process}."
        ),
        basis="18 U.S.C. 2703(e), 2707(e); Fed. R. Crim. P. 41(f)(1)(C)",
        process_types=COMPULSORY,
    ),
    Rule(
        code="document_not_issued",
        severity=E,
        audience=AGENCY,
        category=None,
        title="Document is not an issued order",
        message=(
            "The uploaded document does not look like an issued {process}: {reasons}. A "
            "draft or proposed order compels nothing, and the provider can rely in good "
            "faith only on process actually issued. Upload the signed, issued {process}."
        ),
        basis="Fed. R. Crim. P. 17(a), 41(e)(1); 18 U.S.C. 2703(d), 2707(e)",
        process_types=COMPULSORY,
    ),
    Rule(
        code="document_unreadable",
        severity=W,
        audience=INTERNAL,
        category=None,
        title="Document has no readable text",
        message=(
            "None of the uploaded documents has a text layer (a scan, or a PDF protected "
            "by a password), so the automatic checks for a draft, a blank docket number "
            "or date and a missing signature could not run. The reviewer reads the "
            "{process} and confirms it was issued and signed."
        ),
        basis="18 U.S.C. 2707(e) (good-faith reliance presumes someone read the process)",
        process_types=COMPULSORY,
    ),
    Rule(
        code="expired_process",
        severity=E,
        audience=AGENCY,
        category=None,
        title="Warrant served after its execution window",
        message=(
            "The search warrant was served at {received_at}, after its execution window "
            "closed at the end of {window_end}, {clock} ({window_source}). A warrant not "
            "executed within its window is stale and authorizes nothing. Ask the agency for "
            "a new warrant."
        ),
        basis="Fed. R. Crim. P. 41(e)(2)(A); per state (STATE_RULES): Cal. Penal Code 1534(a)",
        process_types=(ProcessType.SEARCH_WARRANT,),
        domestic_only=True,
    ),
    Rule(
        code="return_date_passed",
        severity=W,
        audience=AGENCY,
        category=None,
        title="Return date has passed",
        message=(
            "The {process} sets a return date of {expires_on}, but it was received at "
            "{received_at}, after that date had ended. The reviewer confirms with the agency "
            "that the {process} is still in force (extended or re-issued) before answering it."
        ),
        basis="The return date the process states; Fed. R. Crim. P. 17(a), (c)(1)",
        process_types=(ProcessType.SUBPOENA, ProcessType.COURT_ORDER),
    ),
    # What range and whose records? ---------------------------------------------------
    Rule(
        # An error, not a warning: a scope is identifiers x a closed range and may
        # only narrow what was asked, so a missing bound leaves the reviewer to pick
        # the period the court did not state. The agency states both dates (an order
        # with no date limit is answered up to receipt and back to retention).
        code="open_ended",
        severity=E,
        audience=AGENCY,
        category=Category.QUERY_LOGS,
        title="Missing start or end date",
        message=(
            "The request gives no {missing} date, so the period of query logs it covers is "
            "not fixed. Send both dates the {process} authorizes; the provider will not "
            "choose a period on the court's behalf."
        ),
        basis=(
            "In re Applications of the U.S. for Orders Pursuant to 18 U.S.C. 2703(d), "
            "206 F. Supp. 3d 454 (D.D.C. 2016); Fourth Amendment particularity"
        ),
        process_types=DISCLOSING,
    ),
    Rule(
        # Folds in "pen/trap order needed": future collection is exactly what a
        # pen-register/trap-and-trace order is for, and nothing else reaches it.
        code="prospective_scope",
        severity=E,
        audience=AGENCY,
        category=None,
        title="Range reaches past receipt",
        message=(
            "The range ends {date_to}, after the request was received ({received_at}). "
            "Records after receipt do not exist yet, and collecting them as they happen "
            "needs a pen-register/trap-and-trace order (18 U.S.C. 3123), which this "
            "system does not serve. Only records up to receipt can be produced or held; "
            "send a range that ends by then."
        ),
        basis="18 U.S.C. 2703(c), (f) (stored records only); 18 U.S.C. 3121(a), 3123",
        process_types=DISCLOSING,
    ),
    Rule(
        code="outside_retention",
        severity=W,
        audience=AGENCY,
        category=Category.QUERY_LOGS,
        title="Range starts before the retention window",
        message=(
            "The range starts {date_from}, but query logs are kept {retention_days} days: "
            "rows before {retention_start} have been deleted unless a legal hold kept "
            "them. Only rows that still exist can be produced."
        ),
        basis="Provider retention policy; 18 U.S.C. 2703(f) (only existing records are kept)",
        process_types=DISCLOSING,
    ),
    Rule(
        code="overbroad",
        severity=W,
        audience=AGENCY,
        category=None,
        title="Overbroad request",
        message=(
            "The request covers {excess}. Courts expect the range and the accounts to be "
            "tied to the investigation, and a provider may move to quash or modify a "
            "2703(d) order for unusually voluminous records. The reviewer confirms the "
            "{process} itself authorizes this breadth, or agrees a narrower scope with "
            "the agency."
        ),
        basis=(
            "18 U.S.C. 2703(d) (motion to quash or modify); In re Applications of the U.S. "
            "for Orders Pursuant to 18 U.S.C. 2703(d), 206 F. Supp. 3d 454 (D.D.C. 2016)"
        ),
        process_types=COMPULSORY,
    ),
    Rule(
        code="third_party_records",
        severity=W,
        audience=AGENCY,
        category=Category.QUERY_LOGS,
        title="Other people's lookups requested",
        message=(
            "The request asks for {direction_text}. Those rows are other people's records: "
            "who looked the identifiers up, and from which IP address. The reviewer "
            "confirms the {process} expressly authorizes that direction before they are "
            "produced."
        ),
        basis=(
            "18 U.S.C. 3127(3)-(4) (outgoing vs incoming addressing are authorized "
            "separately); Fourth Amendment particularity"
        ),
        process_types=DISCLOSING,
    ),
    # Emergencies ------------------------------------------------------------------------
    Rule(
        code="emergency_scope",
        severity=W,
        audience=AGENCY,
        category=None,
        title="Emergency request broader than an emergency",
        message=(
            "An emergency disclosure reaches only information relating to the emergency. "
            "This request covers {excess}; the reviewer narrows it to what the emergency "
            "needs, and the rest needs legal process."
        ),
        basis='18 U.S.C. 2702(c)(4) ("information relating to the emergency")',
        process_types=(ProcessType.EMERGENCY,),
    ),
    Rule(
        # Every process type, not only emergencies: forged subpoenas arrive from the
        # same compromised and free mailboxes as forged emergency requests.
        code="free_mail_sender",
        severity=W,
        audience=INTERNAL,
        category=None,
        title="Contact at a free-mail domain",
        message=(
            "The contact address {contact_email} is at a free-mail domain ({domain}). "
            "Agencies normally write from their own domain, and forged requests often use "
            "free or compromised mailboxes. Verify the requester through the agency's "
            "published number before acting."
        ),
        basis="Fraud signal (provider policy); 18 U.S.C. 2702(c)(4) good-faith belief",
    ),
    # What this system holds --------------------------------------------------------------
    Rule(
        code="no_content_held",
        severity=W,
        audience=AGENCY,
        category=Category.CONTENT,
        title="No content held",
        message=(
            "This provider stores no message content: capability-lookup logs record who "
            "looked up whom, when and from which IP address, never what was said. There is "
            "no content to produce for this {process}."
        ),
        basis='18 U.S.C. 2703(a)-(b), 2510(8) ("contents"); provider data inventory',
    ),
    Rule(
        code="not_held_here",
        severity=W,
        audience=AGENCY,
        category=Category.SUBSCRIBER_INFO,
        title="Subscriber information is answered elsewhere",
        message=(
            "This system holds no subscriber records (name, address, length of service, "
            "means of payment). The subscriber-records team answers that part of the "
            "{process} separately."
        ),
        basis="18 U.S.C. 2703(c)(2); provider data inventory",
    ),
    # Preservation and notice ----------------------------------------------------------
    Rule(
        code="preservation_renewed_twice",
        severity=W,
        audience=INTERNAL,
        category=None,
        title="Preservation renewed more than once",
        message=(
            "This preservation has been renewed {renewal_count} times. 18 U.S.C. "
            "2703(f)(2) provides for one 90-day extension; keeping the records longer "
            "without compulsory process is a policy decision for the legal team."
        ),
        basis="18 U.S.C. 2703(f)(2)",
        process_types=(ProcessType.PRESERVATION,),
    ),
    Rule(
        code="nondisclosure_order_missing",
        severity=W,
        audience=AGENCY,
        category=None,
        title="Non-disclosure asked for, but no order on file",
        message=(
            "The request asks that the account holder not be notified ({ndo_asked}), "
            "but no order under 18 U.S.C. 2705(b) has been uploaded and confirmed. A "
            "request or a cover letter asking for silence is not an order: until a "
            "signed 2705(b) order is uploaded and a reviewer confirms it, the provider's "
            "notice policy applies and the account holder is told before disclosure."
        ),
        basis="18 U.S.C. 2705(b): only a court's order delays notice; an agency's request does not",
        process_types=COMPULSORY,
    ),
    Rule(
        code="nondisclosure_indefinite",
        severity=W,
        audience=INTERNAL,
        category=None,
        title="Non-disclosure order without an end date",
        message=(
            'The non-disclosure order runs "until further order", with no end date. DOJ '
            "policy since 2017 seeks delays of notice of one year or less barring "
            "exceptional circumstances; the legal team considers asking the court to "
            "limit it."
        ),
        basis="18 U.S.C. 2705(b); DOJ policy memorandum on 2705(b) orders, Oct. 19, 2017",
    ),
    Rule(
        code="nondisclosure_over_one_year",
        severity=W,
        audience=INTERNAL,
        category=None,
        title="Non-disclosure order longer than one year",
        message=(
            "The non-disclosure order runs until {nondisclosure_until}, more than one year "
            "after {ndo_start}. DOJ policy since 2017 seeks delays of notice of one year "
            "or less barring exceptional circumstances; the legal team considers asking "
            "the court to limit it."
        ),
        basis="18 U.S.C. 2705(b); DOJ policy memorandum on 2705(b) orders, Oct. 19, 2017",
    ),
)
RULES_BY_CODE: Mapping[str, Rule] = {rule.code: rule for rule in RULES}

_RULE_ORDER = {rule.code: index for index, rule in enumerate(RULES)}
_CATEGORY_ORDER = {category: index for index, category in enumerate(Category)}


# --- 6. Facts, findings and the evaluator ------------------------------------------


@dataclass(frozen=True)
class RequestFacts:
    """Everything the rules look at, as plain values (no model instances).

    ``date_to`` is inclusive through the end of its second. ``document_texts`` is
    the extracted text of each uploaded PDF (``""`` for a scan). Values given as
    plain strings are turned into their enum; anything invalid is a ``ValueError``.
    """

    process_type: ProcessType
    jurisdiction: str
    legal_authority: str
    issued_on: date | None
    expires_on: date | None
    received_at: datetime
    date_from: datetime | None
    date_to: datetime | None
    direction: str
    data_categories: tuple[Category, ...]
    identifier_count: int
    has_document: bool
    document_texts: tuple[str, ...]
    contact_email: str
    renewal_count: int
    nondisclosure_indefinite: bool
    retention_days: int = RETENTION_DAYS_DEFAULT
    nondisclosure_until: date | None = None
    # Whether a reviewer confirmed an uploaded 2705(b) order. When one is, the two
    # nondisclosure facts above are the order's term; otherwise the agency's ask.
    nondisclosure_order_confirmed: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        try:
            put("process_type", ProcessType(self.process_type))
            put("data_categories", tuple(Category(c) for c in self.data_categories))
        except ValueError as exc:
            raise ValueError(f"RequestFacts: {exc}") from exc
        put("jurisdiction", self.jurisdiction.strip().upper())
        put("document_texts", tuple(self.document_texts))
        if not self.jurisdiction:
            raise ValueError("RequestFacts: jurisdiction is empty")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"RequestFacts: direction {self.direction!r} not in {DIRECTIONS}")
        for name in ("received_at", "date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"RequestFacts: {name} must be an aware datetime")
        if self.identifier_count < 0 or self.renewal_count < 0:
            raise ValueError("RequestFacts: counts cannot be negative")
        if self.retention_days < 1:
            raise ValueError("RequestFacts: retention_days must be at least 1")

    @property
    def is_domestic(self) -> bool:
        return jurisdiction_is_domestic(self.jurisdiction)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    audience: Audience
    category: str | None
    message: str
    rules_version: str

    def as_dict(self) -> dict[str, str | None]:
        """The API shape (API.md ``findings``), plain strings only."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "audience": str(self.audience),
            "category": None if self.category is None else str(self.category),
            "message": self.message,
        }


# A check returns one hit per finding to raise: the category (per-category rules
# only; otherwise None) and the message fields it supplies.
_Hit = tuple[Category | None, dict[str, object]]
_Check = Callable[[RequestFacts], list[_Hit]]
_CHECKS: dict[str, _Check] = {}


def _check(code: str) -> Callable[[_Check], _Check]:
    def register(func: _Check) -> _Check:
        if code not in RULES_BY_CODE:
            raise LookupError(f"check for unknown rule {code!r}")
        _CHECKS[code] = func
        return func

    return register


def _fmt_dt(value: datetime) -> str:
    # Messages print UTC with the zone named: the agency's offsets differ per order.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(facts: RequestFacts) -> timedelta | None:
    if facts.date_from is None or facts.date_to is None:
        return None
    # date_to is inclusive through the end of its second.
    return facts.date_to + timedelta(seconds=1) - facts.date_from


def _days_text(span: timedelta) -> str:
    whole = span.days
    exact = span == timedelta(days=whole)
    return f"{whole} days" if exact else f"more than {whole} days"


def _receipt_date(facts: RequestFacts) -> date:
    """The date of receipt on the latest clock of the jurisdiction's courts."""
    rules, _ = jurisdiction_rules(facts.jurisdiction)
    return facts.received_at.astimezone(rules.day_ends_at).date()


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _breadth_excess(facts: RequestFacts, *, max_days: int, max_identifiers: int) -> list[str]:
    excess: list[str] = []
    span = _span(facts)
    if span is not None and span > timedelta(days=max_days):
        excess.append(f"a range of {_days_text(span)} (more than {max_days} days)")
    if facts.identifier_count > max_identifiers:
        excess.append(f"{facts.identifier_count} identifiers (more than {max_identifiers})")
    return excess


@_check("foreign_process")
def _foreign_process(facts: RequestFacts) -> list[_Hit]:
    return [] if facts.is_domestic else [(None, {})]


@_check("insufficient_process")
def _insufficient_process(facts: RequestFacts) -> list[_Hit]:
    hits: list[_Hit] = []
    for category in facts.data_categories:
        minimum = MINIMUM_PROCESS_BY_CATEGORY[category]
        if facts.process_type not in minimum.sufficient:
            fields = {
                "requirement": minimum.requirement,
                "reach": PROCESS_REACH[facts.process_type],
            }
            hits.append((category, fields))
    return hits


@_check("state_law_requires_warrant")
def _state_law_requires_warrant(facts: RequestFacts) -> list[_Hit]:
    rules, on_file = jurisdiction_rules(facts.jurisdiction)
    if not on_file or facts.process_type == ProcessType.SEARCH_WARRANT:
        return []
    fields = {
        "state_rule": rules.warrant_only_rule,
        "state_basis": rules.warrant_only_basis,
        "state_name": rules.name,
    }
    return [(c, fields) for c in facts.data_categories if c in rules.warrant_only]


_CITES_2703D = re.compile(r"2703\s*\(\s*d\s*\)|2703\s*d\b", re.IGNORECASE)


@_check("order_not_under_2703d")
def _order_not_under_2703d(facts: RequestFacts) -> list[_Hit]:
    authority = facts.legal_authority.strip()
    if _CITES_2703D.search(authority):
        return []
    text = f'cites "{authority}" as its authority' if authority else "states no legal authority"
    return [(None, {"authority_text": text})]


@_check("missing_document")
def _missing_document(facts: RequestFacts) -> list[_Hit]:
    return [] if facts.has_document else [(None, {})]


@_check("document_not_issued")
def _document_not_issued(facts: RequestFacts) -> list[_Hit]:
    readable = [text for text in facts.document_texts if text.strip()]
    if not facts.has_document or not readable:
        return []
    per_document = [not_issued_signs(text) for text in readable]
    reasons: list[str] = []
    for signs in per_document:
        for sign in signs:
            # One signed document (the order beside its cover letter) is enough
            # to answer "no signature line"; the other signs count wherever they are.
            if sign != NO_SIGNATURE_REASON and sign not in reasons:
                reasons.append(sign)
    if all(NO_SIGNATURE_REASON in signs for signs in per_document):
        reasons.append(NO_SIGNATURE_REASON)
    return [(None, {"reasons": "; ".join(reasons)})] if reasons else []


@_check("document_unreadable")
def _document_unreadable(facts: RequestFacts) -> list[_Hit]:
    if not facts.has_document or any(text.strip() for text in facts.document_texts):
        return []
    return [(None, {})]


@_check("expired_process")
def _expired_process(facts: RequestFacts) -> list[_Hit]:
    rules, on_file = jurisdiction_rules(facts.jurisdiction)
    basis = rules.warrant_window_basis
    if not on_file:
        basis += f"; no rule on file for {facts.jurisdiction}, so the federal window was used"
    statutory_end = (
        facts.issued_on + timedelta(days=rules.warrant_window_days) if facts.issued_on else None
    )
    if facts.expires_on is not None and (
        statutory_end is None or facts.expires_on <= statutory_end
    ):
        window_end, source = facts.expires_on, "the date the warrant states"
    elif statutory_end is not None and facts.issued_on is not None:
        window_end = statutory_end
        source = f"{rules.warrant_window_days} days after issue on {facts.issued_on}, {basis}"
        if facts.expires_on is not None:
            source += f"; the later date the warrant states, {facts.expires_on}, cannot extend it"
    else:
        return []  # neither date known: nothing to check against
    if _receipt_date(facts) <= window_end:
        return []
    fields = {
        "window_end": window_end.isoformat(),
        "clock": rules.day_ends_at.tzname(None),
        "window_source": source,
    }
    return [(None, fields)]


@_check("return_date_passed")
def _return_date_passed(facts: RequestFacts) -> list[_Hit]:
    if facts.expires_on is None or facts.expires_on >= _receipt_date(facts):
        return []
    return [(None, {"expires_on": facts.expires_on.isoformat()})]


@_check("open_ended")
def _open_ended(facts: RequestFacts) -> list[_Hit]:
    missing = [
        name
        for name, value in (("start", facts.date_from), ("end", facts.date_to))
        if value is None
    ]
    return [(None, {"missing": " or ".join(missing)})] if missing else []


@_check("prospective_scope")
def _prospective_scope(facts: RequestFacts) -> list[_Hit]:
    if facts.date_to is None or facts.date_to <= facts.received_at:
        return []
    return [(None, {"date_to": _fmt_dt(facts.date_to)})]


@_check("outside_retention")
def _outside_retention(facts: RequestFacts) -> list[_Hit]:
    retention_start = facts.received_at - timedelta(days=facts.retention_days)
    if facts.date_from is None or facts.date_from >= retention_start:
        return []
    fields = {
        "date_from": _fmt_dt(facts.date_from),
        "retention_days": facts.retention_days,
        "retention_start": _fmt_dt(retention_start),
    }
    return [(None, fields)]


@_check("overbroad")
def _overbroad(facts: RequestFacts) -> list[_Hit]:
    excess = _breadth_excess(
        facts, max_days=OVERBROAD_MAX_DAYS, max_identifiers=OVERBROAD_MAX_IDENTIFIERS
    )
    return [(None, {"excess": " and ".join(excess)})] if excess else []


_DIRECTION_TEXT = {
    "incoming": "incoming lookups (other people looking up these identifiers)",
    "both": "lookups in both directions, including other people looking up these identifiers",
}


@_check("third_party_records")
def _third_party_records(facts: RequestFacts) -> list[_Hit]:
    if facts.direction not in _DIRECTION_TEXT:
        return []
    return [(None, {"direction_text": _DIRECTION_TEXT[facts.direction]})]


@_check("emergency_scope")
def _emergency_scope(facts: RequestFacts) -> list[_Hit]:
    excess = _breadth_excess(
        facts, max_days=EMERGENCY_MAX_DAYS, max_identifiers=EMERGENCY_MAX_IDENTIFIERS
    )
    return [(None, {"excess": " and ".join(excess)})] if excess else []


def email_is_free_mail(email: str) -> str | None:
    """The free-mail domain of ``email`` (lower-cased), or None."""
    _, at, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not domain:
        return None
    return domain if any(fnmatchcase(domain, p) for p in FREE_MAIL_DOMAINS) else None


@_check("free_mail_sender")
def _free_mail_sender(facts: RequestFacts) -> list[_Hit]:
    domain = email_is_free_mail(facts.contact_email)
    if domain is None:
        return []
    return [(None, {"contact_email": facts.contact_email.strip(), "domain": domain})]


@_check("no_content_held")
def _no_content_held(facts: RequestFacts) -> list[_Hit]:
    return [(None, {})]  # fires whenever content is requested (the rule's category)


@_check("not_held_here")
def _not_held_here(facts: RequestFacts) -> list[_Hit]:
    return [(None, {})]  # fires whenever subscriber information is requested


@_check("preservation_renewed_twice")
def _preservation_renewed_twice(facts: RequestFacts) -> list[_Hit]:
    if facts.renewal_count <= PRESERVATION_RENEWALS_IN_STATUTE:
        return []
    return [(None, {"renewal_count": facts.renewal_count})]


@_check("nondisclosure_order_missing")
def _nondisclosure_order_missing(facts: RequestFacts) -> list[_Hit]:
    if facts.nondisclosure_order_confirmed:
        return []
    if facts.nondisclosure_indefinite:
        return [(None, {"ndo_asked": "until further order"})]
    if facts.nondisclosure_until is not None:
        return [(None, {"ndo_asked": f"until {facts.nondisclosure_until.isoformat()}"})]
    return []


@_check("nondisclosure_indefinite")
def _nondisclosure_indefinite(facts: RequestFacts) -> list[_Hit]:
    return [(None, {})] if facts.nondisclosure_indefinite else []


@_check("nondisclosure_over_one_year")
def _nondisclosure_over_one_year(facts: RequestFacts) -> list[_Hit]:
    if facts.nondisclosure_indefinite or facts.nondisclosure_until is None:
        return []
    if facts.issued_on is not None:
        start, start_text = facts.issued_on, f"the order's issue on {facts.issued_on}"
    else:
        start = facts.received_at.astimezone(UTC).date()
        start_text = f"receipt on {start}"
    if facts.nondisclosure_until <= _add_years(start, NDO_MAX_YEARS):
        return []
    fields = {"nondisclosure_until": facts.nondisclosure_until.isoformat(), "ndo_start": start_text}
    return [(None, fields)]


def _base_fields(facts: RequestFacts) -> dict[str, object]:
    label = str(facts.process_type.label).lower()
    a_process = f"{_ARTICLE.get(facts.process_type, 'a')} {label}"
    return {
        "process": label,
        "a_process": a_process,
        "A_process": a_process[0].upper() + a_process[1:],
        "jurisdiction": facts.jurisdiction,
        "received_at": _fmt_dt(facts.received_at),
        "identifier_count": facts.identifier_count,
        "direction": facts.direction,
    }


def _applies(rule: Rule, facts: RequestFacts) -> bool:
    if facts.process_type not in rule.process_types:
        return False
    if rule.domestic_only and not facts.is_domestic:
        return False
    return rule.category is None or rule.category in facts.data_categories


def findings_evaluate(*, facts: RequestFacts) -> list[Finding]:
    """Every finding ``facts`` raise, in table order, then category order.

    Pure and deterministic: the same facts always give the same list, so a stored
    set can be recomputed and compared.
    """
    base = _base_fields(facts)
    findings: list[Finding] = []
    for rule in RULES:
        if not _applies(rule, facts):
            continue
        hits = _CHECKS[rule.code](facts)
        for hit_category, fields in sorted(
            hits, key=lambda hit: -1 if hit[0] is None else _CATEGORY_ORDER[hit[0]]
        ):
            category = hit_category if rule.per_category else rule.category
            values = {**base, **fields}
            if category is not None:
                values["category"] = str(category.label).lower()
            findings.append(
                Finding(
                    code=rule.code,
                    severity=rule.severity,
                    audience=rule.audience,
                    category=category,
                    message=rule.message.format_map(values),
                    rules_version=RULES_VERSION,
                )
            )
    return findings


def blocking_categories(findings: Iterable[Finding]) -> set[str]:
    """The categories that may not be approved: each error's, and all for an error
    that concerns no single category (foreign process, a missing document, ...)."""
    blocked: set[str] = set()
    for finding in findings:
        if finding.severity != Severity.ERROR:
            continue
        if finding.category is None:
            return {str(category) for category in Category}
        blocked.add(str(finding.category))
    return blocked


def findings_for_agency(findings: Iterable[Finding]) -> list[Finding]:
    """What an agency may see: never an ``internal`` finding."""
    return [finding for finding in findings if finding.audience == Audience.AGENCY]


# Fails at import, not in production, if a rule has no check or a check no rule.
if set(_CHECKS) != set(RULES_BY_CODE) or len(RULES_BY_CODE) != len(RULES):
    raise RuntimeError("rules table and checks disagree, or a rule code is duplicated")
