"""What operators see of each WhatsApp number: WAHA's status, its lane, its guardrails today."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.campaign_facts import CampaignFacts
from app.ports import Clock, GatewayError, LaneHolder, LaneLeases, SessionStatusFact
from app.read_models import CampaignContacts
from app.session_settings import SessionSettingsBook
from app.views import JsonView
from domain.lifecycle import CampaignStatus
from domain.session import SessionName


@dataclass(frozen=True)
class WahaSaid:
    """What WAHA answered about the session: its status, or why it could not be asked."""

    status: str | None
    detail: str

    @classmethod
    def of(cls, answer: SessionStatusFact | GatewayError) -> WahaSaid:
        """Return what a status check came to."""
        if isinstance(answer, GatewayError):
            return cls(None, f"WAHA could not be asked: {answer}"[:300])
        return cls(answer.status, answer.detail)


@dataclass(frozen=True)
class SessionView(JsonView):
    """One number as operators see it: WAHA's status, who sends for it, and its guardrails."""

    session: str
    waha_status: str | None
    waha_detail: str
    lane: dict[str, Any] | None  # {owner, epoch, expires_at} of the lane's holder, if held
    settings: dict[str, Any]
    settings_changed_at: datetime | None
    settings_changed_by: str | None
    day_started_at: datetime
    sent_today: int
    effective_cap: int | None
    cap_kind: str | None  # daily_cap or warmup_cap: the one that binds today
    remaining_today: int | None
    window_open: bool | None  # None: no window
    window_opens_at: datetime | None
    window_closes_at: datetime | None
    running: list[str]
    paused: list[str]


class SessionsOverview:
    """Builds the session views; blocking (the store and the lease store), so off the loop."""

    def __init__(
        self,
        settings: SessionSettingsBook,
        contacts: CampaignContacts,
        leases: LaneLeases,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._contacts = contacts
        self._leases = leases
        self._clock = clock

    def known(self, facts: list[CampaignFacts]) -> list[SessionName]:
        """Return every session with campaigns, settings or a lane, sorted by name."""
        names = {f.session for f in facts}
        names.update(SessionName(name) for name in self._settings.sessions())
        names.update(holder.session for holder in self._leases.holders())
        return sorted(names)

    def view(self, session: SessionName, waha: WahaSaid, facts: list[CampaignFacts]) -> SessionView:
        """Return the session's view, with what WAHA said of it."""
        return self.views([(session, waha)], facts)[0]

    def views(
        self, said: Sequence[tuple[SessionName, WahaSaid]], facts: list[CampaignFacts]
    ) -> list[SessionView]:
        """Return each session's view, with what WAHA said of it, in the order asked.

        The lanes' holders are read once and the campaigns grouped once: asked per session,
        listing 500 numbers opened 250,000 lock files.
        """
        holders = {h.session: h for h in self._leases.holders()}
        by_session: dict[str, list[CampaignFacts]] = defaultdict(list)
        for fact in facts:
            by_session[fact.session].append(fact)
        return [
            self._view(session, waha, holders.get(session), by_session.get(session, []))
            for session, waha in said
        ]

    def _view(
        self,
        session: SessionName,
        waha: WahaSaid,
        holder: LaneHolder | None,
        mine: list[CampaignFacts],
    ) -> SessionView:
        now = self._clock.now()
        stored = self._settings.view(session)
        settings = stored.settings
        day_start = settings.day_start(now)
        sent = self._contacts.sent_count(session, day_start)
        cap = settings.cap_on(now)
        window = settings.window
        return SessionView(
            session=session,
            waha_status=waha.status,
            waha_detail=waha.detail,
            lane=None
            if holder is None
            else {"owner": holder.owner, "epoch": holder.epoch, "expires_at": holder.expires_at},
            settings=stored.settings.to_record(),
            settings_changed_at=stored.changed_at,
            settings_changed_by=stored.changed_by,
            day_started_at=day_start,
            sent_today=sent,
            effective_cap=None if cap is None else cap.limit,
            cap_kind=None if cap is None else cap.reason.value,
            remaining_today=None if cap is None else max(0, cap.limit - sent),
            window_open=None if window is None else window.is_open(now),
            window_opens_at=None
            if window is None or window.is_open(now)
            else window.next_opening(now),
            window_closes_at=None if window is None else window.next_closing(now),
            running=[str(f.id) for f in mine if f.status == CampaignStatus.RUNNING],
            paused=[str(f.id) for f in mine if f.status == CampaignStatus.PAUSED],
        )
