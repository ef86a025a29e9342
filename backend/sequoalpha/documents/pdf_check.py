"""Reading an untrusted PDF within a time and memory bound.

A small PDF can inflate to hundreds of MB (object streams) and keep a parser busy for minutes;
in a web worker that is a worker lost for the request and memory it never returns. So the
parser runs in a forked child with resource limits: an address-space limit (RLIMIT_AS) of what
the worker already maps plus a budget, a CPU limit, and a wall-clock deadline after which the
parent kills it. The child sends back the function's result (pickled) through a pipe.

`run_bounded(func, path)` runs any `func(path)` this way (the upload check uses `pdf_facts`;
text extraction for search can pass its own function and get the text back).
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pypdf import PdfReader

T = TypeVar("T")
MB = 1024 * 1024


@dataclass(frozen=True)
class Bounds:
    seconds: float = 10.0  # wall clock; well under Gunicorn's worker timeout (30 s)
    memory_bytes: int = 256 * MB  # on top of what the worker already maps
    result_bytes: int = 32 * MB  # the largest answer the parent accepts (extracted text)


DEFAULT_BOUNDS = Bounds()


class BoundExceeded(Exception):
    """The function needed more time or memory than allowed (or died); `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CheckFailed(Exception):
    """The function raised in the child: `kind` is the exception's type name, `detail` its text."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class PdfFacts:
    pages: int
    locked: bool  # encrypted with a password other than the empty one


def pdf_facts(path: str) -> PdfFacts:
    """What the upload check needs: is it locked, how many pages; the first page is parsed."""
    with open(path, "rb") as fh:
        reader = PdfReader(fh)  # a file object: pypdf would read a path into memory
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = 0 if locked else len(reader.pages)
        if pages:
            reader.pages[0].mediabox  # noqa: B018 -- parse the first page for real
    return PdfFacts(pages=pages, locked=bool(locked))


def run_bounded(func: Callable[[str], T], path: str, bounds: Bounds = DEFAULT_BOUNDS) -> T:
    """`func(path)` in a child process within `bounds`: its result, or CheckFailed (it raised),
    or BoundExceeded (too slow, too much memory, too large an answer, or it died)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _child(func, path, bounds, write_fd)
    os.close(write_fd)
    try:
        payload = _read_within(read_fd, pid, bounds)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if not payload:
        signalled = os.WIFSIGNALED(status) and os.WTERMSIG(status)
        raise BoundExceeded("time" if signalled in (signal.SIGXCPU, signal.SIGKILL) else "memory")
    outcome, value = pickle.loads(payload)
    if outcome == "ok":
        return value
    if outcome == "memory":
        raise BoundExceeded("memory")
    raise CheckFailed(*value)


def _read_within(fd: int, pid: int, bounds: Bounds) -> bytes:
    deadline = time.monotonic() + bounds.seconds
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            os.kill(pid, signal.SIGKILL)
            raise BoundExceeded("time")
        chunk = os.read(fd, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > bounds.result_bytes:
            os.kill(pid, signal.SIGKILL)
            raise BoundExceeded("result size")
        chunks.append(chunk)


def _child(func: Callable[[str], T], path: str, bounds: Bounds, fd: int) -> None:
    code = 1
    try:
        # The worker's handlers (Gunicorn's graceful stop ...) are not the child's business.
        for sig in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGQUIT,
            signal.SIGHUP,
            signal.SIGUSR1,
            signal.SIGUSR2,
            signal.SIGWINCH,
            signal.SIGALRM,
        ):
            signal.signal(sig, signal.SIG_DFL)
        mapped = _mapped_bytes()
        resource.setrlimit(resource.RLIMIT_AS, (mapped + bounds.memory_bytes,) * 2)
        cpu = math.ceil(bounds.seconds)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
        try:
            outcome = ("ok", func(path))
        except MemoryError:
            outcome = ("memory", None)
        except Exception as exc:
            outcome = ("memory", None) if _caused_by_memory(exc) else ("error", (type(exc).__name__, str(exc)[:500]))
        data = pickle.dumps(outcome)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    finally:
        os._exit(code)  # no atexit, no flushing of the worker's buffers or connections


def _mapped_bytes() -> int:
    """This process's current address space (what RLIMIT_AS counts)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


def _caused_by_memory(exc: BaseException) -> bool:
    """A library that wraps the MemoryError it met (or zlib's "insufficient memory")."""
    seen = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or "insufficient memory" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False
