"""POST /campaigns/{id}/retry: a new campaign of the failed contacts, linked both ways."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from adapters.bootstrap import Services
from app.campaigns import CampaignsApp
from domain.campaign import AttemptOutcome, Campaign
from tests import histories
from tests.adapters.http_api.conftest import Client, assert_problem, finish_runs
from tests.builders import a_campaign
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock

OUTCOMES = [
    AttemptOutcome.SENT,
    AttemptOutcome.FAILED,
    AttemptOutcome.IN_DOUBT,
    AttemptOutcome.FAILED,
    AttemptOutcome.SKIPPED,
]


def finished_campaign(
    campaigns: CampaignsApp, clock: ManualClock, outcomes: list[AttemptOutcome], *, end: bool = True
) -> UUID:
    """A campaign whose contacts had these outcomes, written as its lane would have."""
    later = clock.now() + timedelta(minutes=1)
    view = campaigns.schedule_campaign(a_campaign(len(outcomes), scheduled_for=later)).view
    clock.advance(120)
    campaigns.start_campaign(view.id)
    for index, outcome in enumerate(outcomes):
        chat = f"49151{10000000 + index}@c.us"
        if outcome is AttemptOutcome.SKIPPED:
            histories.record_attempt(
                campaigns, view.id, index=index, chat_id=chat, outcome=outcome, reason="opted_out"
            )
        else:
            histories.send(campaigns, view.id, index, chat, outcome=outcome)
    if end:
        histories.complete_campaign(campaigns, view.id)
    return view.id


async def retry(client: Client, campaign_id: UUID, **body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/campaigns/{campaign_id}/retry", json=body)
    return response.status, await response.json()


async def test_a_retry_sends_again_to_the_failed_contacts_only(
    client: Client, services: Services, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    old_id = finished_campaign(services.campaigns, clock, OUTCOMES)

    status, new = await retry(client, old_id, outcomes=["failed"])
    await finish_runs(client)

    assert status == 201
    assert (new["total"], new["retry_of"], new["name"]) == (2, str(old_id), "Spring sale (retry)")
    assert sorted(s.chat_id for s in gateway.sent) == ["4915110000001@c.us", "4915110000003@c.us"]
    assert [s.text for s in gateway.sent] == ["Hello Contact 1", "Hello Contact 3"]
    page = await (await client.get(f"/campaigns/{new['id']}/contacts")).json()
    assert [(c["index"], c["name"], c["outcome"]) for c in page["items"]] == [
        (0, "Contact 1", "sent"),
        (1, "Contact 3", "sent"),
    ]
    old = services.campaigns.campaign(old_id)
    assert old.retried_as == UUID(new["id"])
    last = list(services.campaigns.iter_history(old_id))[-1]
    assert isinstance(last, Campaign.RetryScheduled)
    assert (last.outcomes, last.contacts, last.include_in_doubt) == (["failed"], 2, False)


async def test_in_doubt_contacts_are_retried_only_when_asked(
    client: Client, services: Services, clock: ManualClock
) -> None:
    refused_id = finished_campaign(services.campaigns, clock, OUTCOMES)
    asked_id = finished_campaign(services.campaigns, clock, OUTCOMES)

    refused, problem = await retry(client, refused_id, outcomes=["failed", "in_doubt"])
    asked, new = await retry(client, asked_id, outcomes=["failed"], include_in_doubt=True)

    assert refused == 422
    assert problem["errors"][0]["field"] == "include_in_doubt"
    assert services.campaigns.campaign(refused_id).retried_as is None
    assert asked == 201
    assert new["total"] == 3


async def test_a_paused_campaign_may_be_retried(
    client: Client, services: Services, clock: ManualClock
) -> None:
    old_id = finished_campaign(services.campaigns, clock, OUTCOMES[:2], end=False)
    histories.pause_campaign(services.campaigns, old_id)

    status, new = await retry(client, old_id)

    assert status == 201
    assert new["total"] == 1
    assert services.campaigns.campaign(old_id).status == "Paused"


async def test_a_running_or_scheduled_campaign_is_not_retried_and_nothing_is_recorded(
    client: Client, services: Services, clock: ManualClock
) -> None:
    running_id = finished_campaign(services.campaigns, clock, OUTCOMES[:2], end=False)
    scheduled = services.campaigns.schedule_campaign(
        a_campaign(2, scheduled_for=clock.now() + timedelta(days=1))
    ).view

    answers = [await retry(client, running_id), await retry(client, scheduled.id)]

    assert [status for status, _ in answers] == [409, 409]
    assert [problem["campaign_status"] for _, problem in answers] == ["Running", "Scheduled"]
    assert answers[0][1]["detail"] == (
        "cannot retry a campaign that is Running: its outcomes still change; pause it, or "
        "retry once it has completed"
    )
    assert len(services.campaigns.all_campaign_ids()) == 2


async def test_the_same_retry_again_answers_it_and_another_is_a_conflict(
    client: Client, services: Services, clock: ManualClock
) -> None:
    old_id = finished_campaign(services.campaigns, clock, OUTCOMES)
    _, first = await retry(client, old_id)

    again, repeated = await retry(client, old_id)
    other, problem = await retry(client, old_id, outcomes=["failed"], include_in_doubt=True)

    assert (again, repeated["id"]) == (200, first["id"])
    assert other == 409
    assert_problem(problem, 409)
    assert problem["campaign_id"] == first["id"]
    assert len(services.campaigns.all_campaign_ids()) == 2


async def test_a_campaign_without_failures_has_nothing_to_retry(
    client: Client, services: Services, clock: ManualClock
) -> None:
    old_id = finished_campaign(services.campaigns, clock, [AttemptOutcome.SENT])

    status, problem = await retry(client, old_id)

    assert status == 422
    assert problem["errors"][0]["field"] == "outcomes"
    assert services.campaigns.campaign(old_id).retried_as is None
