"""Benchmark disclosure packages: from the second approval to ``ready``.

Run from the project root (``make bench-packages`` installs the ``bench`` extra first):

    DEBUG=1 .venv/bin/python benchmarks/packages_bench.py [--sizes 1000,10000,100000]
        [--naive-cap 10000] [--database-url postgres://.../legalops_packages_bench]

Progress goes to stderr; stdout carries one JSON object and nothing else.

For each size N the script loads N lookups of one heavy account (targets include
long email addresses, sources IPv4 and full IPv6 addresses), files a court order for
that account through the API with its signed document, and has the first reviewer
approve, all in a setup process. A fresh measured process then makes the second
approval through the API; Celery runs eagerly there (no broker), so the call returns
when the package job has extracted, rendered, merged and verified the package and
marked it ``ready``. That process and every process it starts (the render parts) are
sampled from /proc every 20 ms: peak RSS per process and the peak of their sum.

Side by side, on the same rows read with the same selector:

(a) ``naive``: one WeasyPrint document with the records as one ``<table>`` (fixed
    layout, the previous renderer's approach), capped at ``--naive-cap`` rows because
    it is quadratic-ish in time and memory (the output says when it was capped);
(b) ``reportlab``: ReportLab platypus tables, one per page, the same columns.

Without a URL everything runs on SQLite in the script's own temporary directory. With
``--database-url`` the database named there is dropped and created afresh; its name
must contain "bench".
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HEAVY = "+14155550142"
SAMPLE_SECONDS = 0.02


def say(message: str) -> None:
    print(f"[packages-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sampling


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


class TreeSampler:
    """Peak RSS of a process and all its descendants, per process and summed."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.peak_sum = 0
        self.max_alive = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids, queue = [], [self.root]
            while queue:
                pid = queue.pop()
                pids.append(pid)
                queue += _children(pid)
            total = alive = 0
            for pid in pids:
                rss = _rss_kb(pid)
                if not rss:
                    continue
                if pid not in self.names:
                    self.names[pid] = _describe(pid)
                if pid != self.root and self.names[pid] == self.names.get(self.root):
                    # forked but not yet exec'd: its RSS is the parent's shared pages
                    del self.names[pid]
                    continue
                alive += 1
                total += rss
                if rss > self.peak.get(pid, 0):
                    self.peak[pid] = rss
            self.peak_sum = max(self.peak_sum, total)
            self.max_alive = max(self.max_alive, alive)
            self._stop.wait(SAMPLE_SECONDS)

    def summary(self) -> dict[str, Any]:
        parts = [kb for pid, kb in self.peak.items() if pid != self.root]
        return {
            "parent_peak_rss_mb": round(self.peak.get(self.root, 0) / 1024, 1),
            "max_child_peak_rss_mb": round(max(parts, default=0) / 1024, 1),
            "child_processes": len(parts),
            "peak_rss_sum_mb": round(self.peak_sum / 1024, 1),
            "max_processes_alive": self.max_alive,
            "per_process_peak_rss_mb": {
                f"{pid} {self.names.get(pid, '')}": round(kb / 1024, 1)
                for pid, kb in sorted(self.peak.items())
            },
        }


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return ""
    text = " ".join(a.decode(errors="replace") for a in args[1:4] if a)
    return text[-60:]


def measured(args: Sequence[str], env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run this script in ``args`` mode as a child, sampled; its JSON and the memory."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (this script, our interpreter)
        [sys.executable, __file__, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    with TreeSampler(process.pid) as sampler:
        out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"{' '.join(args)} failed with {process.returncode}")
    result = json.loads(out)
    result["process_wall_s"] = round(time.monotonic() - started, 2)
    return result, sampler.summary()


# --------------------------------------------------------------------------- child modes


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _entries(rows: int, *, end: datetime, seed: int) -> Iterator[dict[str, Any]]:
    """``rows`` lookups by the heavy account over 20 days, with every kind of value:
    short and very long emails, phone numbers, IPv4 and full IPv6 sources."""
    step = timedelta(days=20) / (rows + 1)
    start = end - timedelta(days=20)
    for index in range(rows):
        if index % 7 == 0:
            target = f"a.really.long.mailbox.name.number{index}.for-testing@subdomain.example.org"
        elif index % 3 == 0:
            target = f"+1415555{index % 10000:04d}"
        else:
            target = f"friend{index}@example.com"
        source_ip = (
            f"2001:0db8:85a3:{index % 65536:04x}:0000:8a2e:0370:{seed:04x}"
            if index % 2
            else f"198.51.{index % 256}.{(index // 256) % 256}"
        )
        yield {
            "event_id": str(uuid.UUID(int=(seed << 64) + index)),
            "occurred_at": (start + step * (index + 1)).isoformat(),
            "service": "imessage" if index % 4 else "facetime",
            "source": HEAVY,
            "target": target,
            "source_ip": source_ip,
            "client": "iPhone15,2 iOS 18.1" if index % 5 else "Android 14 app/3.2.1",
            "target_reachable": index % 6 != 0,
        }


def setup_mode(rows: int, seed: int) -> dict[str, Any]:
    """Load the rows and bring a court order up to its first approval."""
    _django()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    from legalops.accounts.models import Agency, Officer
    from legalops.accounts.roles import Role
    from legalops.accounts.services import agency_create, staff_create, token_issue
    from legalops.management.commands.demo import _signed_order_pdf
    from lookups.ingest import logs_ingest
    from lookups.models import QueryLogEntry
    from lookups.readers import array_entries

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    QueryLogEntry.objects.filter(source=HEAVY).delete()
    result = logs_ingest(entries=array_entries(_entries(rows, end=end, seed=seed)))
    assert result.accepted == rows, result
    agency = Agency.objects.filter(name="Bench agency").first()
    if agency is None:
        agency, issued = agency_create(name="Bench agency", email="bench@agency.example.gov")
        key = issued.key
    else:
        key = token_issue(user=Officer.objects.get(agency=agency).user, name="bench").key
    officer = Client(HTTP_AUTHORIZATION=f"Token {key}")
    tokens = []
    for name in ("bench-reviewer-1", "bench-reviewer-2"):
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            user, _ = staff_create(username=name, role=Role.REVIEWER)
        tokens.append(token_issue(user=user).key)
    order = {
        "process_type": "court_order",
        "jurisdiction": "US",
        "legal_authority": "18 U.S.C. 2703(d)",
        "reference": f"3:26-mj-{seed:05d}",
        "issuing_authority": "United States District Court for the Northern District of California",
        "issued_on": (end - timedelta(days=1)).date().isoformat(),
        "identifiers": [HEAVY],
        "date_from": (end - timedelta(days=21)).isoformat(),
        "date_to": end.isoformat(),
        "direction": "outgoing",
        "data_categories": ["query_logs"],
        "contact": {"name": "SA Bench", "email": "bench@agency.example.gov", "phone": ""},
    }
    created = officer.post("/api/v1/requests/", order, content_type="application/json").json()
    pdf = _signed_order_pdf(reference=order["reference"], issued=order["issued_on"])
    upload = SimpleUploadedFile("signed-order.pdf", pdf, content_type="application/pdf")
    officer.post(f"/api/v1/requests/{created['id']}/documents/", {"file": upload})
    first = Client(HTTP_AUTHORIZATION=f"Token {tokens[0]}").post(
        f"/api/v1/requests/{created['id']}/review/",
        {"decision": "approve", "reason": "Valid order."},
        content_type="application/json",
    )
    assert first.status_code == 200, first.json()
    return {"request_id": created["id"], "second_reviewer_token": tokens[1]}


def approve_mode(request_id: str, token: str) -> dict[str, Any]:
    """The second approval; the package job runs eagerly inside the call."""
    _django()
    from django.test import Client

    from legalops.disclosures.models import Package

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    cpu = _cpu()
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/requests/{request_id}/review/",
        {"decision": "approve", "reason": "Valid order."},
        content_type="application/json",
    )
    wall = time.perf_counter() - started
    used = {key: round(value - cpu[key], 2) for key, value in _cpu().items()}
    assert response.status_code == 200, response.json()
    package = Package.objects.get(request_id=request_id)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": used,
        "status": package.status,
        "rows": package.rows,
        "pages": package.pages,
        "error": package.error,
        "pdf_mb": round(package.file.size / 1e6, 2) if package.file else None,
    }


def _cpu() -> dict[str, float]:
    """CPU seconds (user + system) of this process and of its finished children: a
    figure that, unlike wall time, other load on the machine barely moves."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "parent": own.ru_utime + own.ru_stime,
        "children": children.ru_utime + children.ru_stime,
        "total": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }


def _scope_rows(request_id: str, cap: int | None) -> list[dict[str, str]]:
    from legalops.cases.models import LegalRequest
    from legalops.cases.scope import Scope
    from legalops.disclosures.records import csv_columns, row_values, rows_stream

    request = LegalRequest.objects.select_related("agency").get(pk=request_id)
    scope = Scope.from_json(request.scope)
    columns = csv_columns(scope.fields, scope.direction)
    rows = []
    for number, entry in enumerate(rows_stream(scope=scope, region="US"), start=1):
        if cap is not None and number > cap:
            break
        rows.append(row_values(entry, number, columns))
    return rows


COLUMNS = ("row", "occurred_at_utc", "service", "source", "target", "source_ip", "client")


def naive_mode(request_id: str, cap: int) -> dict[str, Any]:
    """(a) One WeasyPrint document, the records as one fixed-layout <table>."""
    _django()
    from html import escape

    import weasyprint

    cpu = _cpu()["parent"]
    started = time.perf_counter()
    rows = _scope_rows(request_id, cap)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(row.get(c, ''))}</td>" for c in COLUMNS) + "</tr>"
        for row in rows
    )
    html = (
        "<style>@page{size:letter landscape;margin:0.6in;"
        "@bottom-right{content:'Page ' counter(page) ' of ' counter(pages)}}"
        "table{table-layout:fixed;width:100%;border-collapse:collapse;"
        "font:8pt 'DejaVu Sans'}td,th{border:0.5pt solid #777;padding:1pt 3pt;"
        "overflow-wrap:break-word}tr{page-break-inside:avoid}</style>"
        "<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
    out = Path(tempfile.mkdtemp()) / "naive.pdf"
    document = weasyprint.HTML(string=html).render()
    document.write_pdf(out)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(_cpu()["parent"] - cpu, 2),
        "rows": len(rows),
        "pages": len(document.pages),
    }


def reportlab_mode(request_id: str) -> dict[str, Any]:
    """(b) ReportLab platypus: the same rows and columns, one table per page."""
    _django()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.lib.units import inch
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Table, TableStyle

    cpu = _cpu()["parent"]
    started = time.perf_counter()
    rows = _scope_rows(request_id, None)
    out = Path(tempfile.mkdtemp()) / "reportlab.pdf"
    document = SimpleDocTemplate(
        str(out), pagesize=landscape(letter), leftMargin=0.6 * inch, rightMargin=0.6 * inch
    )
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ]
    )
    widths = [0.5, 1.7, 0.6, 1.0, 2.2, 2.0, 1.3]
    story: list[Any] = []
    per_page = 30
    for start in range(0, len(rows), per_page):
        data = [list(COLUMNS)] + [
            [row.get(c, "")[:48] for c in COLUMNS] for row in rows[start : start + per_page]
        ]
        story += [Table(data, colWidths=[w * inch for w in widths], style=style), PageBreak()]
    pages = len(story) // 2  # build() consumes the story
    document.build(story)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(_cpu()["parent"] - cpu, 2),
        "rows": len(rows),
        "pages": pages,
    }


# --------------------------------------------------------------------------- driver


def _environment(url: str | None, workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "LEGALOPS_REQUIRE_SERVICES"}
    }
    # DEBUG=1 is the local default (its query log is a bounded deque); without a broker
    # Celery runs the package job eagerly inside the approving request.
    env.update(DEBUG="1", LEGALOPS_VAR_DIR=str(workdir), MEDIA_ROOT=str(workdir / "media"))
    if url:
        env["DATABASE_URL"] = url
    return env


def _recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _uptime() -> str:
    run = subprocess.run(["uptime"], capture_output=True, text=True, check=False)  # noqa: S607
    return run.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--naive-cap", type=int, default=10_000)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--mode", default="driver", help=argparse.SUPPRESS)
    parser.add_argument("mode_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.mode != "driver":
        handlers = {
            "setup": lambda a: setup_mode(int(a[0]), int(a[1])),
            "approve": lambda a: approve_mode(a[0], a[1]),
            "naive": lambda a: naive_mode(a[0], int(a[1])),
            "reportlab": lambda a: reportlab_mode(a[0]),
        }
        print(json.dumps(handlers[args.mode](args.mode_args)))
        return 0

    sizes = [int(size) for size in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="packages-bench-"))
    if args.database_url:
        _recreate(args.database_url)
    env = _environment(args.database_url, workdir)
    report: dict[str, Any] = {
        "benchmark": "packages",
        "command": " ".join([sys.executable, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "database": "postgresql" if args.database_url else "sqlite",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "uptime_before": _uptime(),
        "note": "other work on a shared machine can disturb these figures; see uptime",
        "runs": [],
    }
    for seed, rows in enumerate(sizes, start=1):
        say(f"{rows:,} rows: loading and filing up to the first approval")
        prepared = json.loads(
            subprocess.run(  # noqa: S603 (this script, our interpreter)
                [sys.executable, __file__, "--mode", "setup", str(rows), str(seed)],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.PIPE,
            ).stdout
        )
        request_id = prepared["request_id"]
        load = _uptime()
        say(f"{rows:,} rows: second approval -> ready ({load})")
        result, memory = measured(
            ["--mode", "approve", request_id, prepared["second_reviewer_token"]], env
        )
        run: dict[str, Any] = {
            "rows": rows,
            "uptime": load,
            "package": {
                **result,
                "rows_per_s": round(rows / result["wall_s"]) if result["wall_s"] else None,
                "rows_per_cpu_s": round(rows / result["cpu_s"]["total"]),
                "memory": memory,
            },
        }
        say(f"   {result['status']} in {result['wall_s']} s, {memory['peak_rss_sum_mb']} MB summed")
        if not args.no_baselines:
            capped = min(rows, args.naive_cap)
            say(f"{rows:,} rows: (a) naive WeasyPrint <table> of {capped:,} rows")
            naive, naive_memory = measured(["--mode", "naive", request_id, str(capped)], env)
            run["naive_weasyprint_table"] = {
                **naive,
                "capped_at": capped if capped < rows else None,
                "rows_per_s": round(naive["rows"] / naive["wall_s"]),
                "peak_rss_mb": naive_memory["parent_peak_rss_mb"],
            }
            say(f"{rows:,} rows: (b) ReportLab tables")
            lab, lab_memory = measured(["--mode", "reportlab", request_id], env)
            run["reportlab_table"] = {
                **lab,
                "rows_per_s": round(lab["rows"] / lab["wall_s"]),
                "peak_rss_mb": lab_memory["parent_peak_rss_mb"],
            }
        report["runs"].append(run)
    report["uptime_after"] = _uptime()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
