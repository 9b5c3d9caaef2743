"""Group commit: what every lane has ready is recorded in one transaction, one fsync for all.

A lane that records an intent waits until it is durable before it sends; while one batch is
being written, the next gathers, so the more lanes send, the more each fsync carries. A short
gathering window (`gather_seconds`, a few milliseconds) lets commits that come a little apart
share a write too: each write costs CPU of its own (on the library's path a hop to a worker
thread, which on a small VM costs more than the write itself), and a send that waits 5 ms more
after a chosen gap of seconds is not late. Measured, it did not pay (bench/runner_throughput.py):
the service runs without.
A conflict (someone recorded first) fails only the commits it concerns: the batch is retried
commit by commit to find them.

A store that can write on the event loop gives a `LoopWriter`: PostgreSQL through its async
driver, SQLite with only its COMMIT (the fsync) in a worker thread. Its batches then make no
hop to a worker thread with their statements: on this 2-core VM a hop, with the interpreter's
lock handed back and forth around every call into the store, cost about 0.3 ms of CPU, more
than the write's own share (measured: bench/runner_throughput.py, bench/lanes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, StoredEvent

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.ports import Sleeper

log = logging.getLogger("waha_campaigns.committer")
Event = DomainEventProtocol[UUID]


@dataclass
class _Commit:
    """One caller's events, from these aggregates, and the future it waits on."""

    events: list[Event]
    aggregates: tuple[Any, ...]
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ConflictError(ConcurrentUpdateError):
    """Someone recorded first on some of these aggregates; nothing of this commit was recorded."""

    def __init__(self, conflicted: set[UUID]) -> None:
        super().__init__(
            f"{len(conflicted)} record(s) changed meanwhile: {sorted(map(str, conflicted))}"
        )
        self.conflicted = conflicted


class LoopWriter(Protocol):
    """Writes stored events on the event loop it was opened on (an async driver, or SQLite's)."""

    def on_this_loop(self) -> bool:
        """Return True when it can write on the running event loop (open, and opened on it)."""
        ...

    async def insert(
        self, events: Sequence[StoredEvent], snapshots: Sequence[StoredEvent]
    ) -> Sequence[int]:
        """Record `events` and `snapshots` in one transaction; return the events' positions.

        Raises the library's IntegrityError when an event's version was taken: then nothing
        was recorded. Other failures raise the library's persistence errors.
        """
        ...


# A gathering window to compare with (bench/runner_throughput.py); the service runs without.
GATHER_SECONDS: Final = 0.005


class GroupCommitter:
    """Records commits from many lanes together; each caller resumes once its events are durable."""

    def __init__(
        self,
        campaigns: CampaignsApp,
        *,
        max_batch: int = 1000,
        gather_seconds: float = 0.0,
        sleeper: Sleeper | None = None,
        writer: LoopWriter | None = None,
    ) -> None:
        self._campaigns = campaigns
        self._writer = writer
        self._max_batch = max_batch
        self._gather_seconds = gather_seconds if sleeper is not None else 0.0  # none to wait
        self._sleeper = sleeper
        self._queue: list[_Commit] = []
        self._last_batch = 0  # how many commits the last write carried
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.commits = 0

    async def record(self, *aggregates: Any) -> None:
        """Record the aggregates' pending events atomically; return once they are durable.

        Raises ConflictError (naming the aggregates) when someone recorded first: then none of
        these events were recorded, and the aggregates are ahead of the store (reload them).
        """
        events: list[Event] = []
        for aggregate in aggregates:
            events.extend(aggregate.collect_events())
        if not events:
            return
        commit = _Commit(events, aggregates)
        self._queue.append(commit)
        self._ensure_running()
        assert self._wake is not None  # noqa: S101 - set by _ensure_running
        self._wake.set()
        await asyncio.shield(commit.done)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._write_batches(), name="group-commit")

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        pending = [commit.done for commit in self._queue]
        if pending and self._wake is not None:
            self._wake.set()
            await asyncio.gather(*pending, return_exceptions=True)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _write_batches(self) -> None:
        assert self._wake is not None  # noqa: S101 - set before the task starts
        while True:
            await self._wake.wait()
            await self._gather()
            self._wake.clear()  # after the window: what joined it needs no other turn
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                self._last_batch = len(batch)
                try:
                    outcomes = await self._write_somewhere(batch)
                except BaseException as error:  # the store failed: every caller learns it
                    for commit in batch:
                        if not commit.done.done():
                            commit.done.set_exception(error)
                    if isinstance(error, asyncio.CancelledError):
                        raise
                    continue
                for commit, failure in zip(batch, outcomes, strict=True):
                    if commit.done.done():
                        continue
                    if failure is None:
                        commit.done.set_result(None)
                    else:
                        commit.done.set_exception(failure)

    async def _gather(self) -> None:
        """Let more commits join: those ready within the window, or right now without one.

        The window is kept only while batches carry more than one commit: a lone lane (or
        a quiet moment) would only wait it out for nobody.
        """
        if self._sleeper is not None and self._gather_seconds > 0 and self._last_batch > 1:
            await self._sleeper.sleep(self._gather_seconds)
        else:
            await asyncio.sleep(0)  # noqa: TID251 - a yield, not a wait

    def _write(self, batch: Sequence[_Commit]) -> list[ConflictError | None]:
        """Record the batch in one transaction; on a conflict, commit by commit (blocking)."""
        self.batches += 1
        self.commits += len(batch)
        try:
            self._campaigns.record(
                [e for c in batch for e in c.events], [a for c in batch for a in c.aggregates]
            )
        except IntegrityError:
            if len(batch) == 1:
                return [self._conflict(batch[0])]
            return [self._write_alone(commit) for commit in batch]
        return [None] * len(batch)

    async def _write_somewhere(self, batch: Sequence[_Commit]) -> list[ConflictError | None]:
        """Write on the loop through the writer where there is one, else in a worker thread."""
        if self._writer is not None and self._writer.on_this_loop():
            return await self._write_on_loop(self._writer, batch)
        return await off_loop(self._write, batch)

    async def _write_on_loop(
        self, writer: LoopWriter, batch: Sequence[_Commit]
    ) -> list[ConflictError | None]:
        """Record the batch as `_write` does, through the writer on the loop."""
        self.batches += 1
        self.commits += len(batch)
        try:
            await self._insert(
                writer,
                [e for c in batch for e in c.events],
                [a for c in batch for a in c.aggregates],
            )
        except IntegrityError:
            if len(batch) == 1:
                return [await off_loop(self._conflict, batch[0])]
            outcomes: list[ConflictError | None] = []
            for commit in batch:
                try:
                    await self._insert(writer, commit.events, commit.aggregates)
                    outcomes.append(None)
                except IntegrityError:
                    outcomes.append(await off_loop(self._conflict, commit))
            return outcomes
        return [None] * len(batch)

    async def _insert(
        self, writer: LoopWriter, events: Sequence[Event], aggregates: Sequence[Any]
    ) -> None:
        stored, snapshots = self._campaigns.to_store(events, aggregates)
        positions = await writer.insert(stored, snapshots)
        self._campaigns.recorded(events, stored, positions)

    def _write_alone(self, commit: _Commit) -> ConflictError | None:
        try:
            self._campaigns.record(commit.events, commit.aggregates)
        except IntegrityError:
            return self._conflict(commit)
        return None

    def _conflict(self, commit: _Commit) -> ConflictError:
        """Name the aggregates whose next version was already taken."""
        first: dict[UUID, int] = {}
        for event in commit.events:
            first.setdefault(event.originator_id, event.originator_version)
        conflicted = {
            aggregate_id
            for aggregate_id, version in first.items()
            if self._campaigns.last_version(aggregate_id) >= version
        }
        log.info("a commit conflicted on %d record(s)", len(conflicted))
        return ConflictError(conflicted or set(first))
