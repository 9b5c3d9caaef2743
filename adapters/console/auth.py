"""Console sign-in: the API token once, then a session of the console's own.

The cookie carries a random session id only (HttpOnly, SameSite=Strict, Path=/ui); what it
stands for lives here, in memory: whether it is signed in, its CSRF token and its one-time
notices. The token itself is compared once and never kept, shown, logged or put in a URL.
A restart signs everyone out, which is the safe direction.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from pydantic import SecretStr

from app.ports import Clock

COOKIE: Final = "console_session"
COOKIE_PATH: Final = "/ui"
IDLE_LIMIT: Final = timedelta(hours=12)
MAX_SESSIONS: Final = 10_000  # anyone can open the sign-in page: the table must stay bounded
_ID_BYTES: Final = 32


@dataclass(frozen=True)
class Notice:
    """A one-time message shown on the next page: what a command did, or why it did not."""

    text: str
    kind: str = "info"  # info, success or error: its colour and its role for screen readers


@dataclass
class ConsoleSession:
    """One browser's session: signed in or not, its CSRF token, its pending notices."""

    id: str
    csrf: str
    signed_in: bool
    last_seen: datetime
    notices: list[Notice] = field(default_factory=list)

    def notify(self, text: str, kind: str = "info") -> None:
        """Keep a notice for the next page shown."""
        self.notices.append(Notice(text, kind))

    def take_notices(self) -> list[Notice]:
        """Return the pending notices and forget them."""
        taken, self.notices = self.notices, []
        return taken

    def csrf_matches(self, presented: str | None) -> bool:
        """Whether a form's CSRF token is this session's (compared in constant time)."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.csrf.encode())


class ConsoleSessions:
    """The session table: random ids to sessions, expiring after IDLE_LIMIT without a visit."""

    def __init__(self, token: SecretStr, clock: Clock, *, limit: int = MAX_SESSIONS) -> None:
        expected = token.get_secret_value()
        if not expected:
            raise ValueError("an empty API token would let anyone in")
        self._expected = expected.encode("utf-8")
        self._clock = clock
        self._limit = limit
        self._sessions: OrderedDict[str, ConsoleSession] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def find(self, session_id: str | None) -> ConsoleSession | None:
        """Return the live session with this id, seen now; None if unknown or expired."""
        if not session_id:
            return None
        now = self._clock.now()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if now - found.last_seen > IDLE_LIMIT:
                del self._sessions[session_id]
                return None
            found.last_seen = now
            self._sessions.move_to_end(session_id)
            return found

    def open(self) -> ConsoleSession:
        """Return a new session, not signed in (for the sign-in form's CSRF token)."""
        return self._new(signed_in=False)

    def sign_in(self, current: ConsoleSession | None, presented: str) -> ConsoleSession | None:
        """Return a new signed-in session if `presented` is the API token, else None.

        The session signed in is a new one (a new id): an id known before signing in, to
        anyone, is worth nothing after. Its notices carry over.
        """
        given = presented.strip().encode("utf-8")
        # compare_digest: the time taken says nothing about how much of the token matched.
        if not given or not hmac.compare_digest(given, self._expected):
            return None
        if current is not None:
            self.sign_out(current)
        session = self._new(signed_in=True)
        if current is not None:
            session.notices.extend(current.notices)
        return session

    def sign_out(self, session: ConsoleSession) -> None:
        """Forget the session: its cookie opens nothing any more."""
        with self._lock:
            self._sessions.pop(session.id, None)

    def _new(self, *, signed_in: bool) -> ConsoleSession:
        session = ConsoleSession(
            id=secrets.token_urlsafe(_ID_BYTES),
            csrf=secrets.token_urlsafe(_ID_BYTES),
            signed_in=signed_in,
            last_seen=self._clock.now(),
        )
        with self._lock:
            self._expire(session.last_seen)
            while len(self._sessions) >= self._limit:
                self._sessions.popitem(last=False)  # the least recently seen goes first
            self._sessions[session.id] = session
        return session

    def _expire(self, now: datetime) -> None:
        # Oldest first (least recently seen): stop at the first one still live.
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now - oldest.last_seen <= IDLE_LIMIT:
                return
            self._sessions.popitem(last=False)
