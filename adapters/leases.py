"""Lane leases: who may send through each WAHA session, held so that they die with the holder.

- SQLite (one machine): an exclusive `flock` on a file per session beside the store. The
  kernel drops it the moment the holding process dies, SIGKILL included, so a restarted
  service takes its lanes up at once. A process that is only stopped (SIGSTOP) keeps it: on
  one machine that is an operator's doing, not a partition.
- PostgreSQL (several processes, maybe several machines): a lease row per session with an
  epoch and an expiry on the server's clock. Holders renew it every few seconds; one that
  dies or stalls lets it expire, and anyone then takes it with a higher epoch. The lane's own
  record (its version, checked on every write) fences a holder that wakes up late.
- memory:// (tests): the same rules in one process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg

from app.ports import LaneHolder, Lease

DEFAULT_LEASE_SECONDS: Final = 6.0
LEASES_TABLE: Final = "campaign_lane_leases"  # written out in the SQL below
# One key for "create the lease table": concurrent starts take turns instead of failing.
_CREATE_LOCK_KEY: Final = 0x57414841  # "WAHA"


class InProcessLaneLeases:
    """Leases in one process's memory (the in-memory store and tests)."""

    def __init__(self) -> None:
        self._held: dict[str, Lease] = {}
        self._epochs: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, session: str, owner: str) -> Lease | None:
        """Take the lane unless someone holds it."""
        with self._lock:
            if session in self._held:
                return None
            epoch = self._epochs.get(session, 0) + 1
            self._epochs[session] = epoch
            lease = self._held[session] = Lease(session, owner, epoch)
            return lease

    def renew(self, leases: Sequence[Lease]) -> set[str]:
        """Return the sessions still held by these leases."""
        with self._lock:
            return {lease.session for lease in leases if self._held.get(lease.session) == lease}

    def release(self, lease: Lease) -> None:
        """Let the lane go, if this lease still holds it."""
        with self._lock:
            if self._held.get(lease.session) == lease:
                del self._held[lease.session]

    def holders(self) -> list[LaneHolder]:
        """Return every held lane's holder."""
        with self._lock:
            return [LaneHolder(h.session, h.owner, h.epoch, None) for h in self._held.values()]

    def expire(self, session: str) -> None:
        """Forget the session's holder, as if it had died (tests)."""
        with self._lock:
            self._held.pop(session, None)

    def close(self) -> None:
        """Nothing to close: the leases live in this process's memory."""


@dataclass
class _Locked:
    lease: Lease
    handle: Any  # the open file whose flock is the lease


class FileLaneLeases:
    """A `flock` per session on a file in `folder`, released by the kernel when we die."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locked: dict[str, _Locked] = {}
        self._lock = threading.Lock()

    def _path(self, session: str) -> Path:
        # Session names are safe file names already; a hash keeps any future name safe too.
        digest = hashlib.sha256(session.encode()).hexdigest()[:16]
        return self.folder / f"lane-{digest}.lock"

    def acquire(self, session: str, owner: str) -> Lease | None:
        """Lock the session's file without waiting; None when another process holds it."""
        with self._lock:
            if session in self._locked:
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = self._path(session).open("a+")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return None
            handle.seek(0)
            previous = _read_holder(handle.read())
            lease = Lease(session, owner, int(previous.get("epoch", 0)) + 1)
            handle.seek(0)
            handle.truncate()
            record = {"session": session, "owner": owner, "epoch": lease.epoch, "pid": os.getpid()}
            handle.write(json.dumps(record))
            handle.flush()
            os.fsync(handle.fileno())
            self._locked[session] = _Locked(lease, handle)
            return lease

    def renew(self, leases: Sequence[Lease]) -> set[str]:
        """Our locks last as long as we do: every lease we still hold is kept."""
        with self._lock:
            return {
                lease.session
                for lease in leases
                if (held := self._locked.get(lease.session)) is not None and held.lease == lease
            }

    def release(self, lease: Lease) -> None:
        """Unlock the session's file (its record of the epoch stays for the next holder)."""
        with self._lock:
            held = self._locked.get(lease.session)
            if held is None or held.lease != lease:
                return
            del self._locked[lease.session]
            with contextlib.suppress(OSError):
                fcntl.flock(held.handle.fileno(), fcntl.LOCK_UN)
            held.handle.close()

    def holders(self) -> list[LaneHolder]:
        """Return who holds each locked lane, this process or another."""
        found = []
        for path in sorted(self.folder.glob("lane-*.lock")) if self.folder.exists() else []:
            with path.open("r") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    record = _read_holder(handle.read())
                    if "session" in record:
                        found.append(
                            LaneHolder(
                                str(record["session"]),
                                str(record.get("owner", "")),
                                int(record.get("epoch", 0)),
                                None,
                            )
                        )
                    continue
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        mine = {held.lease.session: held.lease for held in self._locked.values()}
        others = [h for h in found if h.session not in mine]
        return [LaneHolder(m.session, m.owner, m.epoch, None) for m in mine.values()] + others

    def close(self) -> None:
        """Let every lane of this process go and close the lock files."""
        for held in list(self._locked.values()):
            self.release(held.lease)


def _read_holder(text: str) -> dict[str, Any]:
    try:
        record = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


class PostgresLaneLeases:
    """A lease row per session on PostgreSQL, with an epoch and an expiry on the server's clock."""

    def __init__(self, conninfo: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self._conninfo = conninfo
        self._interval = timedelta(seconds=lease_seconds)
        self._connection: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=5
                )
            try:
                with self._connection.cursor() as cursor:
                    yield cursor
            except psycopg.OperationalError:
                # A broken connection is made again at the next call.
                self._connection.close()
                raise

    def create_table(self) -> None:
        """Create the lease table if missing; concurrent starts take turns."""
        with self._cursor() as cursor, cursor.connection.transaction():
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK_KEY,))
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS campaign_lane_leases ("
                "session text PRIMARY KEY, owner text NOT NULL, epoch bigint NOT NULL, "
                "expires_at timestamptz NOT NULL)"
            )

    def acquire(self, session: str, owner: str) -> Lease | None:
        """Take the lane if it is free or its lease expired; the epoch grows either way."""
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaign_lane_leases AS held (session, owner, epoch, expires_at) "
                "VALUES (%s, %s, 1, now() + %s) "
                "ON CONFLICT (session) DO UPDATE SET owner = EXCLUDED.owner, "
                "epoch = held.epoch + 1, expires_at = EXCLUDED.expires_at "
                "WHERE held.expires_at < now() "
                "RETURNING epoch",
                (session, owner, self._interval),
            )
            row = cursor.fetchone()
        return None if row is None else Lease(session, owner, int(row[0]))

    def renew(self, leases: Sequence[Lease]) -> set[str]:
        """Extend the leases not yet expired and still ours; return their sessions."""
        if not leases:
            return set()
        owner = leases[0].owner
        with self._cursor() as cursor:
            cursor.execute(
                "UPDATE campaign_lane_leases SET expires_at = now() + %s "
                "WHERE owner = %s AND expires_at > now() AND (session, epoch) IN "
                "(SELECT * FROM unnest(%s::text[], %s::bigint[])) RETURNING session",
                (
                    self._interval,
                    owner,
                    [lease.session for lease in leases],
                    [lease.epoch for lease in leases],
                ),
            )
            return {str(row[0]) for row in cursor.fetchall()}

    def release(self, lease: Lease) -> None:
        """Let the lane go at once, if this lease still holds it."""
        with self._cursor() as cursor:
            cursor.execute(
                "UPDATE campaign_lane_leases SET expires_at = now() - interval '1 second' "
                "WHERE session = %s AND owner = %s AND epoch = %s",
                (lease.session, lease.owner, lease.epoch),
            )

    def holders(self) -> list[LaneHolder]:
        """Return the holder of every lane whose lease has not expired."""
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT session, owner, epoch, expires_at FROM campaign_lane_leases "
                "WHERE expires_at > now() ORDER BY session"
            )
            return [
                LaneHolder(
                    str(s), str(o), int(e), x.astimezone(UTC) if isinstance(x, datetime) else None
                )
                for s, o, e, x in cursor.fetchall()
            ]

    def close(self) -> None:
        """Close the connection (the leases lapse on their own)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
