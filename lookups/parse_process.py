"""Prepare ingest batches in a second process: ``python -m lookups.parse_process``.

Reading, validating and normalizing a row costs as much CPU as storing it, so for a
file the ingest command has this process read and prepare batches
(:func:`lookups.batches.batches_prepare`) while its own process, and on PostgreSQL
the server, stores the previous batch: two cores instead of one.

The child writes pickled frames to its stdout: ``("batch", PreparedBatch)`` any
number of times, then ``("end", None)``; or ``("file_error", message)`` when the
input as a whole cannot be read (nothing was sent before it), or
``("os_error", message)``. The pipe is the only buffer: the child blocks while the
parent is still storing, so at most one batch waits on each side.

A child that dies early (or a parent that stops reading) ends the stream: the parent
raises ``ParseProcessError``; batches already stored stay stored, as after any crash.
"""

import argparse
import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from lookups.batches import PreparedBatch

_PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged pipe
_F_SETPIPE_SZ = 1031


class ParseProcessError(RuntimeError):
    """The parsing process ended before the end of the input."""


def batches_process_usable(*, path: str) -> bool:
    """A second process helps only with a second core, and can read standard input
    only when it is a real file descriptor (not a test's in-memory stream)."""
    if (os.cpu_count() or 1) < 2:
        return False
    if path != "-":
        return True
    try:
        sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class ChildBatches:
    """The batches a child sends, in order; ``pid`` names the child."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.pid = child.pid
        self._frames = _frames(child)

    def __iter__(self) -> Iterator["PreparedBatch"]:
        return self._frames


@contextlib.contextmanager
def batches_from_process(
    *, path: str, fmt: str, region: str, size: int, vendor: str
) -> Iterator[ChildBatches]:
    """The prepared batches of ``path`` ("-": this process's stdin), read from a child.

    Raises ``IngestFileError`` (the input as a whole cannot be read), ``OSError``
    (it cannot be opened) or ``ParseProcessError``.
    """
    from django.conf import settings

    command = [
        sys.executable,
        "-m",
        "lookups.parse_process",
        f"--format={fmt}",
        f"--region={region}",
        f"--size={size}",
        f"--vendor={vendor}",
        "--",
        path,
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(settings.BASE_DIR), env.get("PYTHONPATH", "")) if part
    )
    child = subprocess.Popen(  # noqa: S603 (our interpreter, a fixed module, no shell)
        command,
        stdin=sys.stdin if path == "-" else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    _widen(child.stdout)
    try:
        yield ChildBatches(child)
    finally:
        # Normally the child has sent "end" and exits by itself; after an error here
        # (a database failure mid-way) it must not go on reading the input.
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.wait()


def _frames(child: subprocess.Popen[bytes]) -> Iterator["PreparedBatch"]:
    from lookups.readers import IngestFileError

    assert child.stdout is not None
    while True:
        try:
            kind, value = pickle.load(child.stdout)  # noqa: S301 (our own child's frames)
        except (EOFError, pickle.UnpicklingError) as exc:
            status = child.wait()
            raise ParseProcessError(
                f"the parsing process ended (exit status {status}) before the end of the "
                "input; the batches stored before it stay stored"
            ) from exc
        if kind == "batch":
            yield value
        elif kind == "end":
            return
        elif kind == "file_error":
            raise IngestFileError(value)
        elif kind == "os_error":
            raise OSError(value)
        else:
            raise ParseProcessError(f"the parsing process sent an unknown frame {kind!r}")


def _widen(pipe: BinaryIO) -> None:
    """A 1 MB pipe lets a whole frame or more sit in the kernel while the other side
    works, instead of the child waiting on every 64 KB."""
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)


def _send(out: BinaryIO, kind: str, value: Any) -> None:
    pickle.dump((kind, value), out, protocol=pickle.HIGHEST_PROTOCOL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lookups.parse_process")
    parser.add_argument("--format", choices=["jsonl", "csv"], required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--vendor", required=True)
    parser.add_argument("path")
    args = parser.parse_args(argv)

    # No django.setup(): parsing needs neither the app registry nor the database, and
    # leaving them out keeps this process small (about a third of the ingest's).
    from lookups.batches import batches_prepare, codec_for
    from lookups.readers import IngestFileError, file_entries

    out = sys.stdout.buffer
    # Anything else that prints must not corrupt the frames.
    sys.stdout = sys.stderr
    try:
        with contextlib.ExitStack() as stack:
            if args.path == "-":
                stream: BinaryIO = sys.stdin.buffer
            else:
                stream = stack.enter_context(Path(args.path).open("rb"))
            for batch in batches_prepare(
                file_entries(stream, fmt=args.format),
                region=args.region,
                size=args.size,
                codec=codec_for(args.vendor),
            ):
                _send(out, "batch", batch)
        _send(out, "end", None)
    except IngestFileError as exc:
        _send(out, "file_error", str(exc))
    except BrokenPipeError:
        return 1  # the parent stopped reading: it has its own error to report
    except OSError as exc:
        _send(out, "os_error", exc.strerror or str(exc))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
