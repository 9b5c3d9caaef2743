"""Another writer of a SQLite store's file, as another process would be: for busy-store tests."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Hold the file's write lock from another connection, as another process's writer does."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
