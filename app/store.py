"""The library's repository, made safe to share between the service's threads."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository


class LockedRepository(Repository[UUID]):
    """Never copies a cached aggregate while another thread fast-forwards it.

    The library deep-copies a cached aggregate outside its fast-forward lock, so a copy taken
    while another thread applies new events can carry the new version with the old state, and
    a command on that copy would save without a conflict. One lock per aggregate closes it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._locks: dict[UUID, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        """Return the aggregate as the library does, with the cached path serialised per id."""
        if version is not None or not self.cache:
            return super().get(aggregate_id, version=version, **kwargs)
        with self._guard:
            lock = self._locks.setdefault(aggregate_id, threading.Lock())
        with lock:
            return super().get(aggregate_id, **kwargs)
