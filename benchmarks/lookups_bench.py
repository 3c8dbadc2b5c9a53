"""Benchmark the query-log store: ingest throughput, scope latency, purge of a day.

Run from the project root:

    DEBUG=1 .venv/bin/python benchmarks/lookups_bench.py [--rows N] [--scope-rows A,B]
        [--database-url URL] [--parts ingest,scope,purge] [--profile-rows N]

Progress goes to stderr; stdout carries one JSON object and nothing else.

On PostgreSQL (DATABASE_URL or --database-url) the named database is dropped and
created afresh for every measured step, so its name must contain "bench": the script
refuses to drop anything else. Without a URL it runs the ingest part on SQLite, in a
file under its own temporary directory (LEGALOPS_VAR_DIR is pointed there), so the
development database under ./var is never touched.

What is measured, and against what:

1. ingest: the real ``manage.py ingest_logs FILE`` as a child process (wall time, and
   its own peak RSS from ``wait4``), on N and on N/4 rows so a flat memory profile is
   visible, beside a raw bulk load of the same rows normalized in advance: COPY FROM
   STDIN of one pre-made text file (PostgreSQL) or one ``executemany`` transaction
   (SQLite), into the same table with the same indexes.
2. scope (PostgreSQL): ``rows_in_scope`` first-row and all-rows time and
   ``count_in_scope`` for 10 identifiers x 30 days over 1M and 10M rows.
3. purge (PostgreSQL): ``logs_purge`` removing one expired day, without and with holds.
"""

import argparse
import json
import os
import platform
import pstats
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "manage.py"

# Fixed inputs so two runs on the same machine load byte-identical data.
BENCH_END = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)
INGEST_SEED = 11
SCOPE_SEED = 22
PURGE_SEED = 33
TIMED_RUNS = 5
REGION = "US"
TABLE = "lookups_querylogentry"
COLUMNS = (
    "event_id",
    "occurred_at",
    "service",
    "source_raw",
    "source",
    "target_raw",
    "target",
    "source_ip",
    "client",
    "target_reachable",
)
COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
# Rows per COPY write when streaming: a few megabytes, so memory stays flat.
STREAM_ROWS_PER_WRITE = 10_000
COPY_FILE_CHUNK = 1 << 20

_started = time.perf_counter()
T = TypeVar("T")


class BenchError(RuntimeError):
    """A step failed or a loaded table is not what it should be."""


# --- other load on the machine -------------------------------------------------------
#
# The machine is shared (2 cores): another test suite running beside a timed step
# would halve what it measures. So every timed step first waits for a quiet spell and
# then reports the CPU that processes other than ours used while it ran.

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_CORES = 0.15  # foreign CPU below this, averaged over QUIET_WINDOW_S, is quiet
QUIET_WINDOW_S = 3.0
RETRY_CORES = 0.2  # a timed step disturbed by this much foreign CPU or more is repeated
SAMPLE_INTERVAL_S = 0.5
CONTENTION: dict[str, dict[str, Any]] = {}
_settings: dict[str, Any] = {"max_quiet_wait_s": 120.0, "database": "", "attempts": 3}
_ROOT_PID = os.getpid()  # set at import, so the forked sampler still knows who "we" are


def _process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, CPU ticks so far, process title) for every process we can read."""
    table: dict[int, tuple[int, int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                stat = stat_file.read().decode(errors="replace")
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmd_file:
                title = cmd_file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        fields = stat[stat.rfind(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), title)
    return table


def _descendants(table: dict[int, tuple[int, int, str]], root: int) -> set[int]:
    """``root`` and every process below it in ``table``."""
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in table.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return tree


def _classify(table: dict[int, tuple[int, int, str]]) -> dict[int, str]:
    """pid -> "ours", "our_backend", "server" or "foreign".

    PostgreSQL backends title themselves 'postgres: <cluster>: <user> <db> <client>', so
    a backend of our database is ours (it does the server side of our work), one of
    another database is foreign, and the server's helpers (WAL writer, checkpointer,
    parallel workers) are shared.
    """
    ours = _descendants(table, _ROOT_PID)
    kinds: dict[int, str] = {}
    for pid, (_, _, title) in table.items():
        if pid in ours:
            kinds[pid] = "ours"
        elif title.startswith("postgres:"):
            words = title.split()
            if len(words) >= 5 and "(" in words[4]:
                kinds[pid] = "our_backend" if words[3] == _settings["database"] else "foreign"
            else:
                kinds[pid] = "server"
        elif "postgres" in title.split(" ")[0]:
            kinds[pid] = "server"  # the postmaster itself
        else:
            kinds[pid] = "foreign"
    return kinds


class ForeignLoad:
    """Samples the CPU seconds that foreign processes use, until stopped.

    The sampler is a forked child, not a thread: reading /proc takes a few
    milliseconds of Python each time, which in a thread would hold the GIL in the
    middle of the very latencies being measured. (Being our child, it is not foreign.)
    """

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=self._run, args=(self._stop, send), daemon=True)
        self.cpu_s = 0.0
        self.seconds = 0.0
        self.span = 0.0
        self.backend_s = 0.0  # CPU of our database's backends (the server side of our work)
        self.server_s = 0.0  # CPU of the server's shared helpers (WAL writer, checkpointer)
        self.top: list[str] = []

    def __enter__(self) -> "ForeignLoad":
        self._start = time.perf_counter()
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # The samples span at least one interval, however short the step.
        self.cpu_s, self.span, self.top, self.backend_s, self.server_s = self._receive.recv()
        self._process.join()
        self.seconds = time.perf_counter() - self._start

    @staticmethod
    def _run(stop: Any, send: Any) -> None:
        began = time.perf_counter()
        before = _process_table()
        by_title: dict[str, int] = {}
        by_kind: dict[str, int] = {"our_backend": 0, "server": 0}
        while True:
            stopped = stop.wait(SAMPLE_INTERVAL_S)
            now = _process_table()
            for pid, kind in _classify(now).items():
                if kind == "ours":
                    continue
                old = before.get(pid)
                # A process first seen now started since the last sample: all of its
                # CPU is new. (One that started and ended in between is not seen.)
                used = now[pid][1] - (old[1] if old and old[0] == now[pid][0] else 0)
                if not used:
                    continue
                if kind == "foreign":
                    title = now[pid][2][:80].strip() or f"pid {pid}"
                    by_title[title] = by_title.get(title, 0) + used
                else:
                    by_kind[kind] += used
            before = now
            if stopped:
                top = sorted(by_title.items(), key=lambda item: item[1], reverse=True)[:3]
                span = time.perf_counter() - began
                used_s = sum(by_title.values()) / _CLOCK_TICKS
                send.send(
                    (
                        used_s,
                        span,
                        [title for title, _ in top],
                        by_kind["our_backend"] / _CLOCK_TICKS,
                        by_kind["server"] / _CLOCK_TICKS,
                    )
                )
                return

    @property
    def cores(self) -> float:
        span = max(self.seconds, self.span)
        return self.cpu_s / span if span else 0.0


def wait_until_quiet() -> float:
    """Wait (up to the limit) for a spell without foreign load; return seconds waited."""
    start = time.perf_counter()
    while True:
        with ForeignLoad() as load:
            time.sleep(QUIET_WINDOW_S)
        waited = time.perf_counter() - start
        if load.cores < QUIET_CORES or waited >= _settings["max_quiet_wait_s"]:
            return round(waited, 1)


class TimedStep:
    """Wait for quiet, then record the foreign CPU used during the step under ``label``."""

    def __init__(self, label: str, *, wait: bool = True) -> None:
        self.label = label
        self.wait = wait
        self.load = ForeignLoad()

    def __enter__(self) -> "TimedStep":
        self.waited = wait_until_quiet() if self.wait else 0.0
        self.server = _server_counters()
        self.load.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.load.__exit__(*exc)
        CONTENTION[self.label] = {
            "waited_for_quiet_s": self.waited,
            "step_s": round(self.load.seconds, 1),
            "foreign_cpu_s": round(self.load.cpu_s, 1),
            "foreign_cores_avg": round(self.load.cores, 2),
        }
        if _settings["database"]:
            CONTENTION[self.label]["our_backends_cpu_s"] = round(self.load.backend_s, 1)
            CONTENTION[self.label]["server_helpers_cpu_s"] = round(self.load.server_s, 1)
        after = _server_counters()
        if self.server and after:
            # Cluster-wide, so other databases' work shows too: a DROP DATABASE elsewhere
            # forces a checkpoint, after which every page first touched again is logged
            # whole (full-page writes), which makes index-heavy loads much slower.
            CONTENTION[self.label]["server_checkpoints"] = after[0] - self.server[0]
            CONTENTION[self.label]["server_wal_mb"] = round((after[1] - self.server[1]) / 2**20)
        if self.load.cores >= QUIET_CORES:
            CONTENTION[self.label]["foreign_top"] = self.load.top  # type: ignore[assignment]
        if self.load.cores >= QUIET_CORES:
            say(f"  note: other processes used {self.load.cores:.2f} cores during {self.label}")


def _server_counters() -> tuple[int, int] | None:
    """(checkpoints so far, WAL position in bytes) of the PostgreSQL cluster, if any."""
    if not _settings["database"]:
        return None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT checkpoints_timed + checkpoints_req, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_bgwriter"
        )
        checkpoints, wal = cursor.fetchone()
    return int(checkpoints), int(wal)


def quietly(label: str, step: Callable[[], T]) -> T:
    """Run ``step`` (which times itself in ``TimedStep(label)``) until a run is clean.

    A run during which other processes used ``RETRY_CORES`` or more is repeated, up to
    the attempt limit; the least disturbed run is kept, and the record says so.
    """
    best: tuple[T, dict[str, Any]] | None = None
    attempts = int(_settings["attempts"])
    for attempt in range(1, attempts + 1):
        value = step()
        record = dict(CONTENTION[label])
        if best is None or record["foreign_cores_avg"] < best[1]["foreign_cores_avg"]:
            best = (value, record)
        if record["foreign_cores_avg"] < RETRY_CORES or attempt == attempts:
            break
        say(f"  repeating {label} (attempt {attempt + 1} of {attempts})")
    assert best is not None
    CONTENTION[label] = {**best[1], "attempts": attempt}
    return best[0]


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- child processes --------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    peak_rss_mb: float  # the largest single process (the child or one of its own)
    peak_tree_rss_mb: float  # the child and its descendants together, sampled
    cpu_user_s: float
    cpu_sys_s: float
    stdout: str


def _tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    total = 0
    for pid in _descendants(_process_table(), root):
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


class TreeRssSampler:
    """Samples the summed RSS of a process tree every 0.25 s in a thread of this
    process (the measured processes are separate, so the GIL here does not slow them)."""

    def __init__(self, root: int) -> None:
        import threading

        self.root = root
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(self.root))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_kib / 1024, 1)


def run_child(args: Sequence[str], *, env: dict[str, str], workdir: Path, label: str) -> ChildRun:
    """Run a child to completion; its rusage comes from ``wait4`` on its pid alone.

    ``RUSAGE_CHILDREN`` would report the largest child so far (a generator or migrate
    run could mask the ingest), so the child is reaped here with its own figures.
    """
    out_path = workdir / f"{label}.stdout"
    err_path = workdir / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=env, cwd=ROOT)  # noqa: S603
        sampler = TreeRssSampler(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        tree_peak_mb = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise BenchError(f"{label} exited {proc.returncode}: {tail}")
    return ChildRun(
        seconds=seconds,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports kilobytes
        peak_tree_rss_mb=max(tree_peak_mb, round(usage.ru_maxrss / 1024, 1)),
        cpu_user_s=round(usage.ru_utime, 2),
        cpu_sys_s=round(usage.ru_stime, 2),
        stdout=stdout,
    )


def manage(*args: str) -> list[str]:
    return [sys.executable, str(MANAGE), *args]


# --- COPY text ---------------------------------------------------------------------------


def copy_text(rows: Sequence[Any]) -> str:
    """COPY text for normalized ``LogRow``s, encoded by the ingest's own codec."""
    from lookups.batches import PostgresCodec

    codec = PostgresCodec()
    return codec.payload([codec.encode(row) for row in rows]).decode("utf-8")


def parsed_rows(path: Path) -> Iterator[Any]:
    """The file's rows as ingest would store them (same reader, same parser)."""
    from lookups.entries import EntryRejected, entry_parse
    from lookups.readers import jsonl_entries

    with path.open("rb") as stream:
        for number, entry in jsonl_entries(stream):
            if isinstance(entry, EntryRejected):
                raise BenchError(f"{path.name} line {number}: {entry.errors}")
            yield entry_parse(entry, region=REGION)


# --- databases ---------------------------------------------------------------------------


class Database:
    """The one database the benchmark owns: recreated empty and migrated on demand."""

    vendor = ""

    def __init__(self, *, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env

    def recreate(self) -> None:
        raise NotImplementedError

    def migrate(self) -> None:
        run_child(
            manage("migrate", "--verbosity", "0"),
            env=self.env,
            workdir=self.workdir,
            label="migrate",
        )

    def settle(self) -> None:
        """Leave nothing pending from the previous step that a timed step would pay for."""

    def prenormalize(self, source: Path) -> tuple[float, Any]:
        raise NotImplementedError

    def raw_load(self, payload: Any) -> float:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


def orm_count_between(first: datetime, last: datetime) -> int:
    """Rows the ORM finds from ``first`` to ``last`` inclusive: an edge-encoding check."""
    from lookups.models import QueryLogEntry

    return QueryLogEntry.objects.filter(occurred_at__gte=first, occurred_at__lte=last).count()


def table_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        return int(cursor.fetchone()[0])


class PostgresDatabase(Database):
    vendor = "postgresql"

    def __init__(self, *, workdir: Path, env: dict[str, str], url: str) -> None:
        super().__init__(workdir=workdir, env=env)
        self.url = url
        parts = urlsplit(url)
        self.name = parts.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_]*bench[A-Za-z0-9_]*", self.name):
            raise BenchError(
                f"refusing to use database {self.name!r}: this benchmark drops and recreates "
                "it, so its name must contain 'bench' (e.g. legalops_bench)"
            )
        self.cli = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        if parts.username:
            self.cli += ["-U", parts.username]
        self.cli_env = dict(os.environ)
        if parts.password:
            self.cli_env["PGPASSWORD"] = parts.password
        found = {name: shutil.which(name) for name in ("createdb", "dropdb")}
        missing = [name for name, path in found.items() if path is None]
        if missing:
            raise BenchError(f"PostgreSQL client tools not on PATH: {', '.join(missing)}")
        self.tools: dict[str, str] = {name: str(path) for name, path in found.items()}

    def connect(self, *, autocommit: bool = False) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=autocommit)

    def recreate(self) -> None:

        self.drop()
        subprocess.run(  # noqa: S603
            [self.tools["createdb"], *self.cli, self.name], env=self.cli_env, check=True
        )
        self.migrate()

    def drop(self) -> None:
        from django.db import connection

        connection.close()  # dropdb cannot drop a database this process is connected to
        # --force ends any session still on this (the benchmark's own) database.
        subprocess.run(  # noqa: S603
            [self.tools["dropdb"], "--if-exists", "--force", *self.cli, self.name],
            env=self.cli_env,
            check=True,
        )

    def settle(self) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def prenormalize(self, source: Path) -> tuple[float, Path]:
        target = self.workdir / f"{source.stem}.copy"
        start = time.perf_counter()
        with target.open("w", encoding="utf-8") as out:
            batch: list[Any] = []
            for row in parsed_rows(source):
                batch.append(row)
                if len(batch) >= STREAM_ROWS_PER_WRITE:
                    out.write(copy_text(batch))
                    batch = []
            out.write(copy_text(batch))
        return time.perf_counter() - start, target

    def raw_load(self, payload: Path) -> float:
        with self.connect() as conn, payload.open("rb") as stream:
            start = time.perf_counter()
            with conn.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
                while chunk := stream.read(COPY_FILE_CHUNK):
                    copy.write(chunk)
            conn.commit()
            return time.perf_counter() - start

    def table_definition(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(constraints, plain indexes) of the log table, as DDL the catalog gives back."""
        with self.connect() as conn:
            constraints = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname",
                [TABLE],
            ).fetchall()
            names = [name for name, _ in constraints]
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND NOT indexname = ANY(%s) ORDER BY indexname",
                [TABLE, names],
            ).fetchall()
        return list(constraints), list(indexes)

    def index_definitions(self) -> list[str]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [TABLE]
            ).fetchall()
        return [definition for (definition,) in rows]

    def drop_indexes(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        constraints, indexes = self.table_definition()
        with self.connect() as conn:
            for name, _ in constraints:
                conn.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            conn.commit()
        return constraints, indexes

    def rebuild_indexes(
        self, definition: tuple[list[tuple[str, str]], list[tuple[str, str]]]
    ) -> float:
        constraints, indexes = definition
        start = time.perf_counter()
        with self.connect() as conn:
            # A sort that fits in memory builds each B-tree in one pass; session-only.
            conn.execute("SET maintenance_work_mem = '512MB'")
            for name, ddl in constraints:
                conn.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {ddl}')
            for _, ddl in indexes:
                conn.execute(ddl)
            conn.commit()
        return time.perf_counter() - start

    def vacuum_analyze(self) -> float:
        start = time.perf_counter()
        with self.connect(autocommit=True) as conn:
            conn.execute(f"VACUUM ANALYZE {TABLE}")
        return time.perf_counter() - start

    def sizes_mb(self) -> dict[str, float]:
        with self.connect() as conn:
            table, indexes = conn.execute(
                "SELECT pg_relation_size(%s::regclass), pg_indexes_size(%s::regclass)",
                [TABLE, TABLE],
            ).fetchone()
        return {"table_mb": round(table / 2**20, 1), "indexes_mb": round(indexes / 2**20, 1)}

    def describe(self) -> dict[str, Any]:
        with self.connect() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(
                conn.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                    "('shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_wal_size', "
                    "'synchronous_commit', 'jit', 'effective_cache_size')"
                ).fetchall()
            )
        return {"vendor": "postgresql", "version": version, "database": self.name, **settings}


class SqliteDatabase(Database):
    vendor = "sqlite"

    def __init__(self, *, workdir: Path, env: dict[str, str]) -> None:
        super().__init__(workdir=workdir, env=env)
        from django.conf import settings

        self.path = Path(settings.DATABASES["default"]["NAME"])
        if not self.path.is_relative_to(workdir):
            raise BenchError(f"{self.path} is not under the benchmark's temporary directory")
        self.init_command = settings.DATABASES["default"]["OPTIONS"]["init_command"]

    def recreate(self) -> None:
        from django.db import connection

        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.migrate()

    def prenormalize(self, source: Path) -> tuple[float, list[tuple[Any, ...]]]:
        from django.db import connection

        adapt = connection.ops.adapt_datetimefield_value
        start = time.perf_counter()
        # Encoded exactly as the ORM writes them (UUID as 32 hex digits, timestamps via
        # the backend's adapter), or an inclusive edge compares text that differs.
        payload = [
            (row.event_id.replace("-", ""), adapt(row.occurred_at), *row[2:])
            for row in parsed_rows(source)
        ]
        return time.perf_counter() - start, payload

    def raw_load(self, payload: list[tuple[Any, ...]]) -> float:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for pragma in self.init_command.split(";"):
                if pragma.strip():
                    conn.execute(pragma)
            marks = ", ".join("?" for _ in COLUMNS)
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})", payload
            )
            conn.execute("COMMIT")
            return time.perf_counter() - start
        finally:
            conn.close()

    def describe(self) -> dict[str, Any]:
        return {
            "vendor": "sqlite",
            "version": sqlite3.sqlite_version,
            "pragmas": self.init_command,
        }


# --- part 1: ingest ------------------------------------------------------------------


def generate_file(db: Database, *, rows: int, seed: int, path: Path) -> None:
    say(f"generating {rows:,} rows to {path.name}")
    run_child(
        manage(
            "generate_logs",
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--end",
            BENCH_END.isoformat(),
            "--out",
            str(path),
        ),
        env=db.env,
        workdir=db.workdir,
        label=f"generate_{rows}",
    )


def check_loaded(*, rows: int, first: datetime, last: datetime, what: str) -> None:
    stored = table_count()
    through_orm = orm_count_between(first, last)
    if stored != rows or through_orm != rows:
        raise BenchError(
            f"{what}: expected {rows} rows, table holds {stored}, the ORM finds {through_orm} "
            "between the first and last timestamps inclusive"
        )


def file_edges(path: Path) -> tuple[datetime, datetime]:
    """First and last occurred_at of a generated file (it is in time order)."""
    with path.open("rb") as stream:
        first = json.loads(stream.readline())["occurred_at"]
        stream.seek(max(path.stat().st_size - 4096, 0))
        last = json.loads(stream.read().splitlines()[-1])["occurred_at"]
    return datetime.fromisoformat(first), datetime.fromisoformat(last)


def run_ingest(db: Database, *, path: Path, rows: int) -> dict[str, Any]:
    db.recreate()
    db.settle()
    say(f"ingest_logs {path.name} ({rows:,} rows, {db.vendor})")
    with TimedStep(f"ingest_logs_{rows}"):
        child = run_child(
            manage("ingest_logs", str(path)),
            env=db.env,
            workdir=db.workdir,
            label=f"ingest_{rows}",
        )
    if f"accepted {rows}," not in child.stdout:
        raise BenchError(f"ingest_logs said {child.stdout.strip()!r}, expected accepted {rows}")
    first, last = file_edges(path)
    check_loaded(rows=rows, first=first, last=last, what="ingest_logs")
    say(
        f"  {child.seconds:.1f} s, {rows / child.seconds:,.0f} rows/s, "
        f"{child.peak_rss_mb} MB largest process, {child.peak_tree_rss_mb} MB all together"
    )
    return {
        "rows": rows,
        "seconds": round(child.seconds, 2),
        "rows_per_s": round(rows / child.seconds),
        "peak_rss_mb": child.peak_rss_mb,
        "peak_rss_all_processes_mb": child.peak_tree_rss_mb,
        "cpu_user_s": child.cpu_user_s,
        "cpu_sys_s": child.cpu_sys_s,
    }


def profile_ingest(db: Database, *, rows: int) -> dict[str, Any]:
    """cProfile of the ingest command's main thread (COPY's writer thread is not seen)."""
    path = db.workdir / "profile.jsonl"
    if not path.exists():
        generate_file(db, rows=rows, seed=INGEST_SEED, path=path)
    db.recreate()
    db.settle()
    out = db.workdir / "ingest.prof"
    say(f"profiling ingest_logs on {rows:,} rows")
    with TimedStep(f"profile_{rows}"):
        child = run_child(
            [
                sys.executable,
                "-m",
                "cProfile",
                "-o",
                str(out),
                str(MANAGE),
                "ingest_logs",
                str(path),
            ],
            env=db.env,
            workdir=db.workdir,
            label="profile",
        )
    stats = pstats.Stats(str(out))
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]

    def label(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        return f"{short}:{line}({name})" if line else name

    top = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:15]
    # Time of the steps ingest is made of, found by function name: cumulative for the
    # Python steps; own time for psycopg's wait, which is the main thread blocked on the
    # server (COPY end and commit) instead of parsing the next batch meanwhile.
    steps = {
        # in this process only when it prepares batches itself (one core, --in-process)
        "read_jsonl (readers.jsonl_entries)": ("lookups/readers.py", "jsonl_entries", 3),
        "fast path (entries.EntryFastPath)": ("lookups/entries.py", "__call__", 3),
        "entry_parse": ("lookups/entries.py", "entry_parse", 3),
        "batches_prepare (all of preparing)": ("lookups/batches.py", "batches_prepare", 3),
        "blocked_on_server (psycopg wait)": ("psycopg/connection.py", "wait", 2),
        "django_setup": ("django/__init__.py", "setup", 3),
        "logs_ingest_file (all of ingest)": ("lookups/ingest.py", "logs_ingest_file", 3),
    }
    measured = {}
    for step, (file_part, name, column) in steps.items():
        matches = [
            value[column]
            for key, value in table.items()
            if key[2] == name and key[0].endswith(file_part)
        ]
        measured[step] = round(sum(matches), 2) if matches else None
    return {
        "rows": rows,
        "wall_s_under_profiler": round(child.seconds, 2),
        "profiled_s": round(total, 2),
        "step_s": measured,
        "top_tottime": [
            {
                "function": label(key),
                "calls": value[1],
                "tottime_s": round(value[2], 2),
                "cumtime_s": round(value[3], 2),
            }
            for key, value in top
        ],
    }


def bench_ingest(db: Database, *, rows: int, profile_rows: int) -> dict[str, Any]:
    quarter = max(rows // 4, 1)
    full_file = db.workdir / "ingest_full.jsonl"
    quarter_file = db.workdir / "ingest_quarter.jsonl"
    generate_file(db, rows=rows, seed=INGEST_SEED, path=full_file)
    generate_file(db, rows=quarter, seed=INGEST_SEED, path=quarter_file)
    startup = run_child(
        manage("ingest_logs", "--help"), env=db.env, workdir=db.workdir, label="startup"
    )

    full = quietly(f"ingest_logs_{rows}", lambda: run_ingest(db, path=full_file, rows=rows))
    part = quietly(
        f"ingest_logs_{quarter}", lambda: run_ingest(db, path=quarter_file, rows=quarter)
    )

    say("normalizing the same rows in advance for the raw load")
    prenormalize_s, payload = db.prenormalize(full_file)
    first, last = file_edges(full_file)

    def raw_load() -> float:
        db.recreate()
        db.settle()
        say(f"raw bulk load of {rows:,} pre-normalized rows ({db.vendor})")
        with TimedStep(f"raw_load_{rows}"):
            seconds = db.raw_load(payload)
        check_loaded(rows=rows, first=first, last=last, what="raw load")
        say(f"  {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
        return seconds

    raw_s = quietly(f"raw_load_{rows}", raw_load)
    raw: dict[str, Any] = {
        "method": (
            "server-side COPY FROM STDIN (psycopg 3 cursor.copy) of one pre-made text file"
            if db.vendor == "postgresql"
            else "sqlite3 executemany in one transaction, ORM-encoded values"
        ),
        "rows": rows,
        "seconds": round(raw_s, 2),
        "rows_per_s": round(rows / raw_s),
        "prenormalize_s_not_timed": round(prenormalize_s, 2),
    }
    result: dict[str, Any] = {
        "rows": rows,
        "file_mb": round(full_file.stat().st_size / 2**20, 1),
        "command_startup_s": round(startup.seconds, 2),
        "command_startup_rss_mb": startup.peak_rss_mb,
        "ingest_logs": full,
        "ingest_logs_quarter": part,
        "raw_bulk_load": raw,
    }
    if isinstance(db, PostgresDatabase):
        result["table_after_raw_load"] = db.sizes_mb()
        result["index_definitions"] = db.index_definitions()

        def bare_load() -> float:
            db.recreate()
            db.drop_indexes()
            db.settle()
            say("raw COPY again with no index or key (what index upkeep costs)")
            with TimedStep(f"raw_load_no_indexes_{rows}"):
                return db.raw_load(payload)

        bare_s = quietly(f"raw_load_no_indexes_{rows}", bare_load)
        result["raw_bulk_load_no_indexes"] = {
            "seconds": round(bare_s, 2),
            "rows_per_s": round(rows / bare_s),
        }
    payload = None  # frees the pre-normalized rows (a big list on SQLite) before the profile
    ratio = full["rows_per_s"] / raw["rows_per_s"]
    result["ratio_ingest_to_raw"] = round(ratio, 3)
    result["rss_growth_mb_from_quarter_to_full"] = round(
        full["peak_rss_mb"] - part["peak_rss_mb"], 1
    )
    targets: dict[str, Any] = {
        "ratio_at_least_0.5": ratio >= 0.5,
        # all of the command's processes together (it and its parsing process)
        "peak_rss_at_most_200_mb": max(
            full["peak_rss_all_processes_mb"], part["peak_rss_all_processes_mb"]
        )
        <= 200,
    }
    if db.vendor == "postgresql":
        targets["rows_per_s_at_least_100000"] = full["rows_per_s"] >= 100_000
    result["targets_met"] = targets
    if profile_rows:
        result["profile"] = quietly(
            f"profile_{profile_rows}", lambda: profile_ingest(db, rows=profile_rows)
        )
    for path in (full_file, quarter_file):
        path.unlink(missing_ok=True)
    return result


# --- loading generated rows fast (parts 2 and 3) -----------------------------------


def stream_generated(db: PostgresDatabase, *, rows: int, seed: int) -> float:
    """COPY freshly generated rows, normalized by ``entry_parse``, in one transaction."""
    from lookups.entries import entry_parse
    from lookups.synthetic import logs_generate

    start = time.perf_counter()
    with db.connect() as conn:
        with conn.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
            batch: list[Any] = []
            written = 0
            for entry in logs_generate(rows=rows, seed=seed, end=BENCH_END):
                batch.append(entry_parse(entry, region=REGION))
                if len(batch) >= STREAM_ROWS_PER_WRITE:
                    copy.write(copy_text(batch))
                    written += len(batch)
                    batch = []
                    if written % 1_000_000 == 0:
                        say(f"  {written:,} rows copied")
            copy.write(copy_text(batch))
        conn.commit()
    return time.perf_counter() - start


def fast_load(db: PostgresDatabase, *, rows: int, seed: int) -> dict[str, Any]:
    """A fresh table holding ``rows`` generated rows, with exactly the migrated indexes.

    Keys and indexes are dropped for the load and rebuilt after it (bulk-built B-trees
    are far cheaper than 10M ordered inserts into random-key indexes); the rebuilt set
    is checked against the migrated one, definition by definition.
    """
    db.recreate()
    before = db.index_definitions()
    definition = db.drop_indexes()
    say(f"generating and COPYing {rows:,} rows (seed {seed})")
    with TimedStep(f"load_{rows}_seed_{seed}", wait=False):
        load_s = stream_generated(db, rows=rows, seed=seed)
    say(f"  {load_s:.1f} s; rebuilding keys and indexes")
    index_s = db.rebuild_indexes(definition)
    if db.index_definitions() != before:
        raise BenchError("the rebuilt indexes differ from the migrated ones")
    vacuum_s = db.vacuum_analyze()
    say(f"  indexes {index_s:.1f} s, VACUUM ANALYZE {vacuum_s:.1f} s")
    if table_count() != rows:
        raise BenchError(f"expected {rows} rows after the load")
    return {
        "rows": rows,
        "generate_normalize_copy_s": round(load_s, 1),
        "index_build_s": round(index_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
        **db.sizes_mb(),
    }


def sources_by_activity(*, before: datetime | None = None) -> list[tuple[str, int]]:
    """(source, rows as source), busiest first; ties broken by handle for determinism."""
    from django.db import connection

    where, params = ("WHERE occurred_at < %s", [before]) if before else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source, count(*) AS n FROM {TABLE} {where} "
            "GROUP BY source ORDER BY n DESC, source",
            params,
        )
        return [(source, int(n)) for source, n in cursor.fetchall()]


def pick_identifiers(ranked: list[tuple[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """Identifier sets by activity band: 8 at the median plus 2 at the 99th/98th percentile
    ("typical"), 10 at the median, and the single busiest source (the worst case)."""
    middle = len(ranked) // 2
    median_band = ranked[middle - 5 : middle + 5]
    heavy = [ranked[len(ranked) // 100], ranked[len(ranked) // 50]]
    return {
        "typical_8_median_2_p99": median_band[1:9] + heavy,
        "median_10": median_band,
        "busiest_1": ranked[:1],
    }


# --- part 2: scope ------------------------------------------------------------------


def explain_summary(plan: dict[str, Any]) -> str:
    """The plan's node types as one line: 'Sort <- Bitmap Heap Scan on t <- ...'."""

    def node(item: dict[str, Any]) -> str:
        text = item["Node Type"]
        if item.get("Index Name"):
            text += f" using {item['Index Name']}"
        elif item.get("Relation Name"):
            text += f" on {item['Relation Name']}"
        if item.get("Sort Key"):
            text += f" [{', '.join(item['Sort Key'])}; {item.get('Sort Method', '?')}]"
        children = [node(child) for child in item.get("Plans", [])]
        if len(children) == 1:
            text += f" <- {children[0]}"
        elif children:
            text += f" <- ({', '.join(children)})"
        return text

    top = plan["Plan"]
    return (
        f"{node(top)}; rows={top.get('Actual Rows')}, shared hit={top.get('Shared Hit Blocks')}"
        f" read={top.get('Shared Read Blocks')}; planning {plan.get('Planning Time', 0):.2f} ms,"
        f" execution {plan.get('Execution Time', 0):.2f} ms"
    )


def scope_sql(scope: dict[str, Any]) -> tuple[str, Sequence[Any]]:
    """The exact SQL ``rows_in_scope`` sends, captured from the connection."""
    from django.db import connection

    from lookups.selectors import rows_in_scope

    seen: list[tuple[str, Sequence[Any]]] = []

    def capture(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture), transaction_atomic():
        next(iter(rows_in_scope(**scope)), None)
    for sql, params in seen:
        if TABLE in sql and "ORDER BY" in sql:
            return sql, params
    raise BenchError("rows_in_scope sent no ORDER BY query on the log table")


def transaction_atomic() -> AbstractContextManager[Any]:
    from django.db import transaction

    return transaction.atomic()


def time_rows(
    scope: dict[str, Any], *, in_transaction: bool, chunk_rows: int | None = None
) -> dict[str, Any]:
    """Median first-row and all-rows time of ``rows_in_scope`` over warm runs.

    ``chunk_rows`` (diagnostic only) swaps the selector's fetch size for the run, to
    show how much of the first-row time is fetching and decoding the first chunk.
    """
    from lookups import selectors
    from lookups.selectors import rows_in_scope

    shipped = selectors.STREAM_CHUNK_ROWS
    if chunk_rows is not None:
        selectors.STREAM_CHUNK_ROWS = chunk_rows
    try:
        return _time_rows(rows_in_scope, scope, in_transaction=in_transaction)
    finally:
        selectors.STREAM_CHUNK_ROWS = shipped


def _time_rows(
    rows_in_scope: Callable[..., Iterable[Any]], scope: dict[str, Any], *, in_transaction: bool
) -> dict[str, Any]:
    firsts: list[float] = []
    totals: list[float] = []
    count = 0
    for run in range(TIMED_RUNS + 1):  # the first run warms caches and is discarded
        context = transaction_atomic() if in_transaction else nullcontext()
        with context:
            start = time.perf_counter()
            rows = iter(rows_in_scope(**scope))
            first = next(rows, None)
            first_at = time.perf_counter()
            count = (first is not None) + sum(1 for _ in rows)
            done_at = time.perf_counter()
        if run:
            firsts.append(first_at - start)
            totals.append(done_at - start)
    return {
        "rows": count,
        "first_row_ms": ms(median(firsts)),
        "all_rows_ms": ms(median(totals)),
        "first_row_ms_runs": [ms(value) for value in firsts],
    }


def time_count(scope: dict[str, Any]) -> dict[str, Any]:
    from lookups.selectors import count_in_scope

    arguments = {key: value for key, value in scope.items() if key != "fields"}
    times: list[float] = []
    count = 0
    for run in range(TIMED_RUNS + 1):
        start = time.perf_counter()
        count = count_in_scope(**arguments)
        if run:
            times.append(time.perf_counter() - start)
    return {"rows": count, "ms": ms(median(times))}


def explain(scope: dict[str, Any]) -> str:
    from django.db import connection

    from lookups import selectors

    sql, params = scope_sql(scope)
    # The plan settings the selector declares its merged stream with, or the plan shown
    # would not be the one that runs.
    names = selectors._STREAMING_PLAN_SETTINGS if "UNION ALL" in sql else ()
    with transaction_atomic(), connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT set_config(%s, 'off', true)", [name])
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return explain_summary(plan[0])


def handle_activity(handles: Iterable[str]) -> list[dict[str, Any]]:
    from django.db import connection

    described = []
    with connection.cursor() as cursor:
        for handle in handles:
            cursor.execute(
                f"SELECT count(*) FILTER (WHERE source = %s), count(*) FILTER (WHERE target = %s)"
                f" FROM {TABLE} WHERE source = %s OR target = %s",
                [handle, handle, handle, handle],
            )
            outgoing, incoming = cursor.fetchone()
            described.append(
                {"handle": handle, "as_source": int(outgoing), "as_target": int(incoming)}
            )
    return described


def bench_scope(db: PostgresDatabase, *, rows: int, reuse: bool = False) -> dict[str, Any]:
    if reuse and table_count() == rows:
        # A table loaded by an earlier run with the same seed: loading 10M rows again
        # would take minutes and measure nothing new.
        say(f"reusing the loaded {rows:,}-row table")
        load: dict[str, Any] = {"rows": rows, "reused": True, **db.sizes_mb()}
    else:
        load = fast_load(db, rows=rows, seed=SCOPE_SEED)
    ranked = sources_by_activity()
    result: dict[str, Any] = {
        "rows": rows,
        "load": load,
        "distinct_sources": len(ranked),
        "source_activity": {
            "max": ranked[0][1],
            "p99": ranked[len(ranked) // 100][1],
            "median": ranked[len(ranked) // 2][1],
            "min": ranked[-1][1],
        },
        "window": [
            (BENCH_END - WINDOW).isoformat(),
            (BENCH_END - timedelta(seconds=1)).isoformat(),
        ],
        "scopes": {},
    }
    for name, chosen in pick_identifiers(ranked).items():
        scope = {
            "identifiers": [handle for handle, _ in chosen],
            "date_from": BENCH_END - WINDOW,
            "date_to": BENCH_END - timedelta(seconds=1),
            "direction": "both",
        }
        say(f"scope {name} over {rows:,} rows")
        label = f"scope_{rows}_{name}"

        def measure(scope: dict[str, Any] = scope, label: str = label) -> dict[str, Any]:
            with TimedStep(label):
                return {
                    "rows_in_scope_autocommit": time_rows(scope, in_transaction=False),
                    "rows_in_scope_in_transaction": time_rows(scope, in_transaction=True),
                    "diagnostic_rows_in_scope_chunk_100": time_rows(
                        scope, in_transaction=False, chunk_rows=100
                    ),
                    "count_in_scope": time_count(scope),
                    "explain": explain(scope),
                }

        measured: dict[str, Any] = {
            "identifiers": handle_activity(scope["identifiers"]),
            **quietly(label, measure),
        }
        if measured["count_in_scope"]["rows"] != measured["rows_in_scope_autocommit"]["rows"]:
            raise BenchError(f"{name}: count_in_scope and rows_in_scope disagree")
        say(
            f"  {measured['count_in_scope']['rows']:,} rows: first row "
            f"{measured['rows_in_scope_autocommit']['first_row_ms']} ms (autocommit), "
            f"{measured['rows_in_scope_in_transaction']['first_row_ms']} ms (in transaction)"
        )
        result["scopes"][name] = measured
    return result


# --- part 3: purge ------------------------------------------------------------------


def bench_purge(db: PostgresDatabase, *, rows: int) -> dict[str, Any]:
    from django.conf import settings

    from lookups.retention import retention_cutoff

    # The rows cover the 30 days before BENCH_END; a day later the oldest day is expired.
    now = BENCH_END + timedelta(days=1)
    cutoff = retention_cutoff(now=now)
    result: dict[str, Any] = {
        "rows": rows,
        "now": now.isoformat(),
        "cutoff": cutoff.isoformat(),
        "batch_rows": settings.LOOKUPS_PURGE_BATCH_ROWS,
        "runs": {},
    }
    for with_holds in (False, True):
        name = "with_holds" if with_holds else "no_holds"
        result["runs"][name] = quietly(
            f"purge_{name}",
            lambda name=name, with_holds=with_holds: purge_once(
                db, rows=rows, now=now, name=name, with_holds=with_holds
            ),
        )
    return result


def purge_once(
    db: PostgresDatabase, *, rows: int, now: datetime, name: str, with_holds: bool
) -> dict[str, Any]:
    """Load afresh, hold ~10 identifiers' rows of the expired day if asked, purge, check."""
    from lookups.holds import hold_place
    from lookups.retention import logs_purge, retention_cutoff

    cutoff = retention_cutoff(now=now)
    load = fast_load(db, rows=rows, seed=PURGE_SEED)
    expired = expired_rows(cutoff)
    expected_kept = 0
    held: list[str] = []
    if with_holds:
        ranked = sources_by_activity(before=cutoff)
        held = [handle for handle, _ in pick_identifiers(ranked)["typical_8_median_2_p99"]]
        hold_place(
            identifiers=held,
            date_from=BENCH_END - WINDOW,
            date_to=cutoff - timedelta(seconds=1),  # inclusive through that second
            reason="benchmark",
            placed_by="lookups_bench",
        )
        expected_kept = held_rows(cutoff, held)
    say(f"purge {name}: {expired:,} rows past {cutoff:%Y-%m-%d}, {expected_kept:,} held")
    with TimedStep(f"purge_{name}"):
        start = time.perf_counter()
        run = logs_purge(now=now)
        seconds = time.perf_counter() - start
    left = expired_rows(cutoff)
    if (run.deleted, run.kept_held, left) != (expired - expected_kept,) + (expected_kept,) * 2:
        raise BenchError(
            f"purge {name}: deleted {run.deleted}, kept {run.kept_held}, left {left}; "
            f"expected to delete {expired - expected_kept} and keep {expected_kept}"
        )
    if table_count() != rows - run.deleted:
        raise BenchError(f"purge {name} deleted rows inside the retention window")
    say(f"  {seconds:.2f} s: deleted {run.deleted:,}, kept {run.kept_held:,}")
    return {
        "load": load,
        "expired_rows": expired,
        "held_identifiers": len(held),
        "deleted": run.deleted,
        "kept_held": run.kept_held,
        "rows_left_in_window": rows - expired,
        "seconds": round(seconds, 2),
        "deleted_rows_per_s": round(run.deleted / seconds) if seconds else None,
    }


def expired_rows(cutoff: datetime) -> int:
    from lookups.models import QueryLogEntry

    return QueryLogEntry.objects.filter(occurred_at__lt=cutoff).count()


def held_rows(cutoff: datetime, handles: list[str]) -> int:
    from django.db.models import Q

    from lookups.models import QueryLogEntry

    return (
        QueryLogEntry.objects.filter(occurred_at__lt=cutoff)
        .filter(Q(source__in=handles) | Q(target__in=handles))
        .count()
    )


# --- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="ingest and purge rows")
    parser.add_argument(
        "--scope-rows",
        default="1000000,10000000",
        help="comma-separated table sizes for the scope benchmark (PostgreSQL)",
    )
    parser.add_argument("--purge-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--database-url", default=None, help="default: $DATABASE_URL")
    parser.add_argument(
        "--parts", default="ingest,scope,purge", help="which parts to run (comma-separated)"
    )
    parser.add_argument(
        "--profile-rows",
        type=int,
        default=0,
        help="also cProfile ingest_logs on this many rows (0: skip)",
    )
    parser.add_argument(
        "--max-quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait, before each timed step, for other processes to go quiet",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help="runs of a timed step at most, while other processes disturb it",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the last loaded database in place"
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="scope part only, one size: measure the table a --keep-database run left, "
        "if it holds exactly that many rows (implies --keep-database)",
    )
    args = parser.parse_args(argv)
    args.scope_sizes = [int(value) for value in args.scope_rows.split(",") if value.strip()]
    args.part_names = {value.strip() for value in args.parts.split(",") if value.strip()}
    unknown = args.part_names - {"ingest", "scope", "purge"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.rows < 4:
        parser.error("--rows must be at least 4")
    if args.reuse_database:
        if args.part_names != {"scope"} or len(args.scope_sizes) != 1:
            parser.error("--reuse-database needs --parts scope and one --scope-rows size")
        args.keep_database = True
    return args


def configure(url: str, workdir: Path) -> dict[str, str]:
    """Point this process and its children at the benchmark database, then set Django up."""
    os.environ["DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["LEGALOPS_VAR_DIR"] = str(workdir / "var")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return dict(os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url if args.database_url is not None else os.environ.get("DATABASE_URL", "")
    if url and not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("only PostgreSQL URLs are supported; leave DATABASE_URL unset for SQLite")
    workdir = Path(tempfile.mkdtemp(prefix="legalops-bench-"))
    db: Database | None = None
    try:
        env = configure(url, workdir)
        import django

        db = (
            PostgresDatabase(workdir=workdir, env=env, url=url)
            if url
            else SqliteDatabase(workdir=workdir, env=env)
        )
        _settings["max_quiet_wait_s"] = args.max_quiet_wait
        _settings["attempts"] = max(args.attempts, 1)
        _settings["database"] = db.name if isinstance(db, PostgresDatabase) else ""
        if not args.reuse_database:
            db.recreate()
        report: dict[str, Any] = {
            "benchmark": "lookups",
            "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "django": django.get_version(),
            },
            "database": db.describe(),
            "generated_window_end": BENCH_END.isoformat(),
        }
        if "ingest" in args.part_names:
            report["ingest"] = bench_ingest(db, rows=args.rows, profile_rows=args.profile_rows)
        if isinstance(db, PostgresDatabase):
            if "scope" in args.part_names:
                report["scope"] = [
                    bench_scope(db, rows=size, reuse=args.reuse_database)
                    for size in args.scope_sizes
                ]
                report["scope_target_first_row_at_most_10_ms"] = {
                    f"{entry['rows']}:{name}": scope["rows_in_scope_autocommit"]["first_row_ms"]
                    <= 10
                    for entry in report["scope"]
                    for name, scope in entry["scopes"].items()
                }
            if "purge" in args.part_names:
                report["purge"] = bench_purge(db, rows=args.purge_rows or args.rows)
        else:
            report["skipped"] = "scope and purge run on PostgreSQL only"
        report["contention"] = {
            "note": "CPU used by processes other than this benchmark and its database "
            "sessions while each step ran (sampled every 0.5 s); each step first waited "
            f"for {QUIET_WINDOW_S:.0f} s below {QUIET_CORES} cores, at most "
            f"{args.max_quiet_wait:.0f} s, and a step disturbed by {RETRY_CORES} cores or "
            f"more was repeated (at most {args.attempts} runs, the least disturbed kept)",
            "loadavg_at_end": [round(value, 2) for value in os.getloadavg()],
            **CONTENTION,
        }
        report["total_s"] = round(time.perf_counter() - _started, 1)
    except BenchError as exc:
        say(f"FAILED: {exc}")
        return 1
    finally:
        if isinstance(db, PostgresDatabase) and not args.keep_database:
            db.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
