"""A record of every send request, whatever became of it: proof of how many were in flight.

A real WAHA keeps no such record; the simulator keeps one so a test or a benchmark can show a
client never had two sends in flight on one session. `received_at` is stamped as the request
arrives, `finished_at` once its answer was written or its connection died; it counts as in
flight from when its body was read. A client that waits for each answer before its next send
therefore never has two in flight.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.waha_simulator.bodies import JSONObject

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock

ACCEPTED = "accepted"  # the message was taken and the 201 answered
REFUSED = "refused"  # WAHA answered no (400, 401, 404, 422): nothing was sent
GONE = "gone"  # no answer: the client left, or the server stopped, before one was written


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="microseconds")


@dataclass(slots=True)
class SendRecord:
    """One send request: who it was for, when it came and went, and what became of it.

    `outcome` is None while in flight, then ACCEPTED, REFUSED, GONE or the kind of fault
    that answered it (`error_500`, `drop`, `hang`, `accept_then_drop`…); `status` is the HTTP
    status answered, None when the connection was dropped or hung up instead.
    """

    endpoint: str
    kind: str
    received_at: datetime
    session: str | None = None
    chat_id: str | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    status: int | None = None
    message_id: str | None = None
    fault: str | None = None
    generation: int = field(default=-1, repr=False)  # the log it counts in; -1: none yet

    def to_json(self) -> JSONObject:
        """Return the control API's view of this record; times are ISO 8601 to microseconds."""
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "session": self.session,
            "chat_id": self.chat_id,
            "received_at": _iso(self.received_at),
            "finished_at": _iso(self.finished_at),
            "outcome": self.outcome,
            "status": self.status,
            "message_id": self.message_id,
        }


class SendLog:
    """Every send request in arrival order, and per session the most ever in flight at once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._records: list[SendRecord] = []
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: dict[str, int] = {}
        self._generation = 0
        self._busy = 0  # in flight now, on any session
        self._idle = asyncio.Event()
        self._idle.set()

    def receive(self, endpoint: str, kind: str) -> SendRecord:
        """Stamp a send request as it arrives, before its body is read."""
        return SendRecord(endpoint, kind, self._clock.now())

    def begin(self, record: SendRecord, session: str | None, chat_id: str | None) -> None:
        """Log `record` for `session` (None: its body named none): it is in flight from now."""
        record.session, record.chat_id = session, chat_id
        record.generation = self._generation
        self._records.append(record)
        self._busy += 1
        self._idle.clear()
        if session is not None:
            self._in_flight[session] += 1
            now = self._in_flight[session]
            if now > self._max_in_flight.get(session, 0):
                self._max_in_flight[session] = now

    def finish(self, record: SendRecord, outcome: str, status: int | None) -> None:
        """Stamp `record` finished now with `outcome`; once only, and never across a reset."""
        if record.outcome is not None:
            return
        record.finished_at = self._clock.now()
        record.outcome = outcome
        record.status = status
        if record.generation != self._generation:
            return
        if record.session is not None:
            self._in_flight[record.session] -= 1
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until no send is in flight (a hung one ends when its client gives up)."""
        await self._idle.wait()

    def records(self, session: str | None = None) -> list[SendRecord]:
        """Return the records in arrival order, of one session or of all."""
        if session is None:
            return list(self._records)
        return [record for record in self._records if record.session == session]

    def max_in_flight(self) -> dict[str, int]:
        """Return, per session, the most sends that were ever in flight on it at once."""
        return dict(self._max_in_flight)

    def in_flight(self) -> dict[str, int]:
        """Return, per session, the sends in flight now (sessions with none left out)."""
        return {session: count for session, count in self._in_flight.items() if count}

    def clear(self) -> None:
        """Forget every record; sends still in flight finish without counting."""
        self._records.clear()
        self._in_flight.clear()
        self._max_in_flight.clear()
        self._generation += 1
        self._busy = 0
        self._idle.set()
