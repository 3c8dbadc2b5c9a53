"""The chunked renderer: parts rendered by separate processes and merged, read back
with pypdf. Page numbers, Bates numbers and rows must run on across every part
boundary, whatever the row count."""

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest

from legalops.disclosures.chunks import (
    PartJob,
    RenderFailed,
    RenderServer,
    RowSpool,
    parts_run,
)
from legalops.disclosures.record_lines import (
    CUT,
    REPLACEMENT,
    ROWS_PER_PAGE,
    RecordLayout,
    fold,
    records_pages,
)
from legalops.disclosures.render import RenderInputError, package_pdf_render
from tests.disclosures import BATES, NUMBER, make_context, page_texts, squash, write_csv

START = datetime(2025, 6, 2, tzinfo=UTC)


def rows_of(count: int, **overrides: Any) -> list[dict[str, Any]]:
    """``count`` rows one second apart (any count: the helper in __init__ stops at 3,600)."""
    rows = []
    for i in range(count):
        moment = START + timedelta(seconds=i)
        rows.append(
            {
                "n": i + 1,
                "utc": moment.isoformat(),
                "local": (moment - timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S PDT"),
                "service": "imessage",
                "source": "+14155550100",
                "target": f"user{i + 1}@example.com",
                "source_ip": f"198.51.100.{i % 250 + 1}",
                "client": "ios/17.1",
                "target_reachable": i % 2 == 0,
                "third_party": i % 3 == 0,
                **overrides,
            }
        )
    return rows


def _render(
    tmp_path: Path, rows: list[dict[str, Any]], *, part_rows: int = ROWS_PER_PAGE
) -> tuple[Path, list[float]]:
    """Render through a spool of one page per segment and ``part_rows`` per part, so
    a few dozen rows already make several part processes."""
    csv_path, digest = write_csv(tmp_path, rows)
    spool = RowSpool(tmp_path / "spool", segment_rows=ROWS_PER_PAGE, part_rows=part_rows)
    for row in rows:
        spool.add(row)
    spool.close()
    progress: list[float] = []
    out = tmp_path / "package.pdf"
    package_pdf_render(
        context=make_context(len(rows), digest),
        rows=spool,
        csv_path=csv_path,
        out_path=out,
        on_progress=progress.append,
    )
    return out, progress


def _assert_numbered(texts: list[str]) -> None:
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {total}" in text, number
        assert re.findall(rf"{BATES}-\d{{6}}", text) == [f"{BATES}-{number:06d}"], number
        assert f"Request {NUMBER}" in text
        assert "Confidential: produced pursuant to legal process" in text


def _printed_rows(texts: list[str]) -> list[int]:
    """Row numbers in print order: a row's first line starts with its number and UTC time."""
    found = []
    for text in texts:
        found += [int(n) for n in re.findall(r"(?m)^(\d+)\s+2025-06-02T\d\d:\d\d:\d\d", text)]
    return found


@pytest.mark.parametrize(
    ("count", "parts"),
    [
        (0, 1),  # no rows: one records page saying so
        (1, 1),
        (2 * ROWS_PER_PAGE, 2),  # the last page of each part is exactly full
        (2 * ROWS_PER_PAGE + 1, 3),  # one row over the edge: a part of one row
        (5 * ROWS_PER_PAGE - 1, 5),
    ],
)
def test_numbering_runs_on_across_parts(tmp_path: Path, count: int, parts: int) -> None:
    rows = rows_of(count)
    out, progress = _render(tmp_path, rows)
    texts = page_texts(out)
    _assert_numbered(texts)
    records = [i for i, text in enumerate(texts) if "RECORDS \u00b7 request" in text]
    assert len(records) == records_pages(count)
    assert records == list(range(records[0], records[0] + len(records)))  # one block
    assert "Production in response to legal process" in texts[0]
    assert "Notes on reading these records" in texts[records[-1] + 1]
    assert "Certificate of authenticity" in " ".join(texts[records[-1] + 1 :])
    assert _printed_rows(texts) == list(range(1, count + 1))
    if count == 0:
        assert "No rows." in texts[records[0]]
    # progress: once per part process (records parts, then cover letter with notes
    # and certificate)
    assert len(progress) == parts + 1
    assert progress == sorted(progress) and progress[-1] == 1.0
    # the merged file keeps exactly the one embedded CSV
    reader = pypdf.PdfReader(out)
    assert list(reader.attachments) == ["records.csv"]


def test_a_part_of_many_pages(tmp_path: Path) -> None:
    """Parts of several pages each: the numbering inside a part runs on as well."""
    count = 7 * ROWS_PER_PAGE + 5
    out, progress = _render(tmp_path, rows_of(count), part_rows=3 * ROWS_PER_PAGE)
    texts = page_texts(out)
    _assert_numbered(texts)
    assert _printed_rows(texts) == list(range(1, count + 1))
    assert len(progress) == 3 + 1


LONG_EMAIL = "a.very.long.local.part.for.testing" + "x" * 40 + "@subdomain.example.com"
IPV6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"


def test_long_values_are_cut_on_the_page_and_the_page_count_holds(tmp_path: Path) -> None:
    count = 3 * ROWS_PER_PAGE
    rows = rows_of(count, target=LONG_EMAIL, source_ip=IPV6, client="x" * 80)
    out, _ = _render(tmp_path, rows)
    texts = page_texts(out)
    _assert_numbered(texts)  # no row overflowed its page
    flat = squash(" ".join(texts))
    layout = RecordLayout(
        fields=make_context(1, "")["fields"], tz_label="", row_count=count, has_third_party=True
    )
    width, ip_width = layout.widths[4], layout.widths[5]  # target, source_ip
    assert LONG_EMAIL not in flat
    assert squash(LONG_EMAIL[: 2 * width - 1]) not in flat  # cut inside its two lines
    assert LONG_EMAIL[:width] in flat and CUT in flat
    # a full IPv6 address fits its two lines: both halves are printed, nothing cut
    assert fold(IPV6, ip_width) == (IPV6[:ip_width], IPV6[ip_width:])
    assert IPV6[:ip_width] in flat and IPV6[ip_width:] in flat


def test_long_values_are_full_in_the_csv(tmp_path: Path) -> None:
    rows = rows_of(2, target=LONG_EMAIL)
    csv_path, digest = write_csv(tmp_path, rows)
    out = tmp_path / "p.pdf"
    package_pdf_render(context=make_context(2, digest), rows=rows, csv_path=csv_path, out_path=out)
    embedded = pypdf.PdfReader(out).attachments["records.csv"][0]
    assert LONG_EMAIL.encode() in embedded
    assert LONG_EMAIL not in squash(" ".join(page_texts(out)))


def test_line_layout_keeps_two_lines_a_row_whatever_the_value() -> None:
    layout = RecordLayout(
        fields=["occurred_at", "source", "target", "source_ip"],
        tz_label="UTC-07:00",
        row_count=10,
        has_third_party=False,
    )
    hostile = "evil\nnew line\u202eright-to-left\u2028sep\ttab" * 5
    lines = layout.row_lines(
        {"n": 1, "utc": "u", "local": "l", "source": hostile, "target": IPV6, "source_ip": IPV6}
    )
    assert len(lines) == 2
    for line in lines:
        assert "\n" not in line and "\u202e" not in line and "\u2028" not in line
    assert REPLACEMENT in lines[0]
    assert lines[1].endswith(CUT) or CUT in lines[1]
    # the IPv6 address is whole across the two lines
    assert IPV6.replace(":", "")[:8] in lines[0].replace(":", "")


def test_the_renderer_never_holds_all_rows(tmp_path: Path) -> None:
    """Rows are written to the spool as they arrive: at no time are more than a
    couple of them alive, however many the stream yields."""
    live = {"now": 0, "max": 0}

    class Row(dict):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])

        def __del__(self) -> None:
            live["now"] -= 1

    count = 3 * ROWS_PER_PAGE
    plain = rows_of(count)
    csv_path, digest = write_csv(tmp_path, plain)
    stream = (Row(row) for row in plain)
    out = tmp_path / "p.pdf"
    package_pdf_render(
        context=make_context(count, digest), rows=stream, csv_path=csv_path, out_path=out
    )
    assert live["max"] <= 2, live
    assert _printed_rows(page_texts(out)) == list(range(1, count + 1))


def test_the_spool_checks_order_as_rows_arrive(tmp_path: Path) -> None:
    rows = rows_of(3)
    rows[2]["utc"] = (START - timedelta(seconds=1)).isoformat()
    csv_path, digest = write_csv(tmp_path, rows)
    with pytest.raises(RenderInputError, match="earlier"):
        package_pdf_render(
            context=make_context(3, digest),
            rows=rows,
            csv_path=csv_path,
            out_path=tmp_path / "p.pdf",
        )
    assert not (tmp_path / "p.pdf").exists()


def _good_and_broken_records(tmp_path: Path) -> tuple[Path, Path]:
    """A records spool of 20 pages, and one whose first line is cut off."""
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(json.dumps(row) + "\n" for row in rows_of(20 * ROWS_PER_PAGE)), encoding="utf-8"
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"n": 1, "utc": \n', encoding="utf-8")
    return good, broken


def test_a_failing_part_stops_the_others_and_names_the_part(tmp_path: Path) -> None:
    good, broken = _good_and_broken_records(tmp_path)

    with pytest.raises(RenderFailed, match="records-broken failed: JSONDecodeError"):
        parts_run(
            [
                PartJob(name="records-slow", job=_records_job(tmp_path, good, "slow.pdf")),
                PartJob(name="records-broken", job=_records_job(tmp_path, broken, "broken.pdf")),
            ],
            workdir=tmp_path,
        )
    # the slow part was stopped, not left to finish
    assert not (tmp_path / "slow.pdf").exists()
    assert not (tmp_path / "broken.pdf").exists()


def _records_job(tmp_path: Path, rows: Path, out: str) -> dict[str, Any]:
    return {
        "kind": "records",
        "rows": [str(rows)],
        "out": str(tmp_path / out),
        "first_page": 1,
        "first_row": 1,
        "total_pages": 100,
        "layout": {
            "fields": ["occurred_at", "source"],
            "tz_label": "UTC",
            "row_count": 1,
            "has_third_party": False,
        },
        "request_number": NUMBER,
        "bates_prefix": BATES,
    }


def _alive(pid: int) -> bool:
    """``pid`` runs (and is not a zombie waiting for its parent)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"(?m)^State:\s+Z", status)


def test_every_part_is_a_child_of_the_server_that_is_gone_after_its_part(tmp_path: Path) -> None:
    """Each part is forked from the render server and exits after it, so whatever
    WeasyPrint keeps is given back part by part; the server ends with the last one."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps(row) + "\n" for row in rows_of(2 * ROWS_PER_PAGE)), encoding="utf-8"
    )
    parts = [
        PartJob(name=f"records-{i}", job=_records_job(tmp_path, rows, f"{i}.pdf")) for i in range(3)
    ]
    with RenderServer(tmp_path) as server:
        pages = parts_run(parts, workdir=tmp_path, server=server)
        assert pages == {"records-0": 2, "records-1": 2, "records-2": 2}
        children = [server.pids[part.name] for part in parts]
        assert len(set(children)) == 3 and server.process.pid not in children
        assert not any(_alive(pid) for pid in children)
        assert server.process.poll() is None  # still there for the next parts
    assert server.process.returncode == 0
    assert set(server.usage) == {part.name for part in parts}


def test_a_failure_kills_the_server_and_the_parts_it_runs(tmp_path: Path) -> None:
    good, broken = _good_and_broken_records(tmp_path)
    server = RenderServer(tmp_path)
    with pytest.raises(RenderFailed, match="records-broken failed"):
        parts_run(
            [
                PartJob(name="records-slow", job=_records_job(tmp_path, good, "slow.pdf")),
                PartJob(name="records-broken", job=_records_job(tmp_path, broken, "broken.pdf")),
            ],
            workdir=tmp_path,
            server=server,
        )
    assert server.process.returncode is not None
    slow = server.pids["records-slow"]
    for _ in range(100):  # the parent-death signal is sent as the server exits
        if not _alive(slow):
            break
        threading.Event().wait(0.01)
    assert not _alive(slow)
    assert not (tmp_path / "slow.pdf").exists()


def test_a_part_killed_by_itself_fails_with_its_name_and_the_signal(tmp_path: Path) -> None:
    """The kernel's OOM killer picks the largest process: a part, not the server."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps(row) + "\n" for row in rows_of(20 * ROWS_PER_PAGE)), encoding="utf-8"
    )
    server = RenderServer(tmp_path)
    stop = threading.Event()

    def kill_the_part() -> None:
        while not stop.is_set():
            pid = server.pids.get("records-big")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)  # still running: the server has not reported it
                return
            stop.wait(0.005)

    watcher = threading.Thread(target=kill_the_part)
    watcher.start()
    try:
        with pytest.raises(RenderFailed, match="records-big failed: killed by signal 9"):
            parts_run(
                [PartJob(name="records-big", job=_records_job(tmp_path, rows, "big.pdf"))],
                workdir=tmp_path,
                server=server,
            )
    finally:
        stop.set()
        watcher.join()
    assert not (tmp_path / "big.pdf").exists()


def _render_parts_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(re.search(r"(?m)^PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        if ppid == pid and b"legalops.disclosures.render_part" in cmdline:
            found.append(int(entry.name))
    return found


@contextmanager
def _first_part_killed() -> Iterator[list[int]]:
    """SIGKILL the first render part this process starts (what the kernel's OOM killer
    would do); yields the pids killed, filled in once it happened."""
    killed: list[int] = []
    stop = threading.Event()

    def kill_first_part() -> None:
        while not stop.is_set() and not killed:
            for pid in _render_parts_of(os.getpid()):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            stop.wait(0.01)

    watcher = threading.Thread(target=kill_first_part)
    watcher.start()
    try:
        yield killed
    finally:
        stop.set()
        watcher.join()


@pytest.mark.django_db
def test_a_part_killed_mid_render_fails_the_package_with_a_reason(
    cast, settings, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    """What the kernel's OOM killer would do to a part: the package fails, says why,
    and never becomes ready on a partial document."""
    from legalops.audit.models import AuditEvent
    from legalops.cases.models import LegalRequest, Status
    from legalops.disclosures.models import Package, PackageStatus
    from legalops.disclosures.services import package_generate
    from tests.disclosures.flow import approved_request, seed_logs

    settings.MEDIA_ROOT = tmp_path / "media"
    seeded = seed_logs(count=1200)
    with django_capture_on_commit_callbacks(execute=False):
        request_id = approved_request(cast, start=seeded["start"][0], end=seeded["end"][0])
    with _first_part_killed() as killed:
        assert package_generate(request_id=request_id) is None
    assert killed
    package = Package.objects.get(request_id=request_id)
    assert package.status == PackageStatus.FAILED
    assert "killed by signal 9" in package.error and "regenerate" in package.error
    assert not package.file and not package.sha256
    assert LegalRequest.objects.get(pk=request_id).status == Status.FAILED
    actions = list(AuditEvent.objects.filter(object_id=request_id).values_list("action", flat=True))
    assert actions.count("package.render_failed") == 1
    assert "package.generated" not in actions


def test_a_part_killed_during_release_leaves_the_package_ready_and_says_why(
    cast, settings, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    """A release re-renders the package; a part killed then releases nothing: 409 with
    words, an audit event, and the package still ready for another try."""
    from legalops.audit.models import AuditEvent
    from legalops.cases.models import LegalRequest, Status
    from legalops.disclosures.models import Package, PackageStatus
    from legalops.disclosures.services import package_generate
    from tests.disclosures.flow import approved_request, seed_logs

    settings.MEDIA_ROOT = tmp_path / "media"
    seeded = seed_logs(count=1200)
    with django_capture_on_commit_callbacks(execute=False):
        request_id = approved_request(cast, start=seeded["start"][0], end=seeded["end"][0])
    assert package_generate(request_id=request_id) is not None
    ready = Package.objects.get(request_id=request_id)
    with _first_part_killed() as killed:
        response = cast.custodian.client().post(f"/api/v1/requests/{request_id}/release/")
    assert killed
    assert response.status_code == 409, response.json()
    assert "nothing was released" in response.json()["detail"]
    package = Package.objects.get(request_id=request_id)
    assert (package.status, package.sha256) == (PackageStatus.READY, ready.sha256)
    assert LegalRequest.objects.get(pk=request_id).status == Status.READY
    assert AuditEvent.objects.filter(object_id=request_id, action="package.release_failed").exists()
