"""Faults the WAHA simulator can inject, so clients meet WAHA's failures on demand."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Endpoint(StrEnum):
    """A WAHA endpoint a fault can be put on; values are the control API's names."""

    SEND_TEXT = "sendText"
    SEND_IMAGE = "sendImage"
    SEND_FILE = "sendFile"
    SEND_VIDEO = "sendVideo"
    SEND_VOICE = "sendVoice"
    SEND_SEEN = "sendSeen"
    START_TYPING = "startTyping"
    STOP_TYPING = "stopTyping"
    SESSION_STATUS = "session"  # GET /api/sessions/{session}
    SESSIONS = "sessions"  # GET /api/sessions
    CHECK_EXISTS = "check-exists"
    MESSAGES = "messages"  # GET /api/{session}/chats/{chatId}/messages[/{id}]
    NEW_MESSAGE_ID = "new-message-id"  # GET /api/{session}/new-message-id
    ACCOUNT_LIMITS = "limits"  # GET /api/sessions/{session}/capping and /timelock
    LIDS = "lids"  # GET /api/{session}/lids/{lid}


class FaultKind(StrEnum):
    """What goes wrong."""

    LATENCY = "latency"  # wait `seconds`, then answer normally
    ERROR_500 = "error_500"  # 500 with `body`, or WAHA's AllExceptionsFilter body
    ERROR_463 = "error_463"  # 500 "2 UNKNOWN: server returned error 463" (reachout timelock)
    RATE_OVERLIMIT = "rate_overlimit"  # 500 "rate-overlimit" with data 429
    HANG = "hang"  # never answer, until the client gives up
    DROP = "drop"  # close the connection without answering
    ACCEPT_THEN_HANG = "accept_then_hang"  # do the work (a send is accepted), then hang
    ACCEPT_THEN_DROP = "accept_then_drop"  # do the work (a send is accepted), then drop

    @property
    def answers_first(self) -> bool:
        """Whether the simulator does the real work before misbehaving."""
        return self in {FaultKind.ACCEPT_THEN_HANG, FaultKind.ACCEPT_THEN_DROP}

    @property
    def answers(self) -> bool:
        """Whether the client gets an HTTP answer at all (not a hang or a dropped connection)."""
        return self in {
            FaultKind.LATENCY,
            FaultKind.ERROR_500,
            FaultKind.ERROR_463,
            FaultKind.RATE_OVERLIMIT,
        }


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: `times` calls (None: until cleared); `seconds` for latency; `body` for 500.

    A fault with `times=None` holds every call of its endpoint until `clear` disarms it; one
    armed after it on the same endpoint never fires.
    """

    kind: FaultKind
    times: int | None = 1
    seconds: float = 0.0
    body: Any = None

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for until cleared")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")

    def to_json(self) -> dict[str, Any]:
        """Return the control API's view of this fault."""
        return {
            "kind": self.kind.value,
            "times": self.times,
            "seconds": self.seconds,
            "body": self.body,
        }


@dataclass(slots=True)
class FaultBook:
    """The faults waiting on each endpoint (the oldest armed fires first), and the calls made."""

    _faults: dict[Endpoint, deque[Fault]] = field(default_factory=dict)
    calls: Counter[Endpoint] = field(default_factory=Counter)

    def add(self, endpoint: Endpoint, fault: Fault) -> None:
        """Arm `fault` on `endpoint`, after those already armed."""
        self._faults.setdefault(endpoint, deque()).append(fault)

    def clear(self, endpoint: Endpoint | None = None) -> None:
        """Disarm the faults of `endpoint`, or of every endpoint."""
        if endpoint is None:
            self._faults.clear()
        else:
            self._faults.pop(endpoint, None)

    def take(self, endpoint: Endpoint) -> Fault | None:
        """Count a call of `endpoint`; return the fault it meets, using one of its times."""
        self.calls[endpoint] += 1
        queue = self._faults.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        if fault.times is not None:
            queue.popleft()
            if fault.times > 1:
                queue.appendleft(replace(fault, times=fault.times - 1))
        return fault

    def reset(self) -> None:
        """Disarm every fault and forget the calls."""
        self._faults.clear()
        self.calls.clear()

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """Return the armed faults by endpoint name."""
        return {
            endpoint.value: [fault.to_json() for fault in queue]
            for endpoint, queue in self._faults.items()
            if queue
        }
