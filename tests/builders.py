"""Tiny builders for campaigns and contacts in tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

from app.audience import ContactInput
from app.campaigns import CampaignsApp
from app.scheduling import ScheduleCampaign
from domain.campaign import AttemptOutcome
from domain.pacing import CampaignOptions, Pacing
from tests.fakes.system import ManualClock


def contacts(n: int, *, start: int = 0) -> list[ContactInput]:
    """Return `n` distinct valid German mobile numbers with names."""
    return [
        ContactInput(phone=f"+49151{10000000 + start + i}", name=f"Contact {start + i}")
        for i in range(n)
    ]


def messaged(campaigns: CampaignsApp, clock: ManualClock, n: int) -> Any:
    """Return the id of a running campaign that messaged its `n` contacts, a minute apart."""
    campaign_id = scheduled(campaigns, n)
    campaigns.start_campaign(campaign_id)
    campaign = campaigns.load(campaign_id)
    for i in range(n):
        chat = f"49151{10000000 + i}@c.us"
        clock.advance(60)
        campaign.begin_attempt(index=i, attempt_id=f"a{i}", chat_id=chat, at=clock.now())
        campaign.record_attempt(
            index=i,
            chat_id=chat,
            outcome=AttemptOutcome.SENT,
            message_id=f"m{i}",
            attempt_id=f"a{i}",
            at=clock.now(),
        )
    campaigns.save(campaign)
    return campaign_id


def a_campaign(
    n: int = 3,
    *,
    text: str = "Hello {name}",
    pacing: Pacing | None = None,
    options: CampaignOptions | None = None,
    **overrides: Any,
) -> ScheduleCampaign:
    """Return a request for a campaign of `n` contacts with zero pacing by default."""
    return ScheduleCampaign(
        name=overrides.pop("name", "Spring sale"),
        text=text,
        contacts=overrides.pop("contacts", contacts(n)),
        pacing=pacing or Pacing(0, 0),
        options=options or CampaignOptions(),
        **overrides,
    )


def scheduled(app: CampaignsApp, n: int = 3, **kwargs: Any) -> Any:
    """Schedule a campaign of `n` contacts and return its id."""
    return app.schedule_campaign(a_campaign(n, **kwargs)).view.id


Cell = str | float | date | datetime | bool | None


def xlsx(*rows: Sequence[Cell], first_row: int = 1, other_sheet: bool = False) -> bytes:
    """Return an XLSX workbook whose first sheet holds `rows` from row `first_row` on."""
    book = Workbook()
    sheet = book.worksheets[0]
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=first_row + offset, column=column, value=value)
    if other_sheet:
        book.create_sheet("later").append(["phone", "name"])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
