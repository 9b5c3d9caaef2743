"""PATCH /campaigns/{id}: a Scheduled campaign changed by a CampaignEdited event, old and new."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.bootstrap import Services
from app.audience import ContactInput
from app.scheduling import ScheduleCampaign
from domain.campaign import Campaign
from tests.adapters.http_api.conftest import (
    Client,
    assert_problem,
    create,
    finish_runs,
    runtime_of,
)
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock


async def scheduled_later(client: Client, clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    later = (clock.now() + timedelta(days=1)).isoformat()
    return await create(client, scheduled_for=later, **overrides)


async def test_an_edit_records_the_changed_fields_old_and_new(
    client: Client, services: Services, clock: ManualClock
) -> None:
    created = await scheduled_later(client, clock)
    moved = clock.now() + timedelta(days=2)

    response = await client.patch(
        f"/campaigns/{created['id']}",
        json={
            "name": "Winter sale",
            "message": {"text": "Hi {name}, winter is here"},
            "pacing": {"max_seconds": 90},
            "scheduled_for": moved.isoformat(),
            "options": {"check_numbers": True},
        },
    )
    edited = await response.json()

    assert response.status == 200
    assert sorted(edited["changed"]) == ["message", "name", "options", "pacing", "scheduled_for"]
    assert (edited["name"], edited["message"]["text"]) == (
        "Winter sale",
        "Hi {name}, winter is here",
    )
    assert edited["pacing"] == {"min_seconds": 0.0, "max_seconds": 90.0}
    assert edited["options"]["check_numbers"] is True
    last = list(services.campaigns.iter_history(created["id"]))[-1]
    assert isinstance(last, Campaign.CampaignEdited)
    assert last.changes["name"] == {"old": "Spring sale", "new": "Winter sale"}
    assert last.changes["scheduled_for"]["new"] == moved
    assert last.changes["pacing"]["old"] == {"min_seconds": 0.0, "max_seconds": 0.0}


async def test_the_edited_campaign_sends_what_it_became(
    client: Client, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    created = await scheduled_later(client, clock)

    response = await client.patch(
        f"/campaigns/{created['id']}",
        json={"message": {"text": "New text for {name}"}, "scheduled_for": None},
    )
    await finish_runs(client)

    assert response.status == 200
    assert [s.text for s in gateway.sent] == ["New text for Contact 0", "New text for Contact 1"]


async def test_an_edit_that_changes_nothing_records_nothing(
    client: Client, services: Services, clock: ManualClock
) -> None:
    created = await scheduled_later(client, clock)

    response = await client.patch(f"/campaigns/{created['id']}", json={"name": "Spring sale"})

    assert response.status == 200
    assert (await response.json())["changed"] == []
    assert services.campaigns.campaign(created["id"]).version == created["version"]


async def test_bad_fields_are_refused_all_at_once_and_nothing_is_recorded(
    client: Client, services: Services, clock: ManualClock
) -> None:
    created = await scheduled_later(client, clock)

    response = await client.patch(
        f"/campaigns/{created['id']}",
        json={
            "name": "Fine name",
            "message": {"text": "Hi {first_name}"},
            "pacing": {"min_seconds": 500, "max_seconds": 10},
            "scheduled_for": (clock.now() - timedelta(days=1)).isoformat(),
        },
    )
    problem = await response.json()

    assert response.status == 422
    assert_problem(problem, 422)
    assert {e["field"] for e in problem["errors"]} == {"message.text", "pacing", "scheduled_for"}
    view = services.campaigns.campaign(created["id"])
    assert (view.version, view.name) == (created["version"], "Spring sale")


async def test_a_campaign_that_started_cannot_be_edited_and_the_answer_names_its_state(
    client: Client, services: Services
) -> None:
    created = await create(client)  # due now: it starts at once
    await finish_runs(client)

    response = await client.patch(f"/campaigns/{created['id']}", json={"name": "Too late"})
    problem = await response.json()

    assert response.status == 409
    assert problem["campaign_status"] == "Completed"
    assert "cannot edit a campaign that is Completed" in problem["detail"]
    assert services.campaigns.campaign(created["id"]).name == "Spring sale"


async def test_unknown_fields_are_refused(client: Client, clock: ManualClock) -> None:
    created = await scheduled_later(client, clock)

    response = await client.patch(f"/campaigns/{created['id']}", json={"session": "other"})

    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "session"


async def test_a_schedule_moved_later_is_what_the_scheduler_keeps_to(
    client: Client, services: Services, clock: ManualClock
) -> None:
    created = await scheduled_later(client, clock)  # due in a day
    await runtime_of(client).supervisor.tick()  # the scheduler knows the campaign
    moved = clock.now() + timedelta(days=3)
    await client.patch(f"/campaigns/{created['id']}", json={"scheduled_for": moved.isoformat()})

    clock.advance(2 * 86_400)
    await runtime_of(client).supervisor.tick()
    two_days_on = services.campaigns.campaign(created["id"]).status
    clock.advance(86_400)
    await runtime_of(client).supervisor.tick()

    assert two_days_on == "Scheduled"
    assert services.campaigns.campaign(created["id"]).status != "Scheduled"


async def test_an_edit_sets_the_campaigns_window_names_a_bad_one_and_null_removes_it(
    client: Client, clock: ManualClock
) -> None:
    created = await scheduled_later(client, clock)
    path = f"/campaigns/{created['id']}"
    window = {"days": ["sat"], "start": "10:00", "end": "12:00", "timezone": "Europe/Berlin"}

    given = await (await client.patch(path, json={"options": {"window": window}})).json()
    bad = await client.patch(path, json={"options": {"window": {**window, "timezone": "Mars"}}})
    kept = await (await client.patch(path, json={"options": {"priority": 2}})).json()
    removed = await (await client.patch(path, json={"options": {"window": None}})).json()

    assert given["options"]["window"]["days"] == ["sat"]
    refused = await bad.json()
    assert_problem(refused, 422)
    assert "options.window.timezone" in [p["field"] for p in refused["errors"]]
    assert kept["options"]["window"]["days"] == ["sat"]
    assert removed["options"].get("window") is None
    assert removed["changed"] == ["options"]


def test_every_option_a_campaign_is_created_with_can_be_edited() -> None:
    from adapters.http_api.schemas import OptionsIn, OptionsPatch

    # A new option added to OptionsIn must be added to OptionsPatch too, or edits refuse it.
    assert set(OptionsPatch.model_fields) == set(OptionsIn.model_fields)


async def test_a_text_edit_counts_every_contact_lacking_its_variable_and_names_the_first(
    client: Client, services: Services, clock: ManualClock
) -> None:
    # The audience is checked a contact at a time, as a creation checks it (never held
    # whole): the answer counts all who lack {city} and names the first rows only.
    people = [
        ContactInput(phone=f"+4915{110000000 + i}", variables={"city": "Berlin"} if i < 5 else {})
        for i in range(2500)
    ]
    later = clock.now() + timedelta(days=1)
    created = services.campaigns.schedule_campaign(
        ScheduleCampaign(name="Big", text="Hi", contacts=people, scheduled_for=later)
    ).view.as_dict()  # past the test client's upload limit, so scheduled directly

    response = await client.patch(
        f"/campaigns/{created['id']}", json={"message": {"text": "Hi from {city}"}}
    )
    problem = await response.json()

    assert response.status == 422
    (rows,) = [e for e in problem["errors"] if e["field"] == "contacts"]
    assert rows["reason"].startswith("2495 contact(s) have empty values the template needs")
    assert "contacts[5] +4915110000005 lacks {city}" in rows["reason"]
    assert rows["reason"].endswith("; and 2475 more")  # 20 named
    assert services.campaigns.campaign(created["id"]).version == created["version"]
