"""The audit read side: a campaign as it was, its replay and timeline, log checks and export."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Notification, StoredEvent
from eventsourcing.utils import TopicError, resolve_topic

from app.campaigns import CampaignsApp, campaign_view
from app.errors import AppError, CampaignNotFoundError
from app.views import CampaignView, jsonable
from domain.campaign import AttemptOutcome, Campaign

Event = DomainEventProtocol[UUID]
CAMPAIGN_TOPICS: Final = "waha_campaigns:Campaign."
# The names `events --type` accepts: every concrete event a campaign records.
CAMPAIGN_EVENT_TYPES: Final = tuple(
    name
    for name, value in vars(Campaign).items()
    if isinstance(value, type)
    and issubclass(value, Campaign.Event)
    and value not in {Campaign.Event, Campaign.Created}
)
PAGE_SIZE: Final = 5000
# The library's own envelope fields; everything else an event stores is its data.
_ENVELOPE: Final = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "class_version"}
)


class ReplayError(AppError):
    """The log cannot be replayed (a gap, or no creation event): `verify` says why."""


class NoStateThenError(AppError):
    """The campaign has no such version, or did not exist yet at that time."""


def event_time(domain_event: Event) -> datetime:
    """Return when the event happened: its business time (the Clock's) or else its record time."""
    at = getattr(domain_event, "at", None)
    if isinstance(at, datetime):
        return at
    recorded: datetime = getattr(domain_event, "timestamp")  # noqa: B009 - not on the Protocol
    return recorded


def event_data(domain_event: Event) -> dict[str, Any]:
    """Return the event's own fields, without the library's envelope."""
    return {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE}


# -- replay -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayStep:
    """One event and the campaign's state right after it."""

    version: int
    type: str
    time: datetime
    data: dict[str, Any]
    state: CampaignView

    def as_dict(self) -> dict[str, Any]:
        """Return the step as JSON-native data."""
        return {
            "version": self.version,
            "type": self.type,
            "time": self.time.isoformat(),
            "data": exported(self.data),
            "state": self.state.as_dict(),
        }


def campaign_events(app: CampaignsApp, campaign_id: UUID, *, lte: int | None = None) -> list[Event]:
    """Return the campaign's events up to version `lte`, straight from the log, in order.

    CampaignNotFoundError for an unknown id; NoStateThenError if the log ends before `lte`.
    """
    events = list(app.events.get(campaign_id, lte=lte))
    if not events or not isinstance(events[0], Campaign.Event):
        raise CampaignNotFoundError(campaign_id)
    last = events[-1].originator_version
    if lte is not None and last < lte:
        raise NoStateThenError(f"campaign {campaign_id} has versions 1 to {last} only")
    return events


def replay(events: Iterable[Event], *, until: datetime | None = None) -> Iterator[ReplayStep]:
    """Fold the events into a campaign, yielding its state after each one.

    Stops before the first event later than `until`. The fold never reads a snapshot, so the
    state comes from the events alone; ReplayError if they cannot make a campaign.
    """
    for domain_event, campaign in _fold(events, until):
        yield _step(domain_event, campaign)


def _fold(events: Iterable[Event], until: datetime | None) -> Iterator[tuple[Event, Campaign]]:
    # Yields the one campaign object, mutated in place: read it before asking for the next.
    campaign: Campaign | None = None
    for domain_event in events:
        if until is not None and event_time(domain_event) > until:
            return
        version, name = domain_event.originator_version, type(domain_event).__name__
        if not isinstance(domain_event, Campaign.Event) or (
            campaign is None and not isinstance(domain_event, Campaign.CampaignScheduled)
        ):
            raise ReplayError(f"version {version} is a {name}, not the campaign's next event")
        try:
            campaign = domain_event.mutate(campaign)
        except Exception as error:  # noqa: BLE001 - any fold failure is a broken log, named
            raise ReplayError(f"version {version} ({name}) does not follow: {error}") from None
        if campaign is None:
            raise ReplayError(f"version {version} ({name}) left no campaign")
        yield domain_event, campaign


def _step(domain_event: Event, campaign: Campaign) -> ReplayStep:
    return ReplayStep(
        version=domain_event.originator_version,
        type=type(domain_event).__name__,
        time=event_time(domain_event),
        data=event_data(domain_event),
        state=campaign_view(campaign),
    )


def state_at(
    app: CampaignsApp,
    campaign_id: UUID,
    *,
    version: int | None = None,
    at: datetime | None = None,
) -> ReplayStep:
    """Return the campaign as it was right after `version`, or at time `at`, or now."""
    events = campaign_events(app, campaign_id, lte=version)
    folded = None
    for folded in _fold(events, until=at):  # noqa: B007 - the last one is the answer
        pass
    if folded is None:
        when = at.isoformat() if at else "that time"
        raise NoStateThenError(
            f"campaign {campaign_id} was scheduled at {event_time(events[0]).isoformat()}, "
            f"after {when}"
        )
    return _step(*folded)


# -- timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    """A moment in the campaign's life: scheduled, started, paused, resumed, ended."""

    time: datetime
    version: int
    what: str
    index: int | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class PacingUsed:
    """The waits the runner actually chose between contacts."""

    waits: int
    min_seconds: float
    mean_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Timeline:
    """A campaign's life from its events: milestones, outcome counts and the pacing used."""

    campaign_id: UUID
    name: str
    status: str
    total: int
    counts: dict[str, int]
    configured_pacing: dict[str, float]
    milestones: list[Milestone]
    pacing: PacingUsed | None

    @property
    def ending(self) -> Milestone | None:
        """Return the milestone that stopped the campaign, or None while it runs or waits."""
        endings = {"Paused": "paused", "Cancelled": "cancelled", "Completed": "completed"}
        wanted = endings.get(self.status)
        last = next((m for m in reversed(self.milestones) if m.what == wanted), None)
        return last if wanted is not None else None

    def as_dict(self) -> dict[str, Any]:
        """Return the timeline as JSON-native data."""
        ending = self.ending
        return {**jsonable(asdict(self)), "ending": jsonable(asdict(ending)) if ending else None}


_STATUS_AFTER: Final[dict[type[object], str]] = {
    Campaign.CampaignScheduled: "Scheduled",
    Campaign.CampaignStarted: "Running",
    Campaign.CampaignPaused: "Paused",
    Campaign.CampaignResumed: "Running",
    Campaign.CampaignCompleted: "Completed",
    Campaign.CampaignCancelled: "Cancelled",
}


def timeline(events: Iterable[Event]) -> Timeline:
    """Return the campaign's timeline; the first event must be its CampaignScheduled."""
    iterator = iter(events)
    first = next(iterator, None)
    if not isinstance(first, Campaign.CampaignScheduled):
        raise ReplayError("a campaign's log starts with CampaignScheduled")
    milestones = [
        Milestone(
            first.at,
            first.originator_version,
            "scheduled",
            detail=f"for {first.scheduled_for.isoformat()}",
        )
    ]
    status = "Scheduled"
    counts: Counter[str] = Counter({o.value: 0 for o in AttemptOutcome})
    waits: list[float] = []
    for domain_event in iterator:
        status = _STATUS_AFTER.get(type(domain_event), status)
        milestone = _milestone(domain_event)
        if milestone is not None:
            milestones.append(milestone)
        elif isinstance(domain_event, Campaign.ContactAttempted):
            counts[domain_event.outcome] += 1
        elif isinstance(domain_event, Campaign.PacingDelayChosen):
            waits.append(domain_event.seconds)
    pacing = None
    if waits:
        pacing = PacingUsed(len(waits), min(waits), sum(waits) / len(waits), max(waits))
    return Timeline(
        campaign_id=first.originator_id,
        name=first.name,
        status=status,
        total=int(first.audience["size"]),
        counts=dict(counts),
        configured_pacing=dict(first.pacing),
        milestones=milestones,
        pacing=pacing,
    )


def _milestone(domain_event: Event) -> Milestone | None:  # noqa: PLR0911 - one per kind
    time, version = event_time(domain_event), domain_event.originator_version
    match domain_event:
        case Campaign.CampaignStarted():
            return Milestone(time, version, "started")
        case Campaign.CampaignPaused(index=index, reason=reason, detail=detail):
            return Milestone(time, version, "paused", index, reason, detail)
        case Campaign.CampaignResumed(index=index, automatic=automatic):
            return Milestone(
                time, version, "resumed", index, "automatic" if automatic else "manual"
            )
        case Campaign.AutoResumeWithheld(detail=detail):
            return Milestone(time, version, "auto-resume withheld", detail=detail)
        case Campaign.CampaignCompleted():
            return Milestone(time, version, "completed")
        case Campaign.CampaignCancelled(index=index, reason=reason):
            return Milestone(time, version, "cancelled", index, reason)
    return None


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """A broken invariant of a campaign's log; `rule` is a stable code scripts can match."""

    rule: str
    detail: str
    version: int | None = None


@dataclass(frozen=True)
class CampaignAudit:
    """The result of checking one campaign's log."""

    campaign_id: UUID
    events: int
    violations: list[Violation]

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-native data."""
        return dict(jsonable(asdict(self)))


@dataclass(frozen=True)
class LoggedEvent:
    """A stored event as read for checking: decoded, or the reason it could not be."""

    version: int
    event: Event | None
    problem: str = ""


class LogChecker:
    """Checks a campaign's log, one stored event at a time in version order, trusting no state."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.events = 0
        self.last_version = 0
        self.size: int | None = None
        self.counts: Counter[str] = Counter({o.value: 0 for o in AttemptOutcome})
        self._handled: dict[int, int] = {}  # contact index -> version of its outcome
        self._next_unhandled = 0
        self._sends: Counter[int] = Counter()
        self._attempts: dict[str, int] = {}  # attempt id -> index, for sends not yet resolved
        self._ended: str | None = None

    def _flag(self, rule: str, detail: str, version: int | None) -> None:
        self.violations.append(Violation(rule, detail, version))

    def feed(self, logged: LoggedEvent) -> None:
        """Check the next stored event."""
        version = logged.version
        self.events += 1
        if version != self.last_version + 1:
            missing = (
                f"version {self.last_version + 1} is missing"
                if version == self.last_version + 2
                else f"versions {self.last_version + 1} to {version - 1} are missing"
            )
            self._flag("version-gap", missing, version)
        self.last_version = version
        if logged.event is None:
            self._flag("undecodable-event", logged.problem, version)
            return
        name = type(logged.event).__name__
        if self._ended is not None:
            self._flag("event-after-end", f"a {name} after {self._ended}", version)
        if isinstance(logged.event, Campaign.CampaignScheduled):
            if self.events != 1:
                self._flag("scheduled-twice", "a second CampaignScheduled", version)
            self.size = int(logged.event.audience["size"])
            return
        if self.events == 1:
            self._flag("not-scheduled-first", f"the log starts with {name}", version)
        self._check_event(logged.event, version)

    def _check_event(self, domain_event: Event, version: int) -> None:
        match domain_event:
            case Campaign.AttemptStarted(index=index, attempt_id=attempt_id):
                self._attempts[attempt_id] = index
            case Campaign.AttemptAbandoned(attempt_id=attempt_id):
                self._attempts.pop(attempt_id, None)
            case Campaign.ContactAttempted():
                self._outcome(domain_event, version)
            case Campaign.CampaignPaused(index=index):
                self._check_index("pause-index", "pauses", index, version)
            case Campaign.CampaignResumed(index=index):
                self._check_index("resume-index", "resumes", index, version)
            case Campaign.CampaignCancelled(index=index):
                self._check_index("cancel-index", "is cancelled", index, version)
                self._ended = "CampaignCancelled"
            case Campaign.CampaignCompleted(totals=totals):
                self._completed(totals, version)
                self._ended = "CampaignCompleted"

    def _outcome(self, attempted: Campaign.ContactAttempted, version: int) -> None:
        index, attempt_id = attempted.index, attempted.attempt_id
        if self.size is not None and not 0 <= index < self.size:
            self._flag("contact-out-of-range", f"contact {index} of {self.size}", version)
        if index in self._handled:
            self._flag(
                "contact-handled-twice",
                f"contact {index} already had an outcome at version {self._handled[index]}",
                version,
            )
        if attempt_id is not None:
            started = self._attempts.pop(attempt_id, None)
            if started is None:
                detail = f"no AttemptStarted for send {attempt_id} to contact {index}"
                self._flag("outcome-without-attempt", detail, version)
            elif started != index:
                detail = f"send {attempt_id} was started for contact {started}, not {index}"
                self._flag("attempt-mismatch", detail, version)
        if attempted.outcome == AttemptOutcome.SENT.value:
            self._sends[index] += 1
            if self._sends[index] == 2:  # noqa: PLR2004 - the second send is the violation
                detail = f"contact {index} was sent the message twice"
                self._flag("contact-sent-twice", detail, version)
        self.counts[attempted.outcome] += 1
        self._handled[index] = version
        while self._next_unhandled in self._handled:
            self._next_unhandled += 1

    def _check_index(self, rule: str, verb: str, index: int, version: int) -> None:
        if index != self._next_unhandled:
            self._flag(
                rule,
                f"campaign {verb} at contact {index}, but the next unhandled contact is "
                f"{self._next_unhandled}",
                version,
            )

    def _completed(self, totals: dict[str, int], version: int) -> None:
        size = self.size or 0
        missing = [i for i in range(size) if i not in self._handled]
        if missing:
            first = ", ".join(str(i) for i in missing[:5])
            more = ", ..." if len(missing) > 5 else ""  # noqa: PLR2004 - a short sample
            self._flag(
                "completed-incomplete",
                f"completed with {len(missing)} of {size} contacts without an outcome "
                f"({first}{more})",
                version,
            )
        if _nonzero(totals) != _nonzero(self.counts):
            detail = (
                f"the totals say {_counts_text(totals)}, "
                f"but the events count {_counts_text(self.counts)}"
            )
            self._flag("totals-mismatch", detail, version)

    def finish(
        self, campaign_id: UUID, final_counts: dict[str, int] | None, load_problem: str | None
    ) -> CampaignAudit:
        """Compare the rebuilt state's counts with the events' and return the result."""
        if load_problem is not None:
            detail = f"the campaign cannot be rebuilt: {load_problem}"
            self._flag("state-unloadable", detail, None)
        elif final_counts is not None and _nonzero(final_counts) != _nonzero(self.counts):
            detail = (
                f"the rebuilt state counts {_counts_text(final_counts)}, "
                f"but the events count {_counts_text(self.counts)}"
            )
            self._flag("counts-mismatch", detail, None)
        return CampaignAudit(campaign_id, self.events, list(self.violations))


def _nonzero(counts: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(_nonzero(counts).items())) or "nothing"


def logged_events(
    app: CampaignsApp, campaign_id: UUID, *, page_size: int = PAGE_SIZE
) -> Iterator[LoggedEvent]:
    """Yield the campaign's stored events, decoded where possible, page by page from the recorder.

    CampaignNotFoundError if the id has no events, or they are not a campaign's.
    """
    after = 0
    while page := app.recorder.select_events(campaign_id, gt=after, limit=page_size):
        if after == 0 and not page[0].topic.startswith(CAMPAIGN_TOPICS):
            break
        for stored in page:
            yield _logged(app, stored)
        after = page[-1].originator_version
    if after == 0:
        raise CampaignNotFoundError(campaign_id)


def is_campaign(app: CampaignsApp, campaign_id: UUID) -> bool:
    """Return whether `campaign_id` has a campaign's events (read, never rebuilt)."""
    first = app.recorder.select_events(campaign_id, limit=1)
    return bool(first) and first[0].topic.startswith(CAMPAIGN_TOPICS)


def audit_campaign(
    app: CampaignsApp, campaign_id: UUID, *, page_size: int = PAGE_SIZE
) -> CampaignAudit:
    """Check one campaign's log, read straight from the recorder, against its rebuilt state."""
    checker = LogChecker()
    for logged in logged_events(app, campaign_id, page_size=page_size):
        checker.feed(logged)
    final_counts, problem = None, None
    try:
        final_counts = dict(app.load(campaign_id, version=checker.last_version).counts)
    except Exception as error:  # noqa: BLE001 - a log that cannot be loaded is a finding
        problem = f"{type(error).__name__}: {error}"
    return checker.finish(campaign_id, final_counts, problem)


def _logged(app: CampaignsApp, stored: StoredEvent) -> LoggedEvent:
    try:
        return LoggedEvent(stored.originator_version, app.mapper.to_domain_event(stored))
    except Exception as error:  # noqa: BLE001 - an unreadable event is a finding, not a crash
        return LoggedEvent(stored.originator_version, None, f"{type(error).__name__}: {error}")


def campaign_ids_in_log(app: CampaignsApp, *, page_size: int = PAGE_SIZE) -> list[UUID]:
    """Return every id with campaign events, in order of first appearance.

    Scans the whole log rather than the CampaignScheduled events, so a campaign whose first
    event was lost is still found (and fails verification).
    """
    ids: dict[UUID, None] = {}
    for notification in _notifications(app, page_size):
        if notification.topic.startswith(CAMPAIGN_TOPICS):
            ids.setdefault(UUID(str(notification.originator_id)), None)
    return list(ids)


# -- export -----------------------------------------------------------------------------------


def _notifications(app: CampaignsApp, page_size: int) -> Iterator[Notification]:
    after = 0
    while page := app.recorder.select_notifications(
        start=after, limit=page_size, inclusive_of_start=False
    ):
        yield from page
        after = page[-1].id


def export_events(
    app: CampaignsApp,
    campaign_id: UUID | None = None,
    *,
    page_size: int = PAGE_SIZE,
    fast: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield every stored event (or one campaign's) as JSON-native rows, in log order.

    A row has position, aggregate_id, version, type, topic, time (business time, else the
    record time), recorded_at and data. The fast path reads the stored JSON directly; events
    it cannot read exactly as the mapper would (an old class version, an unknown type, a
    compressed or encrypted store) go through the mapper. An event nothing can read is a row
    with type null and a `problem`, so the export stays whole.
    """
    mapper = app.mapper
    fast = (
        fast
        and mapper.cipher is None
        and mapper.compressor is None
        and isinstance(mapper.transcoder, JSONTranscoder)
    )
    for notification in _notifications(app, page_size):
        if campaign_id is not None and notification.originator_id != campaign_id:
            continue
        row = _fast_row(notification) if fast else None
        if row is None:
            try:
                row = _mapped_row(notification, mapper.to_domain_event(notification))
            except Exception as error:  # noqa: BLE001 - the export goes on and says where
                row = _unreadable_row(notification, f"{type(error).__name__}: {error}")
        yield row


class _NotPlainError(Exception):
    """A transcoded value the fast path does not know."""


def _plain(obj: dict[str, Any]) -> Any:
    # The library's JSON transcoder writes {"_type_": name, "_data_": text} for non-JSON types;
    # its ISO and decimal texts are already what `jsonable` would print.
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:  # noqa: PLR2004 - that shape
        kind, data = obj["_type_"], obj["_data_"]
        if kind in {"datetime_iso", "decimal_str"}:
            return data
        if kind == "uuid_hex":
            return str(UUID(data))
        raise _NotPlainError(kind)
    return obj


# Built once: json.loads(..., object_hook=...) builds a new decoder on every call.
_STATE_DECODER: Final = json.JSONDecoder(object_hook=_plain)


@lru_cache(maxsize=256)
def _event_class(topic: str) -> tuple[str, int]:
    cls = resolve_topic(topic)
    return cls.__name__, int(getattr(cls, "class_version", 1))


def _fast_row(notification: Notification) -> dict[str, Any] | None:
    try:
        name, class_version = _event_class(notification.topic)
        state: dict[str, Any] = _STATE_DECODER.decode(notification.state.decode("utf-8"))
    except (_NotPlainError, ValueError, TopicError, ImportError, AttributeError):
        return None  # the mapper decides, and names the problem if it cannot read it either
    if state.pop("class_version", 1) != class_version:
        return None  # needs upcasting, which works on decoded values: the mapper's job
    recorded = state.pop("timestamp", None)
    if not isinstance(recorded, str):
        return None
    state.pop("originator_topic", None)
    at = state.get("at")
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": name,
        "topic": notification.topic,
        "time": at if isinstance(at, str) else recorded,
        "recorded_at": recorded,
        "data": state,
    }


def _unreadable_row(notification: Notification, problem: str) -> dict[str, Any]:
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": None,
        "topic": notification.topic,
        "problem": problem,
    }


def _mapped_row(notification: Notification, domain_event: Event) -> dict[str, Any]:
    recorded: datetime = getattr(domain_event, "timestamp")  # noqa: B009 - not on the Protocol
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": type(domain_event).__name__,
        "topic": notification.topic,
        "time": event_time(domain_event).isoformat(),
        "recorded_at": recorded.isoformat(),
        "data": exported(event_data(domain_event)),
    }


def exported(value: Any) -> Any:
    """Return `value` as JSON-native data, decimals as their text (as the store keeps them)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): exported(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exported(v) for v in value]
    return jsonable(value)
