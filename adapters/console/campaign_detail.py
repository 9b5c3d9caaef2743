"""The campaign page: its counters and bar, what the operator may do, its life, its message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from markupsafe import Markup

from adapters.console.diagram import state_diagram
from adapters.console.formatting import count
from adapters.console.progress import (
    PauseWords,
    ProgressBar,
    eta_words,
    pause_words,
    progress_bar,
    schedule_words,
)
from adapters.console.words import TimelineEntry, timeline_entries
from app.audit.timeline import Milestone
from app.campaign_facts import CampaignFacts
from app.views import CampaignView
from domain.contacts import Contact
from domain.content import MessageTemplate
from domain.errors import DomainError
from domain.lifecycle import CampaignStatus, allowed_commands

# The commands an operator gives, in the order their buttons appear.
_BUTTONS = (("pause", "Pause"), ("resume", "Resume"), ("cancel", "Cancel campaign…"))


@dataclass(frozen=True)
class Counter:
    """One figure of the campaign: a label and its value, written for people."""

    label: str
    value: str
    kind: str


@dataclass(frozen=True)
class Action:
    """A button the campaign's state allows. Cancel asks first (its own page)."""

    command: str
    label: str
    href: str
    confirm: bool
    # For the retry: how many in-doubt contacts it may include, in words (empty: none).
    in_doubt: str = ""


@dataclass(frozen=True)
class MessageSample:
    """The campaign's message as written, and as its first contact receives it."""

    text: str
    defaults: dict[str, str]
    image: dict[str, Any] | None
    sample_to: str | None
    sample: str | None


@dataclass(frozen=True)
class CampaignDetail:
    """Everything the campaign page shows above the contacts table."""

    id: UUID
    name: str
    session: str
    status: str
    progress: ProgressBar
    counters: list[Counter]
    pause: PauseWords | None
    eta: str | None
    schedule: str | None
    actions: list[Action]
    retry: Action | None
    diagram: Markup
    timeline: list[TimelineEntry]
    message: MessageSample
    settings: list[Counter]

    @property
    def href(self) -> str:
        """The campaign's page."""
        return f"/ui/campaigns/{self.id}"


def actions_for(view: CampaignView) -> list[Action]:
    """Return the buttons the transition table allows from the campaign's status."""
    allowed = set(allowed_commands(view.status))
    base = f"/ui/campaigns/{view.id}"
    return [
        Action(command, label, f"{base}/{command}", confirm=command == "cancel")
        for command, label in _BUTTONS
        if command in allowed
    ]


def retry_action(view: CampaignView, offered: bool) -> Action | None:
    """Return the retry button when the service offers it and there is something to retry."""
    if not offered or view.status not in {CampaignStatus.COMPLETED, CampaignStatus.CANCELLED}:
        return None
    if view.failed + view.in_doubt == 0:
        return None
    label = f"Retry the {count(view.failed)} failed contact(s) as a new campaign"
    in_doubt = count(view.in_doubt) if view.in_doubt else ""
    href = f"/ui/campaigns/{view.id}/retry"
    return Action("retry", label, href, confirm=False, in_doubt=in_doubt)


def message_sample(view: CampaignView, first: Contact | None) -> MessageSample:
    """Return the message and its rendering for the first contact (when it can be rendered)."""
    text = str(view.message.get("text", ""))
    defaults = {str(k): str(v) for k, v in dict(view.message.get("defaults") or {}).items()}
    image = view.message.get("image")
    sample_to, sample = None, None
    if first is not None:
        template = MessageTemplate(text, defaults)
        values = first.template_values()
        try:
            if not template.missing_for(values):
                sample = template.render(values)
                sample_to = first.name or first.phone
        except DomainError:
            sample = None
    return MessageSample(
        text, defaults, image if isinstance(image, dict) else None, sample_to, sample
    )


def _counters(view: CampaignView) -> list[Counter]:
    handled = view.sent + view.failed + view.skipped + view.in_doubt
    return [
        Counter("Contacts", count(view.total), "total"),
        Counter("Sent", count(view.sent), "sent"),
        Counter("Failed", count(view.failed), "failed"),
        Counter("Skipped", count(view.skipped), "skipped"),
        Counter("In doubt", count(view.in_doubt), "in_doubt"),
        Counter("Still to send", count(max(view.total - handled, 0)), "pending"),
        Counter("Delivered", count(view.delivered), "delivered"),
        Counter("Read", count(view.read), "read"),
    ]


def _settings(view: CampaignView) -> list[Counter]:
    pacing = view.pacing
    low, high = float(pacing.get("min_seconds", 0.0)), float(pacing.get("max_seconds", 0.0))
    options = view.options
    flags = [
        ("auto_resume", "resumes by itself after a session outage"),
        ("check_numbers", "checks each number is on WhatsApp"),
        ("simulate_typing", "shows “typing…” before each message"),
    ]
    chosen = [words for key, words in flags if options.get(key, key == "auto_resume")]
    return [
        Counter("Pacing", f"a random wait of {low:g} to {high:g} s between contacts", "pacing"),
        Counter("Options", "; ".join(chosen) or "none", "options"),
        Counter(
            "Stops after",
            f"{options.get('max_consecutive_failures', 5)} failed sends in a row",
            "failures",
        ),
    ]


def campaign_detail(
    view: CampaignView,
    facts: CampaignFacts | None,
    milestones: Sequence[Milestone],
    first: Contact | None,
    *,
    now: datetime,
    retry_offered: bool = False,
) -> CampaignDetail:
    """Return the campaign page's model from the campaign's view and its milestones."""
    return CampaignDetail(
        id=view.id,
        name=view.name,
        session=view.session,
        status=view.status.value,
        progress=progress_bar(view),
        counters=_counters(view),
        pause=pause_words(view, facts, now),
        eta=eta_words(view, now),
        schedule=schedule_words(view, now),
        actions=actions_for(view),
        retry=retry_action(view, retry_offered),
        diagram=state_diagram(view.status.value),
        timeline=timeline_entries(milestones, view.total, now),
        message=message_sample(view, first),
        settings=_settings(view),
    )
