"""CampaignsApp: the campaign use cases on the event store, and the queries auditors need."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Notification, Recording
from eventsourcing.persistence import StoredEvent as LibraryStoredEvent

from app.errors import (
    CampaignNotFoundError,
    ConcurrentUpdateError,
)
from app.idempotency import IdempotencyConflictError, RequestKey
from app.ports import Clock, ContactSpool
from app.scheduling import (
    ScheduleCampaign,
    ScheduledCampaign,
    screened_audience,
    validated_schedule,
)
from app.screening import MemoryContactSpool
from app.store import LockedRepository
from app.views import (
    CampaignView,
    ContactReport,
    HistoryEntry,
    StoredEvent,
    campaign_view,
    history_entry,
)
from domain.audience import CHUNK_SIZE, Audience, content_hash
from domain.campaign import Campaign, request_key_id
from domain.contacts import Contact
from domain.content import MessageContent, MessageTemplate
from domain.delivery import Deliveries, deliveries_id
from domain.lane import Lane, lane_id
from domain.lifecycle import CampaignStatus
from domain.notification import Notifier
from domain.session import SessionName

T = TypeVar("T")
# Told of every recording this process makes, right after its transaction (see on_recorded).
RecordedListener = Callable[[Sequence[Recording[UUID]]], None]
# Aggregates that grow with every run (not the audience: it is written once, never changed).
_SNAPSHOTTED = (Campaign, Deliveries, Lane, Notifier)

# A snapshot every 100 events: a resume replays at most 99 events on top of it (a few
# milliseconds), for one small extra write per 50 contacts of a campaign and of its lane.
DEFAULT_SNAPSHOT_INTERVAL = 100
# A campaign's delivery record: its snapshot holds an entry per message (see _snapshot).
DELIVERIES_SNAPSHOT_INTERVAL = 1000
# Audience chunks (of CHUNK_SIZE contacts) per transaction when an audience is recorded or read.
AUDIENCE_CHUNKS_PER_WRITE = 20
SCHEDULED_TOPIC = Campaign.CampaignScheduled.TOPIC


class CampaignsApp(Application[UUID]):
    """Campaigns on the event store: commands record events, queries replay them."""

    name = "campaigns"
    # Snapshots are taken in `save` from the campaign just saved: the library's automatic
    # snapshotting would replay up to an interval's worth of events from the store for each.
    is_snapshotting_enabled = True
    # When a campaign should finish (app/eta.py), set by the composition root; views carry
    # it as `eta`. None (stores opened for audits): no estimate.
    estimate_finish: Callable[[Campaign], datetime | None] | None = None

    def __init__(
        self,
        *,
        clock: Clock,
        env: Mapping[str, str] | None = None,
        default_region: str | None = None,
        snapshot_interval: int | None = None,
        spools: Callable[[], ContactSpool] = MemoryContactSpool,
    ) -> None:
        """`spools` makes where an audience's contacts wait between screening and recording."""
        self.clock = clock
        self.default_region = default_region
        self.spools = spools
        self._saves = itertools.count(1)
        self.saves_so_far = 0
        self._recorded_listeners: list[RecordedListener] = []
        super().__init__(env=dict(env) if env is not None else None)
        self.snapshot_interval = snapshot_interval or DEFAULT_SNAPSHOT_INTERVAL

    def construct_repository(self) -> Repository[UUID]:
        """Return the library's repository with the cached path made thread-safe."""
        base = super().construct_repository()
        return LockedRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=_cache_size(self.env.get(self.AGGREGATE_CACHE_MAXSIZE)),
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Record pending events; counts this process's saves so its read caches stay fresh."""
        recordings = super().save(*objs, **kwargs)
        self.saves_so_far = next(self._saves)
        self._snapshot(objs, recordings)
        return recordings

    def on_recorded(self, listener: RecordedListener) -> None:
        """Tell `listener` of each of this process's recordings once committed, in its thread.

        It runs inside `save` (before the command returns, so a read cache it invalidates
        serves the writer its own write), or inside `recorded`, on the event loop, for the
        group commit's writes (PostgreSQL, a SQLite file): it must be quick, never block,
        never raise.
        """
        self._recorded_listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # The library's hook after each save, both `save` and `record` (the group commit).
        for listener in self._recorded_listeners:
            listener(recordings)

    def _snapshot(self, saved: tuple[Any, ...], recordings: list[Recording[UUID]]) -> None:
        """Snapshot each saved aggregate whose new events crossed a multiple of its interval."""
        if self.snapshots is None:
            return
        due = self._snapshots_due(saved, [r.domain_event for r in recordings])
        if due:
            # Not in the events' transaction, which is harmless: snapshots are rebuildable.
            self.snapshots.put(due)

    def _snapshots_due(
        self, saved: Sequence[Any], events: Sequence[DomainEventProtocol[UUID]]
    ) -> list[DomainEventProtocol[UUID]]:
        """Return a snapshot of each aggregate whose `events` crossed a multiple of its interval."""
        if self.snapshots is None:
            return []
        versions: dict[UUID, list[int]] = {}
        for event in events:
            versions.setdefault(event.originator_id, []).append(event.originator_version)
        due: list[DomainEventProtocol[UUID]] = []
        for aggregate in saved:
            if not isinstance(aggregate, _SNAPSHOTTED):
                continue
            interval = self.snapshot_interval
            if isinstance(aggregate, Deliveries):
                # Its state holds every message's ack, so each snapshot grows with the
                # campaign: taken ten times less often, as the old default had it.
                interval = max(interval, DELIVERIES_SNAPSHOT_INTERVAL)
            if any(v % interval == 0 for v in versions.get(aggregate.id, ())):
                due.append(type(aggregate).Snapshot.take(aggregate))
        return due

    # -- scheduling -------------------------------------------------------------------------

    def schedule_campaign(
        self, request: ScheduleCampaign, *, request_key: RequestKey | None = None
    ) -> ScheduledCampaign:
        """Validate the request, freeze its audience and record the campaign.

        Raises InvalidCampaignError (or a subclass naming every bad row); nothing is recorded
        unless everything is valid. With a `request_key`, a repeat of the request that made a
        campaign answers that campaign (`replayed`), and another request under the same key
        raises IdempotencyConflictError; the check comes first, so a repeat is never refused
        for what changed since (a schedule now in the past).
        """
        if request_key is not None:
            found = self.keyed_campaign(request_key)
            if found is not None:
                return ScheduledCampaign(found, [], replayed=True)
        now = self.clock.now()
        template = MessageTemplate(request.text, dict(request.defaults), tuple(request.variants))
        spool = self.spools()
        try:
            screened = screened_audience(request, template, self.default_region, spool)
            scheduled_for = validated_schedule(request.scheduled_for, now)
            audience = Audience.frozen(screened.content_hash, screened.size)
            campaign = Campaign(
                name=request.name.strip(),
                session=request.session,
                message=MessageContent(template, request.image).to_record(),
                audience=audience.reference(),
                scheduled_for=scheduled_for,
                pacing=request.pacing.to_record(),
                options=request.options.to_record(),
                at=now,
                idempotency=None if request_key is None else request_key.record(),
            )
            self.record_audience_from(_contacts_of(spool), audience)
        finally:
            spool.close()
        try:
            self.save(campaign)
        except IntegrityError:
            # Only a campaign id derived from a key can be taken: by the same key, meanwhile.
            found = None if request_key is None else self.keyed_campaign(request_key)
            if found is None:
                raise
            return ScheduledCampaign(found, [], replayed=True)
        return ScheduledCampaign(
            self._view(campaign), screened.duplicates, duplicates_total=screened.duplicates_total
        )

    def check_campaign(self, request: ScheduleCampaign) -> None:
        """Raise what scheduling `request` would (InvalidCampaignError, ...); record nothing."""
        template = MessageTemplate(request.text, dict(request.defaults), tuple(request.variants))
        spool = self.spools()
        try:
            screened_audience(request, template, self.default_region, spool)
        finally:
            spool.close()
        validated_schedule(request.scheduled_for, self.clock.now())

    def record_audience(
        self, contacts: Sequence[Contact], audience: Audience | None = None
    ) -> Audience:
        """Record the audience of `contacts` in parts, unless it is recorded whole already.

        Each transaction carries AUDIENCE_CHUNKS_PER_WRITE chunks, so no write holds the
        whole audience. An audience is named by its content, so one left half written (a crash,
        or another request writing the same contacts now) is finished from where it stands:
        a campaign is recorded only after its whole audience. `audience` is the one
        `Audience.frozen` made of these contacts, if the caller has it already.
        """
        if audience is None:
            audience = Audience.frozen(content_hash(contacts), len(contacts))
        return self.record_audience_from(
            lambda start: itertools.islice(contacts, start, None), audience
        )

    def record_audience_from(
        self, read: Callable[[int], Iterable[Contact]], audience: Audience
    ) -> Audience:
        """Record `audience` as record_audience does, its contacts read as they are written.

        `read(start)` yields the audience's contacts from index `start` on, in order (from a
        spool on disk, say), so an audience of a million is never held whole; `audience` is
        `Audience.frozen` of those contacts.
        """
        while True:
            last = self.recorder.select_events(audience.id, desc=True, limit=1)
            recorded = last[0].originator_version - 1 if last else -1  # chunks, or -1: none
            if recorded == audience.chunks:
                return audience
            if recorded >= 0:
                audience = self._audience_as_recorded(audience.id, last[0])
            try:
                self._add_chunks(audience, read)
            except IntegrityError:
                continue  # someone else wrote the same part meanwhile: carry on after theirs
            return audience

    def _audience_as_recorded(self, audience_id: UUID, last: LibraryStoredEvent) -> Audience:
        """Return the audience as the store holds it, from its first event and its last.

        Never the cached object (a failed write must not leave it ahead of the store), and
        never a replay of every chunk: the last chunk's `start` says how many came before.
        """
        frozen = self.mapper.to_domain_event(self.recorder.select_events(audience_id, limit=1)[0])
        assert isinstance(frozen, Audience.AudienceFrozen)  # noqa: S101 - its first event
        audience: object = frozen.mutate(None)
        assert isinstance(audience, Audience)  # noqa: S101 - made by its own event
        chunk = self.mapper.to_domain_event(last)
        if isinstance(chunk, Audience.ContactsAdded):
            audience.added = chunk.start + len(chunk.contacts)
            audience.version = chunk.originator_version  # the chunks before it are stored
        return audience

    def _add_chunks(self, audience: Audience, read: Callable[[int], Iterable[Contact]]) -> None:
        contacts = iter(read(audience.added))
        added = 0
        while not audience.complete:
            audience.add_chunk(list(itertools.islice(contacts, CHUNK_SIZE)))
            added += 1
            if added % AUDIENCE_CHUNKS_PER_WRITE == 0:
                self.save(audience)
        if audience.pending_events:
            self.save(audience)

    def audience_contacts(self, audience_id: UUID) -> Iterator[Contact]:
        """Yield the audience's contacts in order, reading a few chunks at a time."""
        version = 1  # AudienceFrozen; chunk k is version k + 2
        while True:
            events = list(self.events.get(audience_id, gt=version, limit=AUDIENCE_CHUNKS_PER_WRITE))
            for domain_event in events:
                if isinstance(domain_event, Audience.ContactsAdded):
                    yield from (Contact.from_record(r) for r in domain_event.contacts)
            if len(events) < AUDIENCE_CHUNKS_PER_WRITE:
                return
            version = events[-1].originator_version

    def keyed_campaign(self, request_key: RequestKey) -> CampaignView | None:
        """Return the campaign this request key made, or None if it made none yet.

        Raises IdempotencyConflictError when the key made a campaign from another request.
        """
        campaign_id = request_key_id(request_key.key)
        if not self.recorder.select_events(campaign_id, limit=1):
            return None
        campaign = self._get(campaign_id)
        recorded = campaign.idempotency or {}
        if recorded.get("body_sha256") != request_key.body_sha256:
            raise IdempotencyConflictError(request_key.key, campaign_id)
        return self.campaign(campaign_id)

    # -- the operator's commands --------------------------------------------------------------
    # A Running campaign belongs to its session's lane, the one writer of what a live run
    # records (attempts, pauses, completion): the operator asks it by recording a request,
    # which the lane obeys at its next contact boundary. Idle campaigns are changed here.

    def start_campaign(self, campaign_id: UUID) -> CampaignView:
        """Start a scheduled campaign: its session's lane picks it up."""
        return self._command(campaign_id, lambda c: c.start(at=self.clock.now()))

    def request_pause(
        self, campaign_id: UUID, *, detail: str = "paused by operator"
    ) -> CampaignView:
        """Ask a running campaign's lane to pause it at the next contact boundary."""
        return self._command(
            campaign_id, lambda c: c.request_pause(detail=detail, at=self.clock.now())
        )

    def resume_campaign(self, campaign_id: UUID, *, automatic: bool = False) -> CampaignView:
        """Resume a paused campaign at the contact it paused on."""
        return self._command(
            campaign_id, lambda c: c.resume(at=self.clock.now(), automatic=automatic)
        )

    def cancel_campaign(
        self, campaign_id: UUID, *, reason: str = "cancelled by operator"
    ) -> CampaignView:
        """End a campaign for good: at once when idle, at its lane's next boundary when running."""

        def cancel(campaign: Campaign) -> None:
            if campaign.state is CampaignStatus.RUNNING:
                campaign.request_cancel(reason=reason, at=self.clock.now())
            else:
                campaign.cancel(reason=reason, at=self.clock.now())

        return self._command(campaign_id, cancel)

    def _command(self, campaign_id: UUID, command: Callable[[Campaign], None]) -> CampaignView:
        campaign = self._get(campaign_id)
        command(campaign)
        self.save_campaign(campaign)
        return self._view(campaign)

    def save_campaign(self, campaign: Campaign) -> None:
        """Record the campaign's pending events; ConcurrentUpdateError if someone wrote first."""
        try:
            self.save(campaign)
        except IntegrityError:
            raise ConcurrentUpdateError(
                f"campaign {campaign.id} was changed by someone else; reload and try again"
            ) from None

    def record(
        self, events: Sequence[DomainEventProtocol[UUID]], aggregates: Sequence[Any]
    ) -> None:
        """Record `events` (collected from `aggregates`) in one transaction, then snapshot.

        The group committer's write: events of many lanes' campaigns at once, one fsync.
        Raises the library's IntegrityError when any event's version was taken meanwhile;
        nothing is recorded then.
        """
        # The library's `save` would ask of each event whether it is one (a runtime Protocol
        # check, ~15 us on Python 3.11, four per message); these were collected as events.
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.events.extend(events)
        recordings = self._record(processing)
        self._notify(recordings)
        self.saves_so_far = next(self._saves)
        self._snapshot(tuple(aggregates), recordings)

    def to_store(
        self, events: Sequence[DomainEventProtocol[UUID]], aggregates: Sequence[Any]
    ) -> tuple[list[LibraryStoredEvent], list[LibraryStoredEvent]]:
        """Return `events` as the store keeps them, and the snapshots due with them.

        For a writer of its own (app/committer.py's `LoopWriter`), which records both in one
        transaction and then calls `recorded`.
        """
        stored = [self.mapper.to_stored_event(event) for event in events]
        if self.snapshots is None:
            return stored, []
        due = self._snapshots_due(aggregates, events)
        return stored, [self.snapshots.mapper.to_stored_event(snapshot) for snapshot in due]

    def recorded(
        self,
        events: Sequence[DomainEventProtocol[UUID]],
        stored: Sequence[LibraryStoredEvent],
        positions: Sequence[int],
    ) -> None:
        """Tell this process that `events`, stored as `stored`, are recorded at `positions`."""
        recordings = [
            Recording(
                event,
                Notification(
                    id=position,
                    originator_id=row.originator_id,
                    originator_version=row.originator_version,
                    topic=row.topic,
                    state=row.state,
                ),
            )
            for event, row, position in zip(events, stored, positions, strict=True)
        ]
        self._notify(recordings)
        self.saves_so_far = next(self._saves)

    def last_version(self, aggregate_id: UUID) -> int:
        """Return the version of the aggregate's last recorded event (0 when none)."""
        found = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return found[0].originator_version if found else 0

    # -- queries ------------------------------------------------------------------------------

    def campaign(self, campaign_id: UUID) -> CampaignView:
        """Return the campaign's current view, with delivery counts from acks."""
        view = self._view(self._get(campaign_id))
        deliveries = self.deliveries_of(campaign_id)
        if deliveries is None:
            return view
        counts = deliveries.counts()
        return replace(view, delivered=counts["delivered"], read=counts["read"])

    def deliveries_of(self, campaign_id: UUID) -> Deliveries | None:
        """Return the campaign's delivery record, or None before its first ack."""
        try:
            found: Deliveries = self.repository.get(deliveries_id(campaign_id))
        except AggregateNotFoundError:
            return None
        return found

    def load(self, campaign_id: UUID, version: int | None = None) -> Campaign:
        """Return the campaign aggregate, as it is now or as it was at `version`."""
        return self._get(campaign_id, version)

    def campaign_at(self, campaign_id: UUID, version: int) -> CampaignView:
        """Return the campaign's view as it was right after event `version`."""
        return campaign_view(self._get(campaign_id, version))  # as it was: no estimate

    def audience_chunk(self, audience_id: UUID, chunk: int) -> list[Contact]:
        """Return the audience's contacts `chunk * CHUNK_SIZE` onwards (at most CHUNK_SIZE).

        One stored event, whatever the audience's size: chunk k is the audience's event
        version k + 2 (after AudienceFrozen), so resuming at contact 999,999 reads one chunk.
        """
        version = chunk + 2
        for domain_event in self.events.get(audience_id, gt=version - 1, lte=version):
            if isinstance(domain_event, Audience.ContactsAdded):
                return [Contact.from_record(r) for r in domain_event.contacts]
        return []

    def lane(self, session: SessionName) -> Lane | None:
        """Return the session's lane record, or None before anyone sent through it."""
        try:
            found: Lane = self.repository.get(lane_id(session))
        except AggregateNotFoundError:
            return None
        return found

    def audience_of(self, campaign_id: UUID) -> list[Contact]:
        """Return the campaign's contacts in their frozen order."""
        return list(self.audience_contacts(self._get(campaign_id).audience_id))

    def history(
        self, campaign_id: UUID, *, after_version: int = 0, limit: int | None = None
    ) -> list[HistoryEntry]:
        """Return the campaign's events after `after_version`, oldest first."""
        self._get(campaign_id)
        events = self.events.get(campaign_id, gt=after_version or None, limit=limit)
        return [history_entry(e) for e in events]

    def iter_history(self, campaign_id: UUID) -> Iterator[DomainEventProtocol[UUID]]:
        """Yield the campaign's domain events, oldest first."""
        self._get(campaign_id)
        return iter(self.events.get(campaign_id))

    def stored_events(self, *, after: int = 0, limit: int = 100) -> list[StoredEvent]:
        """Return events of the whole store after position `after`, in commit order."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        result = []
        for notification in notifications:
            domain_event = self.mapper.to_domain_event(notification)
            entry = history_entry(domain_event)
            result.append(
                StoredEvent(
                    position=notification.id,
                    campaign_id=domain_event.originator_id,
                    version=entry.version,
                    type=entry.type,
                    timestamp=entry.timestamp,
                    data=entry.data,
                )
            )
        return result

    def campaign_ids(self, *, after: int = 0, limit: int = 1000) -> list[tuple[int, UUID]]:
        """Return (position, id) of campaigns scheduled after position `after`, oldest first."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, topics=[SCHEDULED_TOPIC], inclusive_of_start=False
        )
        return [(n.id, UUID(str(n.originator_id))) for n in notifications]

    def all_campaign_ids(self) -> list[UUID]:
        """Return the ids of every campaign, oldest first."""
        ids: list[UUID] = []
        after = 0
        while page := self.campaign_ids(after=after):
            ids.extend(campaign_id for _, campaign_id in page)
            after = page[-1][0]
        return ids

    def contact_reports(self, campaign_id: UUID) -> list[ContactReport]:
        """Return what happened to each contact, in audience order."""
        contacts = self.audience_of(campaign_id)
        deliveries = self.deliveries_of(campaign_id)
        outcomes: dict[int, Campaign.ContactAttempted] = {}
        for domain_event in self.events.get(campaign_id):
            if isinstance(domain_event, Campaign.ContactAttempted):
                outcomes[domain_event.index] = domain_event
        reports = []
        for index, contact in enumerate(contacts):
            attempted = outcomes.get(index)
            reports.append(
                ContactReport(
                    index=index,
                    chat_id=str(contact.chat_id),
                    phone=contact.phone,
                    name=contact.name,
                    outcome=attempted.outcome if attempted else None,
                    message_id=attempted.message_id if attempted else None,
                    error=attempted.error if attempted else None,
                    attempted_at=(attempted.at or attempted.timestamp) if attempted else None,
                    delivery=deliveries.state_of(index) if deliveries else None,
                )
            )
        return reports

    def _get(self, campaign_id: UUID, version: int | None = None) -> Campaign:
        try:
            campaign: object = self.repository.get(campaign_id, version=version)
        except AggregateNotFoundError:
            raise CampaignNotFoundError(campaign_id) from None
        if not isinstance(campaign, Campaign):
            raise CampaignNotFoundError(campaign_id)
        return campaign

    def _view(self, campaign: Campaign) -> CampaignView:
        view = campaign_view(campaign)
        if self.estimate_finish is not None:
            view = replace(view, eta=self.estimate_finish(campaign))
        return view


def _cache_size(text: str | None) -> int | None:
    return int(text) if text else None


def _contacts_of(spool: ContactSpool) -> Callable[[int], Iterator[Contact]]:
    def read(start: int) -> Iterator[Contact]:
        return (contact for _, contact in spool.kept(start))

    return read
