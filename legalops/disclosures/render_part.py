"""Render one part of a package in its own process: ``python -m legalops.disclosures.render_part``.

The package job runs inside a Celery prefork child, which cannot use
``multiprocessing``, and WeasyPrint gives memory back to the OS only when its process
exits; so every part is a short-lived process. Alone, this module reads one JSON job
on stdin, writes its PDF and prints one JSON line (``{"pages": n}``) on stdout.

With ``--serve`` it is a render server for all the parts of one package: it imports
WeasyPrint once, then forks one child per job it reads (one JSON line each on stdin)
and reports each child's start and exit status as JSON lines on stdout. Starting a
fresh interpreter and importing WeasyPrint costs about half a second of CPU, as much
as rendering 400 rows; a forked child starts with all of it loaded, and still exits
after its one part, so the memory WeasyPrint keeps is given back part by part.

Jobs (see :mod:`.chunks` for the side that sends them):

* ``records``: rows from a spool file (JSON lines) laid out as fixed-width pages,
  numbered from ``first_page`` of ``total_pages``; the page count is checked against
  the one the rows imply, so numbering can never drift;
* ``documents``: package templates (the cover letter, embedding ``records.csv``; the
  notes and certificate) with their context;
* ``merge``: the parts, in order, into one PDF; the first part's catalog (metadata,
  the embedded CSV) is kept.

Exit status: 0 done; 3 a fetch was refused; 4 the input broke the render contract;
anything else a failure. The reason is the last line on stderr.
"""

import contextlib
import ctypes
import json
import os
import selectors
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

EXIT_REFUSED = 3
EXIT_INPUT = 4
_PR_SET_PDEATHSIG = 1


def _die_with_parent(expected: int | None = None) -> None:
    """If the job's process dies (a worker killed mid-job), this part dies too; and a
    child of the render server dies with the server."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected is None and os.environ.get("LEGALOPS_RENDER_PARENT"):
        expected = int(os.environ["LEGALOPS_RENDER_PARENT"])
    if expected is not None and os.getppid() != expected:
        os._exit(1)  # the parent was gone before the death signal was armed


def _remember_libraries() -> None:
    """Share ``ctypes.util.find_library`` answers between the parts of one package.

    Importing WeasyPrint looks its C libraries up under several names, and on Linux
    each miss runs ldconfig, gcc and ld: a third of a second per process. The parent
    names a file in the package's own work folder; the first parts fill it and the
    later ones read it, so a stale answer cannot outlive one render.
    """
    import ctypes.util

    cache_path = os.environ.get("LEGALOPS_RENDER_LIBRARIES")
    if not cache_path:
        return
    path = Path(cache_path)
    try:
        known: dict[str, str | None] = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name not in known:
            known[name] = original(name)
            with contextlib.suppress(OSError):
                tmp = path.with_name(f"{path.name}.{os.getpid()}")
                tmp.write_text(json.dumps(known))
                os.replace(tmp, path)
        return known[name]

    ctypes.util.find_library = find_library


def _configure_templates() -> None:
    """Django's template engine without the project: no database, no apps, no settings
    file read in this process (everything the templates print is in the job)."""
    from django.conf import settings

    if not settings.configured:
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        settings.configure(USE_I18N=False, USE_TZ=True)


def _spooled_rows(paths: list[str]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with Path(path).open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


def records_render(job: dict[str, Any]) -> int:
    from legalops.disclosures.record_lines import ROWS_PER_PAGE, RecordLayout
    from legalops.disclosures.render import RenderInputError, _render_html, _write_pdf

    layout = RecordLayout(**job["layout"])
    first_row = int(job["first_row"])
    texts: list[str] = []
    page: list[dict[str, Any]] = []
    page_first = first_row
    for row in _spooled_rows(job["rows"]):
        page.append(row)
        if len(page) == ROWS_PER_PAGE:
            texts.append(
                layout.page_text(
                    request_number=job["request_number"], first_row=page_first, rows=page
                )
            )
            page_first += len(page)
            page = []
    if page or not texts:
        texts.append(
            layout.page_text(request_number=job["request_number"], first_row=page_first, rows=page)
        )
    html = _render_html(
        "pdf/package_records.html",
        {
            "request": {"number": job["request_number"]},
            "bates_prefix": job["bates_prefix"],
            "first_page": int(job["first_page"]),
            "total_pages": int(job["total_pages"]),
            "pages": texts,
        },
    )
    pages = _write_pdf(html, Path(job["out"]))
    if pages != len(texts):
        Path(job["out"]).unlink(missing_ok=True)
        raise RenderInputError(
            f"records from row {first_row} laid out on {pages} pages instead of {len(texts)}"
        )
    return pages


def documents_render(job: dict[str, Any]) -> int:
    """Each of ``job["documents"]`` (the cover letter, the notes and certificate) in
    one process: they are short, and a process start costs as much as one of them.
    Returns their pages together."""
    from legalops.disclosures.render import _render_html, _write_pdf

    pages = 0
    for document in job["documents"]:
        attachment = None
        if document.get("attachment"):
            data = Path(document["attachment"]["path"]).read_bytes()
            attachment = (data, document["attachment"]["description"])
        html = _render_html(document["template"], document["context"])
        pages += _write_pdf(html, Path(document["out"]), attachment=attachment)
    return pages


def parts_merge(job: dict[str, Any]) -> int:
    from pypdf import PdfReader, PdfWriter

    parts = [Path(p) for p in job["parts"]]
    out = Path(job["out"])
    # Cloning the first part keeps its document catalog: title, metadata and the
    # embedded records.csv; the other parts contribute pages only.
    writer = PdfWriter(clone_from=parts[0])
    for part in parts[1:]:
        writer.append(PdfReader(part), import_outline=False)
    tmp = out.with_name(f".merge-{out.name}")
    with tmp.open("wb") as handle:
        writer.write(handle)
    pages = len(writer.pages)
    if pages != int(job["pages"]):
        tmp.unlink()
        raise ValueError(f"the merged package has {pages} pages, {job['pages']} expected")
    os.replace(tmp, out)
    return pages


_JOBS = {"records": records_render, "documents": documents_render, "merge": parts_merge}


def _run(read_job: Callable[[], dict[str, Any]]) -> int:
    """Run the job ``read_job()`` returns; its exit status (see the module's docstring)."""
    from legalops.disclosures.fetcher import RenderRefused
    from legalops.disclosures.render import RenderInputError

    try:
        job = read_job()
        pages = _JOBS[job["kind"]](job)
    except RenderRefused as exc:
        # One JSON line, so the parent can raise the same refusal.
        print(json.dumps({"url": exc.url, "reason": exc.reason}), file=sys.stderr)
        return EXIT_REFUSED
    except RenderInputError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # reported to the parent, which fails the package
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"pages": pages}))
    return 0


def main() -> int:
    _die_with_parent()
    _remember_libraries()
    _configure_templates()
    return _run(lambda: json.loads(sys.stdin.read()))


def _report(event: dict[str, Any]) -> None:
    # Unbuffered, so a forked child never inherits (and writes again) a pending line.
    os.write(sys.stdout.fileno(), (json.dumps(event) + "\n").encode())


def _child(request: dict[str, Any], server: int) -> None:
    """In a forked child of the server: run one part with the server's imports, its
    output in the part's own files, and exit; never returns."""
    code = 1
    try:
        _die_with_parent(server)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
        os.close(null)
        code = _run(lambda: request["job"])
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(poll_seconds: float = 0.01) -> int:
    """The render server (``--serve``): one forked child per job line on stdin, until
    stdin closes and the last child has exited."""
    _die_with_parent()
    _remember_libraries()
    _configure_templates()
    # Everything a part imports, loaded once here and shared by every child.
    import pypdf  # noqa: F401

    import legalops.disclosures.render  # noqa: F401

    server = os.getpid()
    running: dict[int, str] = {}
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    pending = b""
    reading = True
    while reading or running:
        if reading and selector.select(poll_seconds):
            chunk = os.read(sys.stdin.fileno(), 1 << 16)
            if not chunk:
                reading = False
                selector.unregister(sys.stdin.fileno())
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(request, server)
                running[pid] = request["name"]
                _report({"name": request["name"], "pid": pid})
        elif not reading:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)  # block until one exits
        while running:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            _report(
                {
                    "name": running.pop(pid),
                    "pid": pid,
                    "status": os.waitstatus_to_exitcode(status),
                    "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                    "max_rss_kb": usage.ru_maxrss,
                }
            )
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main())
