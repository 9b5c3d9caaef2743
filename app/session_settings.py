"""The numbers' settings (windows, caps, warm-up, recontact), read and changed on the record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.ports import Clock
from domain.number_settings import NumberSettings, SessionSettings, settings_id
from domain.window import InvalidSettingError

# WAHA session names: letters, digits, dash and underscore (as app.scheduling checks them).
SESSION_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ATTEMPTS: Final = 5


def valid_session(name: str) -> str:
    """Return `name` if it can name a WAHA session, else raise InvalidSettingError."""
    if not SESSION_NAME.match(name):
        raise InvalidSettingError("session", "letters, digits, '-' and '_' only (1 to 64)")
    return name


@dataclass(frozen=True)
class SettingsView:
    """A number's settings, and who last changed them when (None: never set)."""

    session: str
    settings: NumberSettings
    version: int
    changed_at: datetime | None
    changed_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as the API shows them."""
        return {
            **self.settings.to_record(),
            "changed_at": None if self.changed_at is None else self.changed_at.isoformat(),
            "changed_by": self.changed_by,
        }


class SessionSettingsBook:
    """Every number's settings, one aggregate per session in the campaigns' store.

    Blocking (it reads and writes the store): call it off the event loop.
    """

    def __init__(self, campaigns: CampaignsApp, clock: Clock) -> None:
        self._campaigns = campaigns
        self._clock = clock

    def record_of(self, session: str) -> SessionSettings | None:
        """Return the session's settings aggregate, or None if nobody ever set one."""
        try:
            found: SessionSettings = self._campaigns.repository.get(settings_id(session))
        except AggregateNotFoundError:
            return None
        return found

    def view(self, session: str) -> SettingsView:
        """Return the session's settings now (all unset if nobody ever set one)."""
        record = self.record_of(session)
        if record is None:
            return SettingsView(session, NumberSettings(), 0, None, None)
        return SettingsView(
            session, record.settings, record.version, record.changed_at, record.changed_by
        )

    def settings_of(self, session: str) -> NumberSettings:
        """Return the session's settings now."""
        return self.view(session).settings

    def change(self, session: str, changes: Mapping[str, object], *, by: str) -> SettingsView:
        """Apply `changes` to the session's settings (None clears one) and record who did.

        Raises InvalidSettingError naming the first bad field; nothing is recorded then.
        """
        valid_session(session)
        NumberSettings().changed(changes)  # every field checked before anything is loaded
        for _ in range(_ATTEMPTS):
            now = self._clock.now()
            record = self.record_of(session) or SessionSettings(session=session, at=now)
            record.change(changes=changes, by=by, at=now)
            try:
                if record.pending_events:
                    self._campaigns.save(record)
            except IntegrityError:
                continue  # another operator changed them first: apply ours to theirs
            return self.view(session)
        raise ConcurrentUpdateError(f"the settings of session {session!r} keep changing; try again")

    def sessions(self) -> list[str]:
        """Return the sessions that have settings of their own, in the order they got them."""
        names: list[str] = []
        after = 0
        while True:
            page = self._campaigns.recorder.select_notifications(
                start=after,
                limit=1000,
                topics=[SessionSettings.SettingsOpened.TOPIC],
                inclusive_of_start=False,
            )
            for notification in page:
                opened = self._campaigns.mapper.to_domain_event(notification)
                names.append(str(getattr(opened, "session", "")))
            if len(page) < 1000:  # noqa: PLR2004 - the page size
                return names
            after = page[-1].id

    def changes(self, session: str) -> list[dict[str, Any]]:
        """Return every change of the session's settings, oldest first: who, when, old, new."""
        events = self._campaigns.events.get(settings_id(session))
        return [
            {"by": e.by, "at": e.at.isoformat(), "old": e.old, "new": e.new}
            for e in events
            if isinstance(e, SessionSettings.SettingsChanged)
        ]
