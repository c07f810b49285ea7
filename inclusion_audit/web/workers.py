"""A warm pool of audit processes, so one hostile file cannot take the service down.

Every audit and check runs in a child process that the web worker keeps
running between requests (starting one costs about a second of imports, which
two cores could not afford per request). A child has a memory limit
(``RLIMIT_AS``) and each job a time limit; a child that runs out of either, or
dies, is replaced, and only its own request fails. A child also retires after
``max_tasks`` jobs, so nothing one request leaves in memory reaches many later
ones.

The parent sends ``(function, arguments)`` down a pipe and reads back one of:
``("ok", value)``, ``("input", message, too_large)`` for the library's named
errors (re-raised here as ``JobInputError``), or ``("bug", where)`` for
anything else, which the child has logged by place, never by message.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import resource
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from inclusion_audit.errors import InputError, MissingExtraError


class JobInputError(InputError):
    """The job refused its input: the library's message, and its error's class name."""

    def __init__(
        self, message: str, kind: str, unknown: list[dict[str, Any]] | None = None
    ) -> None:
        self.kind = kind
        self.unknown = unknown or []
        super().__init__(message)


class JobLimitError(InputError):
    """A job needed more memory or time than the service gives one audit."""


class JobCrashedError(Exception):
    """The child process running a job died (a signal, or the system's memory killer)."""


class JobBugError(Exception):
    """The job failed with an error that is a bug; ``where`` says where, never what."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(where)


@dataclass(frozen=True)
class PoolLimits:
    """What one audit may use: memory (MB, whole process), time (s) and jobs per child."""

    memory_mb: int = 2048
    seconds: float = 120.0
    max_tasks: int = 200


def _child(connection: Connection, limits: PoolLimits, warm: tuple[str, ...]) -> None:
    """The child's loop: limits first, imports warmed, then one job at a time."""
    if limits.memory_mb:
        size = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    for module in warm:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    for _ in range(limits.max_tasks):
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        function, args = job
        try:
            reply: tuple[Any, ...] = ("ok", function(*args))
        except MemoryError:
            reply = ("memory",)
        except RecursionError:
            reply = ("bug", "RecursionError")
        except InputError as error:
            reply = ("input", str(error), type(error).__name__, getattr(error, "unknown", None))
        except MissingExtraError as error:
            reply = ("extra", str(error))
        except Exception as error:
            reply = ("bug", _where(error))
        try:
            connection.send(reply)
        except MemoryError:
            connection.send(("memory",))


def _where(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    place = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else "?"
    return f"{type(error).__name__} at {place}"


class _Child:
    """One warm child process and the parent's end of its pipe."""

    def __init__(self, context: Any, limits: PoolLimits, warm: tuple[str, ...]) -> None:
        parent_end, child_end = context.Pipe()
        self.process = context.Process(
            target=_child, args=(child_end, limits, warm), name="inclusion-audit-job", daemon=True
        )
        self.process.start()
        child_end.close()
        self.connection: Connection = parent_end
        self.jobs = 0
        self.max_tasks = limits.max_tasks

    @property
    def pid(self) -> int | None:
        pid: int | None = self.process.pid
        return pid

    @property
    def usable(self) -> bool:
        return self.jobs < self.max_tasks and self.process.is_alive()

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
        try:
            self.connection.send((function, args))
            finished = self.connection.poll(seconds)
        except OSError as error:  # the child died before it took the job
            raise JobCrashedError("the audit process stopped") from error
        if not finished:
            raise JobLimitError(
                f"the audit took longer than the {seconds:g} seconds this service gives one "
                "audit, and was stopped. Check the file is the participant register, or run "
                "`inclusion-audit audit` on your own computer."
            )
        try:
            reply = self.connection.recv()
        except (EOFError, OSError) as error:
            raise JobCrashedError("the audit process stopped") from error
        self.jobs += 1
        return reply

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


POLARS_THREADS = "1"
"""Polars threads in each audit process, unless ``POLARS_MAX_THREADS`` says otherwise.

An audit of a register works on a few thousand rows, where polars' threads
cost more in waking up than they save; the service runs audits side by side in
processes instead. With one thread per process, two audit processes on two
cores do about a third more audits a second than with a thread per core.
"""


def _start_forkserver() -> None:
    """Start the forkserver (if it is not running) with ``POLARS_THREADS`` in its
    environment: polars sizes its thread pool once, when the preloaded modules
    import it, so the children inherit it. The web worker's own environment is left
    as it was."""
    from multiprocessing import forkserver

    if "POLARS_MAX_THREADS" in os.environ:
        forkserver.ensure_running()
        return
    os.environ["POLARS_MAX_THREADS"] = POLARS_THREADS
    try:
        forkserver.ensure_running()
    finally:
        del os.environ["POLARS_MAX_THREADS"]


class WorkerPool:
    """``size`` warm child processes that run one job each at a time (see the module notes).

    ``run`` blocks its calling thread until the job is done: call it from a
    worker thread (``run_in_threadpool``), never on the event loop.
    """

    def __init__(
        self,
        size: int,
        limits: PoolLimits | None = None,
        *,
        warm: tuple[str, ...] = (),
        start_method: str = "forkserver",
    ) -> None:
        self.size = size
        self.limits = limits or PoolLimits()
        self._warm = warm
        self._context = multiprocessing.get_context(start_method)
        self._start_method = start_method
        if start_method == "forkserver" and warm:
            self._context.set_forkserver_preload(list(warm))
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._closed = False

    def start(self) -> None:
        """Start every child now, so the first requests find them warm."""
        children = [self._spawn() for _ in range(self.size)]
        with self._lock:
            self._idle.extend(children)

    def pids(self) -> list[int]:
        """The children's process ids (for monitoring, and tests)."""
        with self._lock:
            return [c.pid for c in [*self._idle, *self._busy] if c.pid is not None]

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` in a child; its value, or the job's error raised here."""
        with self._slots:
            child = self._take()
            try:
                reply = child.call(function, args, self.limits.seconds)
            except BaseException:
                self._retire(child, kill=True)
                raise
            if child.usable:
                with self._lock:
                    self._busy.discard(child)
                    self._idle.append(child)
            else:
                self._retire(child)
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "input":
            raise JobInputError(reply[1], reply[2], reply[3] if len(reply) > 3 else None)
        if kind == "extra":
            raise MissingExtraError(reply[1])
        if kind == "memory":
            raise JobLimitError(
                f"the file needs more memory than the {self.limits.memory_mb} MB this service "
                "gives one audit. Check it is the participant register, keep only the columns "
                "the audit needs, or run `inclusion-audit audit` on your own computer."
            )
        raise JobBugError(reply[1])

    def close(self) -> None:
        """Stop every child (waiting for none of their jobs)."""
        with self._lock:
            self._closed = True
            children = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for child in children:
            child.stop(kill=True)

    def _spawn(self) -> _Child:
        if self._start_method == "forkserver":
            _start_forkserver()
        return _Child(self._context, self.limits, self._warm)

    def _take(self) -> _Child:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is None or not child.process.is_alive():
            if child is not None:
                child.stop(kill=True)
            child = self._spawn()
        with self._lock:
            self._busy.add(child)
        return child

    def _retire(self, child: _Child, *, kill: bool = False) -> None:
        with self._lock:
            self._busy.discard(child)
        child.stop(kill=kill)
        if self._closed:
            return
        # Start the replacement now, in the background, so the next job finds it warm.
        threading.Thread(target=self._replace, daemon=True).start()

    def _replace(self) -> None:
        child = self._spawn()
        with self._lock:
            if self._closed or len(self._idle) + len(self._busy) >= self.size:
                surplus = True
            else:
                surplus = False
                self._idle.append(child)
        if surplus:
            child.stop()
