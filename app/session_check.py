"""Asking WAHA, before a campaign is recorded, whether the session it names exists at all.

A campaign on a session WAHA does not have would pause at its first contact, long after the
operator left: WAHA's 404 for the session is refused at once instead. When WAHA cannot be
asked, the campaign is taken, with a warning saying so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from app.ports import GatewayError, GatewayRejectedError, WahaGateway
from domain.session import SessionName

# WAHA answers a status at once; a creation waits no longer than this for it.
SESSION_CHECK_SECONDS: Final = 10.0
_NOT_FOUND: Final = 404


@dataclass(frozen=True)
class SessionCheck:
    """What WAHA said of a session: known (with its status), unknown, or not asked."""

    session: str
    known: bool | None  # None: WAHA could not be asked
    status: str | None = None
    detail: str = ""

    @property
    def problem(self) -> dict[str, object] | None:
        """The field problem of an unknown session, or None."""
        if self.known is not False:
            return None
        return {
            "field": "session",
            "value": self.session,
            "reason": (
                f"WAHA has no session named {self.session!r} (it answered 404): start the "
                "session in WAHA first, or name one it has"
            ),
        }

    @property
    def warning(self) -> str | None:
        """What the operator should know about a session that may not send, or None."""
        if self.known is None:
            return (
                f"WAHA could not be asked about session {self.session!r} ({self.detail}): the "
                "campaign is scheduled anyway, and pauses if the session does not work"
            )
        if self.known and self.status not in {None, "WORKING"}:
            return (
                f"session {self.session!r} is {self.status} now: unless it works when the "
                "campaign starts, the campaign pauses (session_not_working)"
            )
        return None


async def check_session(
    gateway: WahaGateway, session: str, *, within: float = SESSION_CHECK_SECONDS
) -> SessionCheck:
    """Ask WAHA for the session's status, waiting at most `within` seconds; never raises."""
    try:
        async with asyncio.timeout(within):
            fact = await gateway.session_status(SessionName(session))
    except GatewayRejectedError as error:
        if error.status == _NOT_FOUND:
            return SessionCheck(session, known=False)
        return SessionCheck(session, known=None, detail=_said(error))
    except GatewayError as error:
        return SessionCheck(session, known=None, detail=_said(error))
    except TimeoutError:
        return SessionCheck(session, known=None, detail=f"no answer within {within:g} s")
    return SessionCheck(session, known=True, status=fact.status)


def _said(error: GatewayError) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"  # noqa: PLR2004 - a line's worth
