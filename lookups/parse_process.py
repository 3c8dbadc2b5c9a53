"""Prepare ingest batches in a second process: ``python -m lookups.parse_process``.

Reading, validating and normalizing a row costs as much CPU as storing it, so for a
file the ingest command has this process read and prepare batches
(:func:`lookups.batches.batches_prepare`) while its own process, and on PostgreSQL
the server, stores the previous batch: two cores instead of one.

The child writes length-prefixed pickled frames to its stdout: ``("batch", PreparedBatch)`` any
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
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from lookups.batches import PreparedBatch
    from lookups.readers import LogFormat

_PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged pipe
_F_SETPIPE_SZ = 1031
_HEADER = struct.Struct("!Q")  # each frame: its length, then a pickle
_EXIT_GRACE_S = 5.0


class ParseProcessError(RuntimeError):
    """The parsing process ended before the end of the input."""


def batches_process_usable(*, path: str) -> bool:
    """A second process helps only with a second core, and can read standard input
    only when it is a real file descriptor (not a test's in-memory stream)."""
    if len(os.sched_getaffinity(0)) < 2:
        return False
    if path != "-":
        return True
    try:
        sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class ChildBatches:
    """The batches a child sends, in order; ``pid`` names the child, and
    :meth:`ready` says whether the next one can be read without waiting long."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        self.pid = child.pid
        self._child = child
        # Frames are read with exact-length reads of the raw pipe, never ahead, so
        # select() on it tells whether the child has sent the next one.
        self._fd = child.stdout.fileno()
        self._frames = self._read_all()
        self.finished = False  # the child said "end"

    def __iter__(self) -> Iterator["PreparedBatch"]:
        return self._frames

    def ready(self, timeout: float) -> bool:
        """True once the next frame (or the end) has begun to arrive, within
        ``timeout`` seconds; the child sends a frame only when it is complete."""
        readable, _, _ = select.select([self._fd], [], [], timeout)
        return bool(readable)

    def _read_all(self) -> Iterator["PreparedBatch"]:
        from lookups.readers import IngestFileError

        while True:
            kind, value = self._read_frame()
            if kind == "batch":
                yield value
            elif kind == "end":
                self.finished = True
                return
            elif kind == "file_error":
                raise IngestFileError(value)
            elif kind == "os_error":
                raise OSError(value)
            else:
                raise ParseProcessError(f"the parsing process sent an unknown frame {kind!r}")

    def _read_frame(self) -> tuple[str, Any]:
        header = self._read_exact(_HEADER.size)
        if header is not None:
            (length,) = _HEADER.unpack(header)
            body = self._read_exact(length)
            if body is not None:
                return pickle.loads(body)  # noqa: S301 (our own child's frames)
        status = self._child.wait()
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise ParseProcessError(
            f"the parsing process {how} before the end of the input. The batches "
            "committed before it stay stored; ingesting the same file again stores "
            "only what is missing"
        )

    def _read_exact(self, size: int) -> bytes | None:
        """``size`` bytes, or None at the end of the stream."""
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = os.readv(self._fd, [view[got:]])
            if count == 0:
                return None
            got += count
        return bytes(buffer)


@contextlib.contextmanager
def batches_from_process(
    *, path: str, fmt: "LogFormat", region: str, size: int, vendor: str
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
    try:
        child = subprocess.Popen(  # noqa: S603 (our interpreter, a fixed module, no shell)
            command,
            stdin=sys.stdin if path == "-" else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
    except OSError as exc:
        raise ParseProcessError(f"the parsing process could not be started: {exc}") from exc
    assert child.stdout is not None
    _widen(child.stdout.fileno())
    batches = ChildBatches(child)
    try:
        yield batches
    finally:
        # Normally the child has sent "end" and is exiting; after an error here (a
        # database failure mid-way) it must not go on reading the input.
        if batches.finished:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=_EXIT_GRACE_S)
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.wait()


def _widen(fd: int) -> None:
    """A 1 MB pipe lets a whole frame or more sit in the kernel while the other side
    works, instead of the child waiting on every 64 KB."""
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)


def _send(out: BinaryIO, kind: str, value: Any) -> None:
    body = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(body)))
    out.write(body)
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lookups.parse_process")
    parser.add_argument("--format", choices=["jsonl", "csv"], required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--vendor", required=True)
    parser.add_argument("path")
    args = parser.parse_args(argv)
    # Ctrl-C reaches the whole process group: the parent reports it and ends this
    # process; a traceback from here too would only hide its message. A parent that
    # dies without ending it makes the next write fail (BrokenPipeError), and this
    # process exits then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
