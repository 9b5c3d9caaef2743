"""The contacts an audience keeps between screening and recording, in a temporary SQLite file.

A million contacts held as Python objects take about a GiB; here they take a file of some
tens of MiB in the temporary folder (TMPDIR) and SQLite's page cache, deleted when closed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from domain.contacts import Contact

# SQLite's page cache for the spool, in KiB (negative: a size, not a page count).
_CACHE_KIB: Final = 8 * 1024


class SqliteContactSpool:
    """A ContactSpool in a SQLite file of its own: one row per kept contact, phones unique."""

    def __init__(self, folder: Path | None = None) -> None:
        """Make the file in `folder` (the system's temporary folder by default)."""
        handle, name = tempfile.mkstemp(
            prefix="waha-campaigns-audience-", suffix=".sqlite3", dir=folder
        )
        os.close(handle)
        self.path = Path(name)
        self._size = 0
        self._db = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        try:
            # A scratch file: nothing to recover after a crash, so no journal and no fsync.
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._db.execute(
                "CREATE TABLE kept (n INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE,"
                " row INTEGER NOT NULL, contact TEXT NOT NULL)"
            )
            self._db.execute("BEGIN")
        except BaseException:
            self.close()
            raise

    def keep(self, row: int, contact: Contact) -> int | None:
        """Keep `contact` unless its phone is kept already; else return the earlier row."""
        record = json.dumps(contact.to_record(), separators=(",", ":"))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO kept (n, phone, row, contact) VALUES (?, ?, ?, ?)",
            (self._size, contact.phone, row, record),
        )
        if cursor.rowcount == 1:
            self._size += 1
            return None
        (first,) = self._db.execute(
            "SELECT row FROM kept WHERE phone = ?", (contact.phone,)
        ).fetchone()
        return int(first)

    def __len__(self) -> int:
        """Return how many contacts are kept."""
        return self._size

    def kept(self, start: int = 0) -> Iterator[tuple[int, Contact]]:
        """Yield (row, contact) of each kept contact from the `start`-th on, in order."""
        cursor = self._db.execute("SELECT row, contact FROM kept WHERE n >= ? ORDER BY n", (start,))
        try:
            for row, record in cursor:
                yield int(row), Contact.from_record(json.loads(record))
        finally:
            cursor.close()

    def close(self) -> None:
        """Delete the file."""
        try:
            self._db.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
