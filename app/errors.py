"""Errors the application raises to its callers (HTTP API, CLI, runner)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from app.audience import AudienceReport
    from domain.contacts import MissingVariable


class AppError(Exception):
    """A use case that cannot be carried out; nothing was changed."""


class CampaignNotFoundError(AppError):
    """No campaign has this id."""

    def __init__(self, campaign_id: UUID) -> None:
        super().__init__(f"no campaign with id {campaign_id}")
        self.campaign_id = campaign_id


class ConcurrentUpdateError(AppError):
    """Someone else recorded an event on the campaign first; reload and decide again."""


class InvalidCampaignError(AppError):
    """A campaign that cannot be scheduled as given; `problems` names each field."""

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class AudienceRejectedError(InvalidCampaignError):
    """Contacts with phone numbers that cannot be used; every bad row is reported."""

    def __init__(self, report: AudienceReport) -> None:
        rows: list[dict[str, object]] = [
            {"field": f"contacts[{r.position}].phone", "value": r.value, "reason": r.reason}
            for r in report.invalid
        ]
        super().__init__(f"{len(rows)} contact(s) have unusable phone numbers", rows)
        self.report = report


class MissingVariablesError(InvalidCampaignError):
    """The template needs variables that some contacts lack and that have no default."""

    def __init__(self, missing: list[MissingVariable]) -> None:
        rows: list[dict[str, object]] = [
            {
                "field": f"contacts[{m.position}].variables",
                "value": m.phone,
                "reason": "missing " + ", ".join(m.fields),
            }
            for m in missing
        ]
        super().__init__(
            f"{len(rows)} contact(s) lack variables the template needs and no default is set",
            rows,
        )
        self.missing = missing
