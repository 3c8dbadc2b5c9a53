"""``manage.py verify_audit``: exit 0 when the chain is intact, 1 naming the first bad entry."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from legalops.audit.verify import CHUNK_SIZE, audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and its anchored head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)

    def handle(self, *args: object, **options: object) -> None:
        result = audit_verify(chunk_size=int(options["chunk_size"]))  # type: ignore[call-overload]
        if not result.ok:
            where = f"entry {result.first_bad_seq}" if result.first_bad_seq else "the anchor"
            raise CommandError(
                f"audit chain broken at {where} ({result.checked} verified before it): "
                f"{result.problem}",
                returncode=1,
            )
        self.stdout.write(f"audit chain intact: {result.checked} entries")
