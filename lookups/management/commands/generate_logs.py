import os
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lookups.synthetic import logs_generate

# Rows per write: large enough that the syscalls vanish from the profile, small enough
# that the buffer stays a few megabytes whatever --rows is.
_ROWS_PER_WRITE = 8192


class Command(BaseCommand):
    help = (
        "Write synthetic query logs as JSON Lines: --rows entries over the 30 days before "
        "--end (default now), deterministic for the same --rows, --seed and --end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, required=True, help="number of entries")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument(
            "--end",
            default=None,
            help="ISO-8601 end of the window, with an offset, e.g. 2026-12-01T00:00:00Z "
            "(default now)",
        )
        parser.add_argument("--out", default="-", help="output file, or '-' for stdout")

    def handle(self, *args: object, **options: object) -> None:
        rows = options["rows"]
        seed = options["seed"]
        assert isinstance(rows, int) and isinstance(seed, int)
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        if seed < 0:
            # random.Random seeds with the absolute value: -1 would silently equal 1.
            raise CommandError("--seed must be 0 or more")
        end = _parse_end(options["end"])
        out = str(options["out"])
        entries = logs_generate(rows=rows, seed=seed, end=end)

        if out == "-":
            # The real stdout takes bytes; a captured one (call_command) only text.
            buffer = getattr(self.stdout, "buffer", None)
            if buffer is None:
                for chunk in _chunks(entries):
                    self.stdout.write(chunk.decode(), ending="")
            else:
                self.stdout.flush()
                try:
                    _write(entries, buffer)
                    buffer.flush()
                except BrokenPipeError:
                    # The reader left (`| head`): stop quietly, and point stdout at
                    # /dev/null so the interpreter's final flush does not fail again.
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                    raise SystemExit(1) from None
            return
        try:
            with Path(out).open("wb") as stream:
                _write(entries, stream)
        except OSError as exc:
            raise CommandError(f"{out}: cannot write: {exc.strerror or exc}") from exc
        self.stdout.write(f"wrote {rows} entries to {out}")


def _parse_end(value: object) -> datetime:
    if value is None:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise CommandError(f"--end {value!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CommandError(f"--end {value!r} needs a UTC offset, e.g. 'Z' or '+01:00'")
    return moment.astimezone(UTC)


def _chunks(entries: Iterable[dict]) -> Iterator[bytes]:
    dumps = orjson.dumps
    batch: list[bytes] = []
    for entry in entries:
        batch.append(dumps(entry))
        if len(batch) == _ROWS_PER_WRITE:
            batch.append(b"")
            yield b"\n".join(batch)
            batch = []
    if batch:
        batch.append(b"")
        yield b"\n".join(batch)


def _write(entries: Iterable[dict], stream: BinaryIO) -> None:
    for chunk in _chunks(entries):
        stream.write(chunk)
