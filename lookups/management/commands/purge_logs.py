from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lookups.retention import logs_purge


def _aware(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now {value!r} is not an ISO-8601 timestamp") from exc
    if moment.tzinfo is None:
        raise CommandError("--now must carry a UTC offset, e.g. 2026-12-01T00:00:00Z")
    return moment


class Command(BaseCommand):
    help = "Delete query-log rows past the retention window; rows under an active hold stay."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="measure the window from this instant (ISO-8601)")

    def handle(self, *args: object, **options: object) -> None:
        now = _aware(str(options["now"])) if options["now"] else None
        run = logs_purge(now=now)
        self.stdout.write(
            f"purged {run.deleted} rows older than {run.cutoff.isoformat()}; "
            f"kept {run.kept_held} held rows"
        )
