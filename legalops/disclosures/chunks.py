"""The parent side of the chunked render: spool rows to disk, run the parts two at a
time (children of one render server), merge.

The parent never holds the rows: :class:`RowSpool` checks each row as it arrives
(numbered 1..N, in time order) and writes it to the current segment file, so memory
holds one row whatever the row count. After the single pass over the rows the
records' page count is known (:func:`.record_lines.records_pages`), so every part can
be given its first page number and the total before any of them is rendered.
"""

import contextlib
import json
import os
import selectors
import subprocess
import sys
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
    """One part to render: its JSON job, and what it is called in an error."""

    name: str
    job: dict[str, Any]


class RenderServer:
    """A ``render_part --serve`` process: it imports WeasyPrint once and forks one
    short-lived child per part (see :mod:`.render_part`).

    The package job runs in a Celery prefork child, which cannot use
    ``multiprocessing``; a plain subprocess that forks is fine. The server and its
    children die with the job's process (parent-death signals), and killing the
    server kills every part it is running.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self._stderr = (self.workdir / "render-server.err").open("w+b")
        self.process = subprocess.Popen(  # noqa: S603 (our interpreter, a fixed module, no shell)
            [sys.executable, "-m", PART_MODULE, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={
                **os.environ,
                "LEGALOPS_RENDER_PARENT": str(os.getpid()),
                "LEGALOPS_RENDER_LIBRARIES": str(self.workdir / "libraries.json"),
            },
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._events = self.process.stdout
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._events, selectors.EVENT_READ)
        self._pending = b""
        self.pids: dict[str, int] = {}
        self.usage: dict[str, dict[str, float]] = {}

    def submit(self, part: PartJob) -> None:
        request = {
            "name": part.name,
            "job": part.job,
            "stdout": str(self.workdir / f"{part.name}.out"),
            "stderr": str(self.workdir / f"{part.name}.err"),
        }
        assert self.process.stdin is not None
        # A server that died cannot take the job; events() then reports its end.
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()

    def events(self, timeout: float) -> list[dict[str, Any]] | None:
        """What the server reported within ``timeout`` seconds; ``None`` once it has
        exited and said everything."""
        if not self._selector.select(timeout):
            return []
        chunk = os.read(self._events.fileno(), 1 << 16)
        if not chunk:
            self.process.wait()
            return None
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        found = [json.loads(line) for line in lines]
        for event in found:
            self.pids[event["name"]] = event["pid"]
            if "status" in event:
                self.usage[event["name"]] = {
                    "cpu_s": event["cpu_s"],
                    "max_rss_mb": round(event["max_rss_kb"] / 1024, 1),
                }
        return found

    def failure(self) -> str:
        """Why the server itself ended."""
        code = self.process.wait()
        if code < 0:
            return f"killed by signal {-code}"
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"the render server ended with exit status {code}"

    def close(self) -> None:
        """Let the server finish what it runs and exit."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        while self.events(1.0) is not None:
            pass
        self._done()

    def kill(self) -> None:
        """Stop the server now, and with it (their parent-death signal) every part it
        runs, before they can write anything more."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        self._done()

    def _done(self) -> None:
        if self._events.closed:
            return
        self._selector.close()
        self._events.close()
        self._stderr.close()

    def __enter__(self) -> "RenderServer":
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.kill()


def _outcome(part: PartJob, code: int, workdir: Path) -> int:
    """Pages the part wrote, or the part's failure raised as an exception."""
    try:
        lines = (workdir / f"{part.name}.err").read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        lines = ""
    lines = lines.strip().splitlines()
    reason = lines[-1] if lines else f"exit status {code}"
    if code == EXIT_REFUSED:
        try:
            refused = json.loads(reason)
            raise RenderRefused(refused["url"], refused["reason"])
        except (ValueError, KeyError, TypeError):
            raise RenderRefused(reason, "refused in a part") from None
    if code == EXIT_INPUT:
        from legalops.disclosures.render import RenderInputError

        raise RenderInputError(f"{part.name}: {reason}")
    if code != 0:
        if code < 0:
            reason = f"killed by signal {-code}"
        raise RenderFailed(f"{part.name} failed: {reason}")
    try:
        return int(json.loads((workdir / f"{part.name}.out").read_bytes())["pages"])
    except (OSError, ValueError, KeyError) as exc:
        raise RenderFailed(f"{part.name} gave no page count") from exc


def parts_run(
    parts: list[PartJob],
    *,
    workdir: Path,
    parallel: int = MAX_PARALLEL,
    on_done: Callable[[PartJob, int], None] | None = None,
    poll_seconds: float = 0.01,
    server: RenderServer | None = None,
) -> dict[str, int]:
    """Run the parts, at most ``parallel`` at once, in order; pages per part name.

    Parts run as children of ``server`` (one is started for this call if not given).
    The first failure stops everything: the server is killed and every part still
    running with it, and the failure is raised, so nothing partial is ever merged.
    """
    own = server is None
    if server is None:
        server = RenderServer(workdir)
    pending = list(parts)
    running: dict[str, PartJob] = {}
    pages: dict[str, int] = {}
    try:
        while pending or running:
            while pending and len(running) < parallel:
                part = pending.pop(0)
                server.submit(part)
                running[part.name] = part
            events = server.events(poll_seconds)
            if events is None:
                first = next(iter(running.values()))
                raise RenderFailed(f"{first.name} failed: {server.failure()}")
            for event in events:
                if "status" not in event:
                    continue
                part = running.pop(event["name"])
                pages[part.name] = _outcome(part, int(event["status"]), workdir)
                if on_done is not None:
                    on_done(part, pages[part.name])
    except BaseException:
        server.kill()
        raise
    if own:
        server.close()
    return pages
