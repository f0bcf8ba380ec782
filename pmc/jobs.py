"""Jobs: every long operator action (setup, verify, export, import, sync) runs as one.

A :class:`Job` wraps an async *body* ``async def body(ctx: JobContext) -> T``. The body reports
through its context — steps, progress, log lines — and checks :meth:`JobContext.checkpoint` at
the safe points where stopping leaves every server consistent. Nothing here knows about Qt:
the GUI adapts :class:`JobEvent` callbacks into signals in one place, the CLI prints them.

Cancellation is cooperative: :meth:`Job.cancel` only *asks*; the body stops at its next
checkpoint (raising :class:`~pmc.errors.Cancelled`), and long transfers watch
:attr:`JobContext.cancel_requested` (a thread-safe event) to close their channels early.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Literal, TypeVar, cast

from pmc.errors import Cancelled, PmcError
from pmc.redact import redact
from pmc.store import Store, StoreError
from pmc.words import plural

log = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

JobKind = Literal[
    "setup", "setup-plan", "verify",
    "export", "import", "import-preview", "sync", "switchover",
]  # fmt: skip
"""What a job does: the history's ``kind`` (the sync history lists the ``sync`` jobs)."""
EventLevel = Literal["debug", "info", "warning", "error"]


class EventKind(StrEnum):
    STARTED = "started"
    STEP_STARTED = "step-started"
    STEP_FINISHED = "step-finished"
    STEP_FAILED = "step-failed"
    PROGRESS = "progress"
    LOG = "log"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_EVENTS = frozenset({EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED})


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    seq: int
    kind: EventKind
    time: float
    message: str = ""
    level: EventLevel = "info"
    server: str | None = None
    step: str | None = None
    done: float | None = None
    total: float | None = None
    unit: str = ""

    @property
    def fraction(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


Listener = Callable[[JobEvent], None]


class JobContext:
    """What a job body uses to report and to honour cancellation."""

    def __init__(self, job: Job[object]) -> None:
        self._job = job
        self.cancel_requested = threading.Event()
        self._progress_started: float | None = None

    @property
    def job_id(self) -> str:
        return self._job.id

    def log(self, message: str, *, level: EventLevel = "info", server: str | None = None) -> None:
        self._job._emit(EventKind.LOG, message, level=level, server=server)

    def progress(
        self, done: float, total: float | None = None, *, unit: str = "", message: str = ""
    ) -> None:
        self._job._emit(EventKind.PROGRESS, message, done=done, total=total, unit=unit)

    @contextlib.contextmanager
    def step(self, title: str, *, server: str | None = None) -> Iterator[None]:
        """Reports ``title`` as started, then finished or failed (the error is re-raised)."""
        self._job._emit(EventKind.STEP_STARTED, title, step=title, server=server)
        try:
            yield
        except Cancelled:
            self._job._emit(EventKind.STEP_FAILED, f"{title}: cancelled", step=title, server=server)
            raise
        except Exception as exc:
            self._job._emit(
                EventKind.STEP_FAILED, f"{title}: {exc}", level="error", step=title, server=server
            )
            raise
        self._job._emit(EventKind.STEP_FINISHED, title, step=title, server=server)

    def checkpoint(self) -> None:
        """A safe point: stop here if the operator asked to cancel."""
        if self.cancel_requested.is_set():
            raise Cancelled("the job was cancelled by the operator")

    async def acheckpoint(self) -> None:
        """Yield to the event loop, then behave like :meth:`checkpoint`."""
        await asyncio.sleep(0)
        self.checkpoint()

    def without_progress(self) -> JobContext:
        """This context for work that runs beside other work of the job that shows the
        progress (an import's backup beside its staging): the same log, steps and
        cancellation, and no progress of its own (two would fight over the one bar)."""
        return _WithoutProgress(self._job, self.cancel_requested)


class _WithoutProgress(JobContext):
    def __init__(self, job: Job[object], cancel_requested: threading.Event) -> None:
        super().__init__(job)
        self.cancel_requested = cancel_requested

    def progress(
        self, done: float, total: float | None = None, *, unit: str = "", message: str = ""
    ) -> None:
        pass


class Job(Generic[T_co]):
    """One run of an operator action; see the module docs. While its body runs,
    :func:`current_job` returns it (in the body's own tasks and threads too)."""

    def __init__(
        self,
        kind: JobKind,
        title: str,
        body: Callable[[JobContext], Awaitable[T_co]],
        *,
        cluster: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.kind = kind
        self.title = title
        self.cluster = cluster
        self.state = JobState.PENDING
        self.started: float | None = None
        self.finished: float | None = None
        self.result: T_co | None = None
        self.error: BaseException | None = None
        self.events: list[JobEvent] = []
        self._body = body
        self._store = store
        self._listeners: list[Listener] = []
        self._context = JobContext(self)
        self._task: asyncio.Task[T_co] | None = None
        self._pending_log: list[tuple[int, float, str, str, str | None, str]] = []
        self._lock = threading.Lock()

    # observation ------------------------------------------------------------------------
    def subscribe(self, listener: Listener, *, replay: bool = False) -> Callable[[], None]:
        """Call ``listener`` for every event; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)
            past = list(self.events) if replay else []
        for event in past:
            listener(event)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    @property
    def last_progress(self) -> JobEvent | None:
        for event in reversed(self.events):
            if event.kind is EventKind.PROGRESS:
                return event
        return None

    # control ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop at its next safe point."""
        if not self.state.is_final:
            self._context.cancel_requested.set()
            self._emit(EventKind.LOG, "cancel requested; stopping at the next safe point")

    @property
    def cancel_requested(self) -> bool:
        return self._context.cancel_requested.is_set()

    def start(self) -> asyncio.Task[T_co]:
        """Run the job as a task on the running loop (the task is kept referenced)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name=self.title)
        return self._task

    async def wait(self) -> T_co:
        if self._task is None:
            return await self.run()
        return await asyncio.shield(self._task)

    async def outcome(self) -> T_co:
        """Wait until the job has ended, however it was started (here, or queued by a runner
        that starts it later), history written: its result, or the error it ended with."""
        if not self.state.is_final:
            ended = asyncio.Event()
            unsubscribe = self.subscribe(
                lambda event: ended.set() if event.kind in FINAL_EVENTS else None
            )
            try:
                if not self.state.is_final:
                    await ended.wait()
            finally:
                unsubscribe()
        if self._task is not None:
            await asyncio.wait([self._task])  # its last history rows are written
            if not self._task.cancelled():
                self._task.exception()  # raised below: asyncio must not log it as unretrieved
        if self.state is JobState.SUCCEEDED:
            return cast(T_co, self.result)  # set on success (T may itself allow None)
        if isinstance(self.error, asyncio.CancelledError):
            raise Cancelled("the job was cancelled by the operator", where=self.title)
        assert self.error is not None
        raise self.error

    async def run(self) -> T_co:
        if self.state is not JobState.PENDING:
            raise RuntimeError(f"job {self.id} was already run")
        self.state = JobState.RUNNING
        self.started = time.time()
        if self._store:
            try:
                await asyncio.to_thread(
                    self._store.job_started, self.id, self.kind, self.title, self.cluster
                )
            except StoreError as exc:  # no job PMC cannot record: not started
                self.error, self.state, self.finished = exc, JobState.FAILED, time.time()
                self._emit(EventKind.FAILED, str(exc), level="error")
                raise
        self._emit(EventKind.STARTED, self.title)
        token = _CURRENT.set(self)
        try:
            result = await self._body(self._context)
        except Cancelled as exc:
            # The body's own Cancelled carries what was undone (e.g. the rollback summary).
            self.error = exc
            await self._finish(JobState.CANCELLED, EventKind.CANCELLED, str(exc), "warning")
            raise
        except asyncio.CancelledError as exc:
            self.error = exc
            await self._finish(JobState.CANCELLED, EventKind.CANCELLED, "cancelled", "warning")
            raise Cancelled("the job was cancelled by the operator", where=self.title) from exc
        except PmcError as exc:
            self.error = exc
            await self._finish(JobState.FAILED, EventKind.FAILED, str(exc), "error")
            raise
        except Exception as exc:
            self.error = exc
            log.exception("job %s failed unexpectedly", self.title)
            await self._finish(
                JobState.FAILED, EventKind.FAILED, f"unexpected error: {exc!r}", "error"
            )
            raise
        finally:
            _CURRENT.reset(token)
        self.result = result
        await self._finish(JobState.SUCCEEDED, EventKind.FINISHED, _summary(result), "info")
        return result

    # internals --------------------------------------------------------------------------
    async def _finish(
        self, state: JobState, kind: EventKind, message: str, level: EventLevel
    ) -> None:
        """Record the outcome in the history first, then show it: whoever sees the job end
        (the jobs panel, the CLI) finds the same outcome in the history right away."""
        finished = time.time()
        try:
            if self._store:
                pending, self._pending_log = self._pending_log, []
                await asyncio.to_thread(self._store_final, state, message, pending)
        except StoreError as exc:  # the work is done: its outcome is still shown
            log.warning("job %s: %s", self.title, exc)
            self._emit(
                EventKind.LOG,
                f"the outcome of this job could not be written to PMC's history: {exc}",
                level="warning",
            )
        finally:
            self.state = state
            self.finished = finished
            self._emit(kind, message, level=level)

    def _store_final(
        self,
        state: JobState,
        message: str,
        pending: list[tuple[int, float, str, str, str | None, str]],
    ) -> None:
        assert self._store is not None
        try:
            self._store.job_log(self.id, pending)
        finally:  # the outcome even when the log did not fit (a full disk)
            self._store.job_finished(self.id, state.value, message)

    def _emit(
        self,
        kind: EventKind,
        message: str = "",
        *,
        level: EventLevel = "info",
        server: str | None = None,
        step: str | None = None,
        done: float | None = None,
        total: float | None = None,
        unit: str = "",
    ) -> None:
        with self._lock:
            event = JobEvent(
                job_id=self.id,
                seq=len(self.events),
                kind=kind,
                time=time.time(),
                message=redact(message),
                level=level,
                server=server,
                step=step,
                done=done,
                total=total,
                unit=unit,
            )
            self.events.append(event)
            if kind is not EventKind.PROGRESS:
                self._pending_log.append(
                    (event.seq, event.time, kind.value, level, server, event.message)
                )
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the job
                log.exception("job listener failed")


_CURRENT: contextvars.ContextVar[Job[object] | None] = contextvars.ContextVar(
    "pmc_current_job", default=None
)


def current_job() -> Job[object] | None:
    """The job whose body is running here (None outside every job)."""
    return _CURRENT.get()


SUMMARY_CHARS = 500  # a finished job's message: its result, whole lines up to this length


def _summary(result: object) -> str:
    """A result as the job's final message: whole lines (never a word cut in two), and how
    many more lines there were."""
    if result is None:
        return "done"
    lines = str(result).splitlines() or [""]
    kept: list[str] = []
    for line in lines:
        if kept and sum(len(k) + 1 for k in kept) + len(line) > SUMMARY_CHARS:
            break
        kept.append(line)
    if len(kept) < len(lines):
        kept.append(f"… and {plural(len(lines) - len(kept), 'more line')}")
    return "\n".join(kept)
