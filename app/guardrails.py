"""The number's guardrails before each send: the `SendGates` a lane asks (app/lane_parts.py).

Every answer is exact at send time. Settings and the sends of the number's local day are
kept per session from the store's log: seeded once from the per-contact read model (its
count and its position, read together), then moved on at every call by the log's events
after that position (the intents and outcomes recorded since, and settings changes). The
lane is the session's only sender and every send has a durable intent first, so nothing
sent escapes the count (an intent without an outcome yet counts as sent). An opt-out is
the phone's record's last event; a recent contact, the read model's last message to the
chat or a later one from the log. All of a contact's reads are one call (app/gate_reads.py):
on the event loop where the store has an async driver, else in a worker thread, but for a
local file's reads, which cost less than the hop.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Final
from uuid import UUID

from eventsourcing.persistence import Notification

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.gate_reads import GateRead, GateReads, LoopGateReads, StoreGateReads
from app.ports import UNTIL_FURTHER_NOTICE, SessionStatusFact
from app.read_models import CampaignContacts
from app.session_settings import SessionSettingsBook
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.contacts import ChatId, Contact
from domain.gates import GateVerdict, Go
from domain.guardrails import (
    EarlierMessage,
    WhatsAppLimit,
    cap_verdict,
    limits_verdict,
    opt_out_verdict,
    recent_contact_verdict,
    window_verdict,
)
from domain.number_settings import NumberSettings, SessionSettings, settings_id
from domain.opt_out import OptOutEntry, entry_of, opt_out_id
from domain.session import SessionName
from domain.window import SendWindow, next_local_day_start, optional_window

_TOPICS: Final = (
    Campaign.AttemptStarted.TOPIC,
    Campaign.AttemptAbandoned.TOPIC,
    Campaign.ContactAttempted.TOPIC,
    SessionSettings.SettingsOpened.TOPIC,
    SessionSettings.SettingsChanged.TOPIC,
)
_SETTINGS_TOPICS: Final = frozenset(_TOPICS[3:])
_PAGE: Final = 1000
# Chats remembered as messaged since the seed; past this the tally starts again from the
# read model, which has caught up with them by then.
_MAX_REMEMBERED: Final = 50_000
_SENT: Final = AttemptOutcome.SENT.value
# Notifications the shared reading moved past lately, kept for tallies seeded behind it: with
# 500 numbers starting together each seed re-read (and decoded) the thousand-odd notifications
# since the read model's position, 14 ms each. Ten thousand (up to twice as many kept) is
# ten seconds of 500 numbers.
_RECENT: Final = 10_000


@dataclass
class _Tally:
    """What one number did today, as of log position `position`."""

    position: int
    settings: NumberSettings
    day_start: datetime
    day_end: datetime  # when the next local day begins: counted afresh from then
    sent_today: int
    # Chats this number messaged after the seed's position, the read model may not have them:
    # (campaign id as an int, when). Plain values: the collector never has to scan them.
    messaged: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    # Campaigns with an intent recorded and no outcome yet: counted as sent until they have one.
    in_flight: set[UUID] = field(default_factory=set)

    changed: bool = False  # the time zone changed: the day's bounds are another's

    @property
    def counted(self) -> int:
        """The day's sends, counting a send whose outcome is not recorded yet."""
        return self.sent_today + len(self.in_flight)


# A notification remembered: (position, the session it concerns or None, originator id,
# originator version, topic, state). Tuples of plain values are left alone by the collector.
_Remembered = tuple[int, str | None, int, int, str, bytes]


def _notification(remembered: _Remembered) -> Notification:
    position, _, originator_id, version, topic, state = remembered
    return Notification(
        id=position,
        originator_id=UUID(int=originator_id),
        originator_version=version,
        topic=topic,
        state=state,
    )


def _uuid(originator_id: UUID | str) -> UUID:
    """Return a notification's originator id as a UUID (a text id store gives it as text)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def whatsapp_limits(fact: SessionStatusFact | None) -> list[WhatsAppLimit]:
    """Return the limits WhatsApp imposes on the account, as WAHA last reported them."""
    if fact is None or fact.limits is None:
        return []
    found = []
    for reason, until in (
        (PauseReason.REACHOUT_TIMELOCK, fact.limits.reachout_timelock_until),
        (PauseReason.CAPPED, fact.limits.capped_until),
    ):
        if until is not None:
            found.append(WhatsAppLimit(reason, None if until == UNTIL_FURTHER_NOTICE else until))
    return found


class Guardrails:
    """The real `SendGates`: windows, caps, WhatsApp's limits, opt-outs, recent contacts.

    The log is read once for every number: each contact's read moves one shared position on,
    and each notification goes to the tally of the number it concerns. With 500 numbers
    sending, a contact costs its own few notifications, not every number's.
    """

    def __init__(
        self,
        campaigns: CampaignsApp,
        settings: SessionSettingsBook,
        contacts: CampaignContacts,
        reads: GateReads | None = None,
        loop_reads: LoopGateReads | None = None,
    ) -> None:
        """`loop_reads`, when given, answers as `reads` does, awaited on the event loop."""
        self._campaigns = campaigns
        self._settings = settings
        self._contacts = contacts
        self._reads = reads or StoreGateReads(campaigns, contacts)
        self._loop_reads = loop_reads
        self._tallies: dict[str, _Tally] = {}
        # Where every tally is current to in the log (None until the first tally is seeded).
        self._position: int | None = None
        self._status: dict[str, SessionStatusFact] = {}
        self._sessions: dict[UUID, str] = {}
        self._settings_of_id: dict[UUID, str] = {}
        self._windows: dict[UUID, SendWindow | None] = {}
        # (position, the session it concerns or None to ask again, notification) of every
        # notification after `_recent_from`, in order: between _RECENT and twice as many.
        # Kept as plain values, never scanned by the collector: tens of thousands of objects
        # alive for seconds made its collections long enough to delay sends.
        self._recent: list[_Remembered] = []
        self._recent_from: int | None = None
        # One lock over the tallies and the shared position: the reads happen outside it.
        self._guard = threading.Lock()

    def close(self) -> None:
        """Let go of what the reads hold (an adapter's own connections)."""
        close = getattr(self._reads, "close", None)
        if close is not None:
            close()

    # -- the port ---------------------------------------------------------------------------------

    def observe_status(self, fact: SessionStatusFact) -> None:
        """Remember what WAHA last said of the session (its limits are the third gate)."""
        self._status[fact.session] = fact

    async def before_send(
        self, session: SessionName, campaign: Campaign, contact: Contact, now: datetime
    ) -> GateVerdict:
        """Return whether the contact may be messaged now.

        The store is read on the loop when it can be (an async driver), else off the loop,
        but for reads of a local file, which cost less than the hop to a worker thread. The
        rare steps that block on the store (seeding a number's tally, a new day, a campaign or
        a settings change met for the first time) are taken in a worker thread.
        """
        if self._reads.local:
            return self.decide(session, campaign, contact, now)
        if self._loop_reads is not None and self._loop_reads.on_this_loop():
            verdict = await self._decide_on_loop(self._loop_reads, session, campaign, contact, now)
            if verdict is not None:
                return verdict
        return await off_loop(self.decide, session, campaign, contact, now)

    def decide(
        self, session: SessionName, campaign: Campaign, contact: Contact, now: datetime
    ) -> GateVerdict:
        """Ask the gates in order; the first that stands in the way gives the verdict (blocking)."""
        tally, read = self._current(session, now, opt_out_id(contact.phone), contact.chat_id)
        return self._verdict(session, campaign, contact, now, (tally, read))

    async def _decide_on_loop(
        self,
        reads: LoopGateReads,
        session: SessionName,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
    ) -> GateVerdict | None:
        """Decide as `decide` does, the store read on the loop; None: decide in a thread.

        Never waits for the guard on the loop (a thread may hold it while it seeds a tally).
        """
        ready = self._ready(session, now)
        if ready is None:
            return None
        _, after, recontact = ready
        read = await reads.read_on_loop(
            after=after,
            topics=_TOPICS,
            limit=_PAGE,
            opt_out_id=opt_out_id(contact.phone),
            session=session,
            chat_id=contact.chat_id if recontact else None,
        )
        if len(read.new) >= _PAGE:
            await off_loop(self._absorb, read.new)
            return None  # more to read: `decide` reads on from here
        if not self._absorb_now(read.new):
            # The guard is busy, or a campaign or a settings change is met for the first time
            # (the store is asked about it): absorbed in a thread.
            await off_loop(self._absorb, read.new)
        current = self._ready(session, now)
        if current is None:
            return None  # a settings change met meanwhile: a new zone, a day to count afresh
        tally = current[0]
        if tally.settings.recontact_after_days is not None and not read.chat_asked:
            return None  # the rule came with the catch-up: the chat was not asked about
        return self._verdict(session, campaign, contact, now, (tally, read))

    def _ready(self, session: SessionName, now: datetime) -> tuple[_Tally, int, bool] | None:
        """Return the number's tally, the shared position, whether to ask about the chat.

        None when the guard is busy, or when the number needs a seed (none yet, a new day, a
        new zone, too many chats remembered): `decide` takes those steps.
        """
        if not self._guard.acquire(blocking=False):
            return None
        try:
            tally = self._tallies.get(session)
            if (
                tally is None
                or self._position is None
                or tally.changed
                or len(tally.messaged) > _MAX_REMEMBERED
                or not tally.day_start <= now < tally.day_end
            ):
                return None
            return tally, self._position, tally.settings.recontact_after_days is not None
        finally:
            self._guard.release()

    def _needs_lookup(self, new: Sequence[Notification]) -> bool:
        """Return whether applying `new` asks the store (under the guard).

        It does for a campaign met for the first time (its session is read from its first
        event) and for a counted number's settings change (its new settings are read).
        """
        for notification in new:
            originator = _uuid(notification.originator_id)
            if notification.topic in _SETTINGS_TOPICS:
                if originator in self._settings_of_id:
                    return True  # the number's new settings are read from the store
            elif originator not in self._sessions:
                return True  # the campaign's first event says its session
        return False

    def _verdict(
        self,
        session: SessionName,
        campaign: Campaign,
        contact: Contact,
        now: datetime,
        looked: tuple[_Tally, GateRead],
    ) -> GateVerdict:
        """Ask the gates in order, given the number's tally and the store's answer."""
        tally, read = looked
        settings = tally.settings
        verdict = (
            window_verdict(settings.window, self._window_of(campaign), now)
            or cap_verdict(settings, now, tally.counted)
            or limits_verdict(whatsapp_limits(self._status.get(session)), now)
            or opt_out_verdict(self._opt_out(contact.phone, read))
        )
        if verdict is None and settings.recontact_after_days is not None:
            earlier = self._last_message(session, tally, read, contact.chat_id)
            verdict = recent_contact_verdict(earlier, now, settings.recontact_after_days)
        return verdict or Go()

    # -- what the number did ----------------------------------------------------------------------

    def sent_today(self, session: SessionName, now: datetime) -> int:
        """Return how many messages the number sent in its local day of `now` (blocking)."""
        tally, _ = self._current(session, now, opt_out_id(""), None)
        return tally.counted

    def _current(
        self, session: SessionName, now: datetime, record_id: UUID, chat_id: ChatId | None
    ) -> tuple[_Tally, GateRead]:
        """Return the number's tally caught up with the log, and the store's answer."""
        with self._guard:
            tally = self._tallies.get(session)
            if tally is None or len(tally.messaged) > _MAX_REMEMBERED:
                tally = self._start_tally(session, now)
            asked = chat_id if tally.settings.recontact_after_days is not None else None
        read = self._catch_up(record_id, session, asked)
        with self._guard:
            tally = self._tallies[session]
            if tally.changed or not tally.day_start <= now < tally.day_end:
                # A new local day (or a new time zone): counted afresh from the read model.
                tally = self._start_tally(session, now)
            return tally, read

    def _start_tally(self, session: SessionName, now: datetime) -> _Tally:
        """Seed the number's tally from the read model and bring it to the shared position.

        Called under the guard. The read model may be behind the shared position (its
        notifications after the seed are read again for this number alone) or ahead of it (the
        shared reading skips what the seed counted already).
        """
        tally = self._seed(session, now)
        self._tallies[session] = tally
        self._settings_of_id[settings_id(session)] = session
        if self._position is None:
            self._position = tally.position
        try:
            self._bring_to_position(tally, session)
        except BaseException:
            # Left behind, the tally would never count the sends it missed (the shared reading
            # is past them): the next call seeds it again.
            self._tallies.pop(session, None)
            raise
        return tally

    def _bring_to_position(self, tally: _Tally, session: SessionName) -> None:
        """Apply to a new tally what the log holds between its seed and the shared position."""
        assert self._position is not None  # noqa: S101 - set by the first seed
        after = tally.position
        if after >= self._position:
            return  # the read model is ahead: the shared reading skips what the seed counted
        if self._recent_from is not None and after >= self._recent_from:
            for remembered in self._recent_after(after):
                concerns = remembered[1]
                if concerns is None or concerns == session:
                    self._apply(_notification(remembered), only=session)
            return
        self._replay_from_log(after, session)

    def _replay_from_log(self, after: int, session: SessionName) -> None:
        """Apply to the session's tally the log after `after`, read again (no longer remembered)."""
        assert self._position is not None  # noqa: S101 - set by the first seed
        while after < self._position:
            new = self._reads.read(
                after=after,
                topics=_TOPICS,
                limit=_PAGE,
                opt_out_id=opt_out_id(""),
                session=session,
                chat_id=None,
            ).new
            for notification in new:
                if notification.id <= self._position:
                    self._apply(notification, only=session)
            after = new[-1].id if len(new) == _PAGE else self._position

    def _seed(self, session: SessionName, now: datetime) -> _Tally:
        """Count the day's sends in the read model, with the position that count reflects."""
        settings = self._settings.settings_of(session)
        day_start = settings.day_start(now)
        while True:
            position = self._contacts.position()
            sent = self._contacts.sent_count(session, day_start)
            if self._contacts.position() == position:
                break  # no batch landed in between: the count is the position's
        # Settings changed after `position` are met again by the catch-up.
        day_end = next_local_day_start(now, settings.zone)
        return _Tally(position, settings, day_start, day_end, sent)

    def _catch_up(self, record_id: UUID, session: SessionName, chat_id: ChatId | None) -> GateRead:
        """Move every tally on by the log after the shared position; return the store's answer.

        Two readers at once may read the same notifications: each is applied once, by
        whichever gets the guard first.
        """
        while True:
            with self._guard:
                after = self._position
            read = self._reads.read(
                after=after if after is not None else 0,
                topics=_TOPICS,
                limit=_PAGE,
                opt_out_id=record_id,
                session=session,
                chat_id=chat_id,
            )
            self._absorb(read.new)
            if len(read.new) < _PAGE:
                return read

    def _absorb(self, new: Sequence[Notification]) -> None:
        """Move every tally on by `new`, the log after the shared position (blocking)."""
        with self._guard:
            self._absorb_locked(new)

    def _absorb_now(self, new: Sequence[Notification]) -> bool:
        """Absorb `new` here and now, unless that would wait or ask the store; say if it did."""
        if not self._guard.acquire(blocking=False):
            return False
        try:
            if self._needs_lookup(new):
                return False
            self._absorb_locked(new)
        finally:
            self._guard.release()
        return True

    def _absorb_locked(self, new: Sequence[Notification]) -> None:
        for notification in new:
            if self._position is not None and notification.id > self._position:
                self._remember(notification, self._apply(notification), self._position)
                self._position = notification.id

    def _remember(self, notification: Notification, concerns: str | None, before: int) -> None:
        """Keep a notification the shared position moves past (under the guard)."""
        if self._recent_from is None:
            self._recent_from = before
        self._recent.append(
            (
                notification.id,
                concerns,
                _uuid(notification.originator_id).int,
                notification.originator_version,
                notification.topic,
                notification.state,
            )
        )
        if len(self._recent) > 2 * _RECENT:  # forget the oldest, in one go now and then
            forgotten = len(self._recent) - _RECENT
            self._recent_from = self._recent[forgotten - 1][0]
            del self._recent[:forgotten]

    def _recent_after(self, after: int) -> list[_Remembered]:
        """Return the remembered notifications after position `after`, oldest first."""
        return self._recent[bisect.bisect_right(self._recent, after, key=itemgetter(0)) :]

    def _apply(self, notification: Notification, only: str | None = None) -> str | None:
        """Count one notification on the tally of the number it concerns (under the guard).

        Return that number's session; None for settings and for a campaign of no known session
        (a tally seeded later applies those again, to see whether they concern it).
        """
        originator = _uuid(notification.originator_id)
        if notification.topic in _SETTINGS_TOPICS:
            named = self._settings_of_id.get(originator)
            tally = self._tallies.get(named) if named is not None else None
            if named is not None and tally is not None and only in (None, named):
                settings = self._settings.settings_of(SessionName(named))
                tally.changed = tally.changed or settings.zone != tally.settings.zone
                tally.settings = settings
            return None
        session = self._session_of(originator)
        if session is None or (only is not None and session != only):
            return session
        tally = self._tallies.get(session)
        if tally is None or notification.id <= tally.position:
            return session  # a number without a tally yet, or a send its seed counted already
        if notification.topic == Campaign.ContactAttempted.TOPIC:
            tally.in_flight.discard(originator)
            self._count(tally, self._campaigns.mapper.to_domain_event(notification))
        elif notification.topic == Campaign.AttemptStarted.TOPIC:
            tally.in_flight.add(originator)  # one send at a time per campaign
        else:
            tally.in_flight.discard(originator)  # abandoned: nothing went out
        return session

    @staticmethod
    def _count(tally: _Tally, attempted: object) -> None:
        if not isinstance(attempted, Campaign.ContactAttempted) or attempted.outcome != _SENT:
            return
        at = attempted.at or attempted.timestamp
        if at >= tally.day_start:
            tally.sent_today += 1
        known = tally.messaged.get(attempted.chat_id)
        if known is None or known[1] <= at:
            tally.messaged[attempted.chat_id] = (attempted.originator_id.int, at)

    def _session_of(self, campaign_id: UUID) -> str | None:
        """Return the session a campaign sends through: its first event says, once and for all."""
        known = self._sessions.get(campaign_id)
        if known is None:
            first = self._campaigns.recorder.select_events(campaign_id, limit=1)
            if not first:
                return None
            scheduled = self._campaigns.mapper.to_domain_event(first[0])
            known = str(getattr(scheduled, "session", ""))
            self._sessions[campaign_id] = known
        return known

    def _opt_out(self, phone: str, read: GateRead) -> OptOutEntry | None:
        """Return the contact's entry on the opt-out list, from its record's last event."""
        if read.opt_out is None:
            return None
        return entry_of(phone, self._campaigns.mapper.to_domain_event(read.opt_out))

    def _last_message(
        self, session: SessionName, tally: _Tally, read: GateRead, chat_id: ChatId
    ) -> EarlierMessage | None:
        """Return the number's last message to the chat: the read model's, or a later one."""
        found = read.last_sent
        if not read.chat_asked:
            # Asked before the rule was on (it came with the catch-up): ask now.
            found = self._contacts.last_sent(session, chat_id)
        stored = None if found is None else EarlierMessage(found[0], found[1])
        kept = tally.messaged.get(chat_id)
        if kept is None:
            return stored
        recent = EarlierMessage(UUID(int=kept[0]), kept[1])
        if stored is None or stored.at < recent.at:
            return recent
        return stored

    def _window_of(self, campaign: Campaign) -> SendWindow | None:
        """Return the campaign's own window option (read from its record once)."""
        if campaign.id not in self._windows:
            self._windows[campaign.id] = optional_window(campaign.options.get("window"))
        return self._windows[campaign.id]
