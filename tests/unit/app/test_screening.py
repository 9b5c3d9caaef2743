"""Screening an audience in one pass: the first rows of each problem named, the rest counted."""

from __future__ import annotations

import pytest

from app.audience import ContactInput
from app.campaigns import CampaignsApp
from app.errors import InvalidCampaignError, MissingVariablesError
from app.scheduling import ScheduleCampaign, validated_audience
from app.screening import AudienceScreen, MemoryContactSpool
from domain.content import MessageTemplate
from tests.builders import a_campaign, contacts

TEXT = "Hi {nmae}, {a} {b}"


def lacking_rows(n: int) -> list[ContactInput]:
    """Rows lacking {a}, {b}, both or neither in turn; none has {nmae}."""
    rows = []
    for i in range(n):
        variables = {"a": "x"} if i % 4 in {1, 3} else {}
        variables |= {"b": "y"} if i % 4 in {0, 3} else {}
        rows.append(ContactInput(f"+49151{10000000 + i}", f"Name {i}", variables))
    return rows


def test_a_capped_screen_words_missing_values_as_the_full_listing_does() -> None:
    request = a_campaign(contacts=lacking_rows(400), text=TEXT)
    template = MessageTemplate(TEXT)
    with pytest.raises(MissingVariablesError) as full:
        validated_audience(request, template, None)
    screen = AudienceScreen(template, None, MemoryContactSpool(), listed=20)
    for position, row in enumerate(request.contacts):
        screen.add(position, row)

    with pytest.raises(MissingVariablesError) as capped:
        screen.outcome([])

    assert len(full.value.missing) == 400
    assert len(capped.value.missing) == 80  # the first 20 of each set of missing fields
    assert (
        str(capped.value)
        == str(full.value)
        == ("300 contact(s) lack variables the template needs and no default is set")
    )
    assert capped.value.problems == full.value.problems
    assert str(capped.value.problems[1]["reason"]).startswith(
        "300 contact(s) have empty values the template needs ({a} 200, {b} 200)"
    )


def test_bad_variable_names_past_those_listed_are_counted() -> None:
    rows = [ContactInput(f"+49151{10000000 + i}", None, {"First Name": "Ana"}) for i in range(3)]
    screen = AudienceScreen(MessageTemplate("Hi"), None, MemoryContactSpool(), listed=2)
    for position, row in enumerate(rows):
        screen.add(position, row)

    with pytest.raises(InvalidCampaignError) as raised:
        screen.outcome([])

    assert type(raised.value) is InvalidCampaignError  # not refused for its phones
    assert [p["field"] for p in raised.value.problems] == [
        "contacts[0].variables.First Name",
        "contacts[1].variables.First Name",
        "contacts",
    ]
    assert raised.value.problems[2]["reason"] == (
        "and 1 more variable name(s) that cannot be one (the first 2 are listed)"
    )


def test_more_than_1000_duplicates_are_listed_to_1000_and_counted(
    campaigns: CampaignsApp,
) -> None:
    kept = contacts(1500)
    repeated = [ContactInput(c.phone.replace("+", "00"), "again") for c in kept[:1200]]
    request: ScheduleCampaign = a_campaign(contacts=kept + repeated)

    result = campaigns.schedule_campaign(request)

    assert result.view.total == 1500
    assert result.duplicates_total == 1200
    assert len(result.duplicates) == 1000
    assert result.duplicates[-1].position == 2499
    assert result.duplicates[-1].first_position == 999
