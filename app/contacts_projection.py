"""The per-contact read model's projection: campaign, audience, outcome and ack events to rows.

Built on the library's `Projection` (its `process_event` handles one event with its tracking
in one transaction), but run by our own `LogFollower`, not the library's ProjectionRunner:
the runner needs the recorder's subscriptions, which SQLite (our default store) does not
have. The follower hands over a batch at a time and the batch is recorded in one transaction
with its position: one fsync per batch, so a rebuild of a million outcomes takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import singledispatchmethod
from typing import Any, Final, cast
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from app.campaigns import CampaignsApp
from app.log_follower import Followed
from app.read_models import (
    AckReported,
    CampaignAdded,
    Change,
    ContactRow,
    ContactsView,
    OutcomeRecorded,
)
from domain.audience import CHUNK_SIZE, Audience
from domain.campaign import Campaign
from domain.delivery import Deliveries, deliveries_id

# The name its position is recorded under: SQLite's tracking table is one per database, so
# it is the projection's name, not the followed application's.
PROJECTION_NAME: Final = "campaign_contacts"
# Audience chunks listed per transaction: 5,000 rows keep SQLite's write lock for tens of
# milliseconds, never seconds, however large the audience.
CHUNKS_PER_TRANSACTION: Final = 5
TOPICS: Final = frozenset(
    {
        Campaign.CampaignScheduled.TOPIC,
        Campaign.ContactAttempted.TOPIC,
        Deliveries.DeliveryReported.TOPIC,
    }
)

Listed = Callable[[UUID, int], None]


class ContactsProjection(Projection[TrackingRecorder]):
    """Keeps a `ContactsView` current from the log; a `LogFollower` subscriber."""

    name = PROJECTION_NAME
    topics = tuple(sorted(TOPICS))  # the library's type; the follower takes any collection

    def __init__(
        self, view: ContactsView, campaigns: CampaignsApp, *, on_listed: Listed | None = None
    ) -> None:
        super().__init__(cast("TrackingRecorder", view))
        self.contacts = view
        self._campaigns = campaigns
        # Told (campaign, contacts listed so far) after each listing transaction: progress.
        self._on_listed = on_listed
        self._applied = 0

    # -- the library's entry point: one event, one transaction ---------------------------------

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Record what `domain_event` changes, with its tracking, in one transaction."""
        self._list_audience(domain_event)
        self.contacts.record(self._changes(domain_event), tracking)

    # -- the follower's subscriber: one batch, one transaction --------------------------------

    def start(self) -> int:
        """Return the position the view has recorded."""
        self._applied = self.contacts.position()
        return self._applied

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """List the audiences of new campaigns, then record the batch with position `reached`.

        Listing is idempotent and resumable, so a crash in between only repeats work; the
        position moves only with the batch's changes.
        """
        for followed in batch:
            self._list_audience(followed.event)
        changes = [change for f in batch for change in self._changes(f.event)]
        # `since`: another process following the same log may have applied part of it.
        self.contacts.record(changes, Tracking(PROJECTION_NAME, reached), since=self._applied)
        self._applied = reached

    # -- translation --------------------------------------------------------------------------

    @singledispatchmethod
    def _changes(self, domain_event: object) -> list[Change]:  # noqa: ARG002 - dispatch
        return []  # another topic: only the position moves

    @_changes.register
    def _(self, domain_event: Campaign.CampaignScheduled) -> list[Change]:
        campaign_id = domain_event.originator_id
        size = int(domain_event.audience["size"])
        return [CampaignAdded(campaign_id, deliveries_id(campaign_id), domain_event.session, size)]

    @_changes.register
    def _(self, domain_event: Campaign.ContactAttempted) -> list[Change]:
        at = domain_event.at or domain_event.timestamp  # version 1 outcomes have no `at`
        return [
            OutcomeRecorded(
                domain_event.originator_id,
                domain_event.index,
                domain_event.outcome,
                domain_event.message_id,
                domain_event.error,
                at,
            )
        ]

    @_changes.register
    def _(self, domain_event: Deliveries.DeliveryReported) -> list[Change]:
        return [AckReported(domain_event.originator_id, domain_event.index, domain_event.ack)]

    # -- audiences ------------------------------------------------------------------------------

    def _list_audience(self, domain_event: object) -> None:
        if not isinstance(domain_event, Campaign.CampaignScheduled):
            return
        campaign_id = domain_event.originator_id
        audience_id = UUID(str(domain_event.audience["id"]))
        listed = self.contacts.contacts_listed(campaign_id)
        # Chunk k is the audience's version k + 2 (AudienceFrozen is version 1).
        after_version = 1 + listed // CHUNK_SIZE
        while True:
            chunks = list(
                self._campaigns.events.get(
                    audience_id, gt=after_version, limit=CHUNKS_PER_TRANSACTION
                )
            )
            if not chunks:
                return
            rows = list(_rows(chunks))
            self.contacts.add_contacts(campaign_id, domain_event.session, rows)
            after_version = chunks[-1].originator_version
            if self._on_listed is not None:
                self._on_listed(campaign_id, rows[-1].index + 1 if rows else listed)


def _rows(chunks: Iterable[object]) -> Iterable[ContactRow]:
    for chunk in chunks:
        if not isinstance(chunk, Audience.ContactsAdded):
            continue
        for offset, record in enumerate(chunk.contacts):
            name = record.get("name")
            yield ContactRow(
                index=chunk.start + offset,
                phone=str(record["phone"]),
                chat_id=str(record["chat_id"]),
                name=None if name is None else str(name),
            )
