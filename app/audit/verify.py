"""Verification: a campaign's stored log checked against its invariants, trusting no state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from app.audit.log import CAMPAIGN_TOPICS, PAGE_SIZE, Event, notifications
from app.campaigns import CampaignsApp
from app.errors import CampaignNotFoundError
from app.views import jsonable
from domain.campaign import AttemptOutcome, Campaign
from domain.numbering import contact_words


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
        return dict(jsonable(self))


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
        self._started = False

    def _contact(self, index: int) -> str:
        return contact_words(index, self.size)

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
        # Noting a retry is the one thing a finished campaign may still record.
        if self._ended is not None and not isinstance(logged.event, Campaign.RetryScheduled):
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
            case Campaign.CampaignStarted():
                self._started = True
            case Campaign.CampaignEdited() if self._started:
                self._flag("edit-after-start", "a CampaignEdited after CampaignStarted", version)
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
            detail = f"{self._contact(index)} is outside the audience"
            self._flag("contact-out-of-range", detail, version)
        if index in self._handled:
            self._flag(
                "contact-handled-twice",
                f"{self._contact(index)} already had an outcome at version {self._handled[index]}",
                version,
            )
        if attempt_id is not None:
            started = self._attempts.pop(attempt_id, None)
            if started is None:
                detail = f"no AttemptStarted for send {attempt_id} to {self._contact(index)}"
                self._flag("outcome-without-attempt", detail, version)
            elif started != index:
                detail = (
                    f"send {attempt_id} was started for {self._contact(started)}, "
                    f"not {self._contact(index)}"
                )
                self._flag("attempt-mismatch", detail, version)
        if attempted.outcome == AttemptOutcome.SENT.value:
            self._sends[index] += 1
            if self._sends[index] == 2:  # noqa: PLR2004 - the second send is the violation
                detail = f"{self._contact(index)} was sent the message twice"
                self._flag("contact-sent-twice", detail, version)
        self.counts[attempted.outcome] += 1
        self._handled[index] = version
        while self._next_unhandled in self._handled:
            self._next_unhandled += 1

    def _check_index(self, rule: str, verb: str, index: int, version: int) -> None:
        if index != self._next_unhandled:
            self._flag(
                rule,
                f"campaign {verb} at {self._contact(index)}, but the next unhandled one is "
                f"{self._contact(self._next_unhandled)}",
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
    for notification in notifications(app.recorder, page_size):
        if notification.topic.startswith(CAMPAIGN_TOPICS):
            ids.setdefault(UUID(str(notification.originator_id)), None)
    return list(ids)
