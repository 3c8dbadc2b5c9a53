"""The parent side of the chunked render: spool rows to disk, run the part processes
two at a time, merge.

The parent never holds the rows: :class:`RowSpool` checks each row as it arrives
(numbered 1..N, in time order) and writes it to the current segment file, so memory
holds one row whatever the row count. After the single pass over the rows the
records' page count is known (:func:`.record_lines.records_pages`), so every part can
be given its first page number and the total before any of them is rendered.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from legalops.disclosures.fetcher import RenderRefused
from legalops.disclosures.record_lines import ROWS_PER_PAGE
from legalops.disclosures.render_part import EXIT_INPUT, EXIT_REFUSED

# Rows per spool segment: a whole number of pages, so parts made of whole segments
# start on a page boundary.
SEGMENT_ROWS = ROWS_PER_PAGE * 25
# A part's process holds its rows' layout until it exits; this many rows keep one
# well under 300 MB (docs/benchmarks.md, "Packages").
MAX_PART_ROWS = SEGMENT_ROWS * 10
# The machine's cores: more processes than that only compete for them.
MAX_PARALLEL = max(1, min(2, os.cpu_count() or 1))
PART_MODULE = "legalops.disclosures.render_part"


class RenderFailed(Exception):
    """A part process failed (crashed, was killed, or could not lay out its rows)."""


class RowOrderError(ValueError):
    """Rows are not numbered 1..N in time order."""


def _parse_utc(value: Any, n: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise RowOrderError(f"row {n}: unparseable utc time {value!r}") from exc
    if parsed.tzinfo is None:
        raise RowOrderError(f"row {n}: utc time {value!r} has no offset")
    return parsed


_ROW_KEYS = (
    "n",
    "utc",
    "local",
    "service",
    "source",
    "target",
    "source_ip",
    "client",
    "target_reachable",
    "third_party",
)


class RowSpool:
    """Rows written to segment files of :data:`SEGMENT_ROWS` rows as they arrive."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_rows: int = SEGMENT_ROWS,
        part_rows: int = MAX_PART_ROWS,
    ) -> None:
        if segment_rows <= 0 or segment_rows % ROWS_PER_PAGE:
            raise ValueError(f"segment_rows must be a positive multiple of {ROWS_PER_PAGE}")
        if part_rows < segment_rows:
            raise ValueError("part_rows must be at least segment_rows")
        self.part_rows = part_rows
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_rows = segment_rows
        self.segments: list[Path] = []
        self.count = 0
        self.third_party = False
        self._handle: IO[str] | None = None
        self._in_segment = 0
        self._previous: datetime | None = None
        self.closed = False

    def add(self, row: Mapping[str, Any]) -> None:
        expected = self.count + 1
        if row.get("n") != expected:
            raise RowOrderError(f"row numbers must run 1..N: got {row.get('n')!r} at {expected}")
        moment = _parse_utc(row.get("utc", ""), expected)
        if self._previous is not None and moment < self._previous:
            raise RowOrderError(f"row {expected} is earlier than row {expected - 1}")
        self._previous = moment
        if self._handle is None:
            path = self.directory / f"segment-{len(self.segments):05d}.jsonl"
            self.segments.append(path)
            self._handle = path.open("w", encoding="utf-8")
        self._handle.write(json.dumps({k: row.get(k) for k in _ROW_KEYS}) + "\n")
        self.third_party = self.third_party or bool(row.get("third_party"))
        self.count = expected
        self._in_segment += 1
        if self._in_segment == self.segment_rows:
            self._handle.close()
            self._handle = None
            self._in_segment = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.closed = True

    def parts(self, *, parallel: int = MAX_PARALLEL) -> list[list[Path]]:
        """Consecutive segments grouped into parts: at least one per process that can
        run, none over ``part_rows``, as even as whole segments allow."""
        if not self.segments:
            return []
        segments_per_part_max = max(1, self.part_rows // self.segment_rows)
        wanted = max(
            min(parallel, len(self.segments)),
            -(-len(self.segments) // segments_per_part_max),
        )
        size, extra = divmod(len(self.segments), wanted)
        grouped, start = [], 0
        for index in range(wanted):
            end = start + size + (1 if index < extra else 0)
            grouped.append(self.segments[start:end])
            start = end
        return grouped


@dataclass
class PartJob:
    """One part process to run: its JSON job, and what it is called in an error."""

    name: str
    job: dict[str, Any]


@dataclass
class _Running:
    part: PartJob
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]
    stdout: IO[bytes]


def _spawn(part: PartJob, workdir: Path) -> _Running:
    stdout = (workdir / f"{part.name}.out").open("w+b")
    stderr = (workdir / f"{part.name}.err").open("w+b")
    process = subprocess.Popen(  # noqa: S603 (our interpreter, a fixed module, no shell)
        [sys.executable, "-m", PART_MODULE],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=stderr,
        env={
            **os.environ,
            "LEGALOPS_RENDER_PARENT": str(os.getpid()),
            "LEGALOPS_RENDER_LIBRARIES": str(workdir / "libraries.json"),
        },
    )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(part.job).encode())
        process.stdin.close()
    except BrokenPipeError:
        # The part died before reading its job (killed as it started): its exit
        # status, read by _outcome, says why.
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    return _Running(part, process, stderr, stdout)


def _outcome(running: _Running) -> int:
    """Pages the part wrote, or the part's failure raised as an exception."""
    code = running.process.returncode
    running.stderr.seek(0)
    lines = running.stderr.read().decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1] if lines else f"exit status {code}"
    if code == EXIT_REFUSED:
        try:
            refused = json.loads(reason)
            raise RenderRefused(refused["url"], refused["reason"])
        except (ValueError, KeyError, TypeError):
            raise RenderRefused(reason, "refused in a part") from None
    if code == EXIT_INPUT:
        from legalops.disclosures.render import RenderInputError

        raise RenderInputError(f"{running.part.name}: {reason}")
    if code != 0:
        if code < 0:
            reason = f"killed by signal {-code}"
        raise RenderFailed(f"{running.part.name} failed: {reason}")
    running.stdout.seek(0)
    try:
        return int(json.loads(running.stdout.read())["pages"])
    except (ValueError, KeyError) as exc:
        raise RenderFailed(f"{running.part.name} gave no page count") from exc


def parts_run(
    parts: list[PartJob],
    *,
    workdir: Path,
    parallel: int = MAX_PARALLEL,
    on_done: Callable[[PartJob, int], None] | None = None,
    poll_seconds: float = 0.01,
) -> dict[str, int]:
    """Run the parts, at most ``parallel`` at once, in order; pages per part name.

    The first failure stops everything: the other running parts are killed (by their
    own process ids) and the failure is raised, so nothing partial is ever merged.
    """
    pending = list(parts)
    running: list[_Running] = []
    pages: dict[str, int] = {}
    try:
        while pending or running:
            while pending and len(running) < parallel:
                running.append(_spawn(pending.pop(0), workdir))
            time.sleep(poll_seconds)
            for item in list(running):
                if item.process.poll() is None:
                    continue
                running.remove(item)
                try:
                    pages[item.part.name] = _outcome(item)
                finally:
                    item.stdout.close()
                    item.stderr.close()
                if on_done is not None:
                    on_done(item.part, pages[item.part.name])
    finally:
        for item in running:
            if item.process.poll() is None:
                item.process.kill()
            item.process.wait()
            item.stdout.close()
            item.stderr.close()
    return pages
