from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lookups.ingest import Rejection, logs_ingest_file
from lookups.parse_process import ParseProcessError
from lookups.readers import IngestFileError

_SHOWN_REJECTIONS = 1000


class Command(BaseCommand):
    # The system checks import every URLconf, and with it the PDF renderer: 26 MB and
    # most of a second that a log load never uses. `manage.py check` runs them.
    requires_system_checks: list[str] = []
    help = (
        "Ingest query logs from a JSON Lines or CSV file ('-' for stdin). Prints accepted, "
        "duplicate and rejected counts; exits 1 if any row was rejected or the file is unreadable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="file to read, or '-' for standard input")
        parser.add_argument("--format", choices=["jsonl", "csv"], default=None)
        parser.add_argument("--region", default=None, help="region for national-format numbers")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="read and parse in this process instead of a second one (uses one core)",
        )

    def handle(self, *args: object, **options: object) -> None:
        path = str(options["path"])
        fmt = options["format"] or ("csv" if path.lower().endswith(".csv") else "jsonl")
        shown = 0

        def report(rejection: Rejection) -> None:
            nonlocal shown
            shown += 1
            if shown <= _SHOWN_REJECTIONS:
                detail = "; ".join(
                    f"{name}: {' '.join(messages)}" for name, messages in rejection.errors.items()
                )
                self.stderr.write(f"line {rejection.position}: {detail}")

        if path != "-" and not Path(path).is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = logs_ingest_file(
                path=path,
                fmt=fmt,
                region=options["region"],
                on_rejected=report,
                separate_process=not options["in_process"],
            )
        except IngestFileError as exc:
            raise CommandError(f"{path}: {exc}; nothing was stored") from exc
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except ParseProcessError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if shown > _SHOWN_REJECTIONS:
            self.stderr.write(f"... and {shown - _SHOWN_REJECTIONS} more rejected lines")
        self.stdout.write(
            f"accepted {result.accepted}, duplicate {result.duplicates}, "
            f"rejected {result.rejected_count}"
        )
        if result.rejected_count:
            raise CommandError(f"{result.rejected_count} rows were rejected", returncode=1)
