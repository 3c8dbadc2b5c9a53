"""The end-to-end demo: the product's main job on embedded defaults.

Migrates, generates a month of realistic query logs, ingests them (twice, to show
idempotency), answers scope queries for a few identifiers written the way legal
process writes them, applies retention with a hold in place, then has an agency
file a court order and a preservation through the REST API, has two reviewers
approve the order and a custodian release its package, and verifies the audit
chain. Then, unless --no-serve, it leaves a second order waiting for review and
serves the staff UI on http://127.0.0.1:8000/ until Ctrl-C, printing the demo
staff's sign-ins.
"""

import hashlib
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client
from django.utils import timezone

from legalops.accounts.models import Agency, Officer
from legalops.accounts.roles import Role
from legalops.accounts.services import agency_create, staff_create, token_issue
from legalops.audit.verify import audit_verify
from lookups.holds import hold_place, hold_release
from lookups.ingest import logs_ingest
from lookups.models import QueryLogEntry
from lookups.readers import jsonl_entries
from lookups.retention import logs_purge
from lookups.selectors import count_in_scope, rows_in_scope
from lookups.synthetic import logs_generate

DEMO_ROWS = 50_000
DEMO_SEED = 7
DEMO_AGENCY = "FBI San Francisco Field Office (demo)"
DEMO_OFFICER = "j.blake@fbi.example.gov"
PACIFIC = ZoneInfo("America/Los_Angeles")
DEMO_ADDRESS = "http://127.0.0.1:8000/"
# The demo staff's sign-ins for the served UI: demo accounts on demo data only.
DEMO_PASSWORDS = {
    "demo-reviewer-1": "demo reviewer one",
    "demo-reviewer-2": "demo reviewer two",
    "demo-custodian": "demo custodian",
}


def _as_legal_process_writes_it(handle: str) -> str:
    """A phone number as an order types it: national format, punctuation and all."""
    if handle.startswith("+"):
        number = phonenumbers.parse(handle)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return handle.upper()


def _signed_order_pdf(*, reference: str, issued: str) -> bytes:
    """A signed 2703(d) order as a court would issue it, rendered for the demo."""
    import weasyprint

    html = (
        "<h1>UNITED STATES DISTRICT COURT</h1><p>NORTHERN DISTRICT OF CALIFORNIA</p>"
        f"<p>Case No. {reference}</p><h2>ORDER PURSUANT TO 18 U.S.C. 2703(d)</h2>"
        "<p>The provider shall disclose the records described in Attachment A.</p>"
        f"<p>IT IS SO ORDERED this {issued}.</p>"
        "<p>/s/ Hon. Maria Chen, United States Magistrate Judge</p>"
    )
    return weasyprint.HTML(string=html).write_pdf()


class Command(BaseCommand):
    help = "Run the end-to-end demo on the configured database (SQLite by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="exit instead of serving")
        parser.add_argument("--rows", type=int, default=DEMO_ROWS)

    def say(self, text: str = "") -> None:
        self.stdout.write(text)

    def handle(self, *args: object, **options: object) -> None:
        rows = int(options["rows"])  # type: ignore[call-overload]
        self.say("== 1. database")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        self.say(f"   migrated ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")

        # A fixed end (today, midnight UTC) makes every run of the day the same data.
        end = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        path = Path(settings.VAR_DIR) / "demo" / "query-logs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for entry in logs_generate(rows=rows, seed=DEMO_SEED, end=end):
                out.write(orjson.dumps(entry) + b"\n")
        self.say(f"== 2. generated {rows:,} lookups over the 30 days before {end:%Y-%m-%d}")
        self.say(f"   {path}")

        self.say("== 3. ingest (the same file twice: the second pass stores nothing new)")
        for attempt in ("first", "second"):
            with path.open("rb") as stream:
                result = logs_ingest(entries=jsonl_entries(stream))
            self.say(
                f"   {attempt} pass: accepted {result.accepted:,}, duplicates "
                f"{result.duplicates:,}, rejected {result.rejected_count}"
            )

        self.say("== 4. scope queries, identifiers written as legal process writes them")
        activity = Counter(QueryLogEntry.objects.values_list("source", flat=True).iterator())
        ranked = [handle for handle, _ in activity.most_common()]
        picks = [ranked[0], ranked[len(ranked) // 10], ranked[len(ranked) // 2]]
        date_from = end - timedelta(days=14)
        date_to = end - timedelta(seconds=1)
        for handle in picks:
            spelled = _as_legal_process_writes_it(handle)
            for direction in ("outgoing", "both"):
                found = count_in_scope(
                    identifiers=[spelled],
                    date_from=date_from,
                    date_to=date_to,
                    direction=direction,
                )
                self.say(f"   {spelled!r} -> {handle}  {direction:8}  {found:5,} rows")
            sample = rows_in_scope(
                identifiers=[spelled],
                date_from=date_from,
                date_to=date_to,
                direction="outgoing",
            )
            for index, row in zip(range(3), sample, strict=False):
                self.say(
                    f"      #{index + 1} {row.occurred_at:%Y-%m-%d %H:%M:%S.%f}Z {row.service:8} "
                    f"-> {row.target}  from {row.source_ip}  ({row.client})"
                )
        self.say(f"   range: {date_from:%Y-%m-%d %H:%M:%S}Z .. {date_to:%Y-%m-%d %H:%M:%S}Z")

        self.say("== 5. retention: purge as of 10 days from now, with a hold on one account")
        held = picks[1]
        hold = hold_place(
            identifiers=[held],
            date_from=end - timedelta(days=30),
            date_to=end,
            reason="demo preservation",
            placed_by="demo",
        )
        before = QueryLogEntry.objects.count()
        run = logs_purge(now=end + timedelta(days=10))
        self.say(
            f"   {before:,} rows; deleted {run.deleted:,} older than {run.cutoff:%Y-%m-%d}; "
            f"kept {run.kept_held:,} held rows of {held}"
        )
        hold_release(hold=hold, reason="demo over")
        self.say("   (run the demo again to restore the purged rows: ingest is idempotent)")

        api, order = self._intake(picks=picks, end=end)

        if options["no_serve"]:
            self.say("== done")
            return
        self._serve(api=api, order=order)

    def _serve(self, *, api: Client, order: dict[str, object]) -> None:
        """Leave one order waiting for review, give the demo staff known passwords,
        and serve the staff UI until Ctrl-C."""
        waiting = {**order, "reference": f"{order['reference']}-B", "direction": "outgoing"}
        created = api.post("/api/v1/requests/", waiting, content_type="application/json").json()
        pdf = _signed_order_pdf(reference=str(waiting["reference"]), issued=str(order["issued_on"]))
        upload = SimpleUploadedFile("signed-order.pdf", pdf, content_type="application/pdf")
        api.post(f"/api/v1/requests/{created['id']}/documents/", {"file": upload})
        self.say(f"== 10. {created['number']} waits for review in the staff UI")
        self.say(f"== serving the staff UI on {DEMO_ADDRESS} (Ctrl-C stops it)")
        for username, password in DEMO_PASSWORDS.items():
            user = get_user_model().objects.get(username=username)
            # Known passwords for the demo's own accounts only, printed here and nowhere else.
            user.set_password(password)
            user.save(update_fields=["password"])
            role = "custodian" if username.endswith("custodian") else "reviewer"
            self.say(f"   sign in as {username:16} password {password!r}  ({role})")
        self.say(f"   API schema: {DEMO_ADDRESS}api/docs/")
        call_command(
            "runserver", DEMO_ADDRESS.removeprefix("http://").rstrip("/"), use_reloader=False
        )

    def _intake(self, *, picks: list[str], end: datetime) -> tuple[Client, dict[str, object]]:
        self.say("== 6. an agency files legal process through the REST API")
        agency = Agency.objects.filter(name=DEMO_AGENCY).first()
        if agency is None:
            agency, issued = agency_create(name=DEMO_AGENCY, email=DEMO_OFFICER)
            key = issued.key
        else:
            officer = Officer.objects.get(agency=agency)
            key = token_issue(user=officer.user, name="demo run").key
        api = Client(HTTP_AUTHORIZATION=f"Token {key}")
        stamp = timezone.now().strftime("%H%M%S")
        order = {
            "process_type": "court_order",
            "jurisdiction": "US",
            "legal_authority": "18 U.S.C. 2703(d)",
            "reference": f"3:26-mj-{stamp}",
            "issuing_authority": "United States District Court for the Northern District of "
            "California",
            "issued_on": (end - timedelta(days=1)).date().isoformat(),
            "identifiers": [_as_legal_process_writes_it(picks[1]), picks[2].upper()],
            "date_from": (end - timedelta(days=14)).astimezone(PACIFIC).isoformat(),
            "date_to": (end - timedelta(seconds=1)).astimezone(PACIFIC).isoformat(),
            "direction": "both",
            "data_categories": ["query_logs"],
            "contact": {
                "name": "SA Jordan Blake",
                "email": "j.blake@fbi.example.gov",
                "phone": "+14155550123",
            },
        }
        created = api.post("/api/v1/requests/", order, content_type="application/json").json()
        self.say(f"   {created['number']}: {created['status']}, due {created['due_at']}")
        for identifier in created["identifiers"]:
            self.say(f"      {identifier['raw']!r} -> {identifier['normalized']}")
        self._findings(created)
        pdf = _signed_order_pdf(reference=order["reference"], issued=order["issued_on"])
        upload = SimpleUploadedFile("signed-order.pdf", pdf, content_type="application/pdf")
        after = api.post(f"/api/v1/requests/{created['id']}/documents/", {"file": upload}).json()
        document = after["documents"][0]
        self.say(f"   uploaded {document['name']} sha256 {document['sha256'][:16]}...")
        self._findings(after)
        hold = after["hold"]
        self.say(f"   hold: {hold['date_from']} .. {hold['date_to']} (clipped at receipt)")

        preservation = {
            **order,
            "process_type": "preservation",
            "legal_authority": "18 U.S.C. 2703(f)",
            "reference": f"PRES-{stamp}",
            "identifiers": [picks[0]],
            "date_from": None,
            "date_to": None,
        }
        kept = api.post("/api/v1/requests/", preservation, content_type="application/json").json()
        self.say(
            f"   {kept['number']}: {kept['status']}; every retained row of {picks[0]} held until "
            f"{kept['hold']['expires_at']}"
        )
        self._disclose(api=api, request_id=created["id"])
        verification = audit_verify()
        self.say(
            f"== 9. audit chain: {'intact' if verification.ok else 'BROKEN'}, "
            f"{verification.checked} entries"
        )
        return api, order

    def _disclose(self, *, api: Client, request_id: str) -> None:
        self.say("== 7. two reviewers approve; the job builds and verifies the package")
        reviewers = []
        for name in DEMO_PASSWORDS:
            role = Role.CUSTODIAN if name.endswith("custodian") else Role.REVIEWER
            user = get_user_model().objects.filter(username=name).first()
            if user is None:
                user, _ = staff_create(username=name, role=role)
                # "Reviewer 1 (demo)": the name a certificate and the UI print.
                user.first_name = " ".join(part.title() for part in name.split("-")[1:])
                user.last_name = "(demo)"
                user.save()
            reviewers.append(Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user).key}"))
        for index, staff in enumerate(reviewers[:2], start=1):
            reviewed = staff.post(
                f"/api/v1/requests/{request_id}/review/",
                {"decision": "approve", "reason": "Order facially valid; signed; 2703(d)."},
                content_type="application/json",
            ).json()
            self.say(f"   approval {index}: {reviewed['status']}")
        package = reviewers[0].get(f"/api/v1/requests/{request_id}/package/").json()
        self.say(
            f"   package: {package['status']}, {package['rows']} rows, {package['pages']} pages "
            "(the verifier re-read every row from the PDF against the scope)"
        )
        released = reviewers[2].post(f"/api/v1/requests/{request_id}/release/").json()
        self.say(f"== 8. the custodian signs and releases: {released['status']}")
        download = api.get(f"/api/v1/requests/{request_id}/package/pdf")
        body = b"".join(download.streaming_content)
        out = Path(settings.VAR_DIR) / "demo" / f"{released['number']}.pdf"
        out.write_bytes(body)
        after = api.get(f"/api/v1/requests/{request_id}/").json()
        self.say(f"   the agency downloaded it: status {after['status']}")
        self.say(f"   PDF: {out}")
        self.say(f"   SHA-256: {hashlib.sha256(body).hexdigest()}")

    def _findings(self, body: dict[str, object]) -> None:
        findings = body["findings"]
        assert isinstance(findings, list)
        if not findings:
            self.say("   findings: none")
        for finding in findings:
            self.say(
                f"   finding {finding['severity']:7} {finding['code']}: "
                f"{finding['message'][:90]}..."
            )
