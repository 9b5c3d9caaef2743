"""POST /campaigns and reading campaigns back: views, validation problems, unknown ids."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from adapters.http_api.schemas import CampaignIn
from adapters.http_api.uploads import INLINE_JSON_BYTES
from app.views import CampaignView
from tests.adapters.http_api.conftest import (
    AUTH,
    Client,
    assert_problem,
    campaign_body,
    create,
    finish_runs,
    make_settings,
)
from tests.builders import contacts
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

VIEW_FIELDS = {
    "id",
    "name",
    "status",
    "session",
    "total",
    "sent",
    "failed",
    "skipped",
    "in_doubt",
    "next_index",
    "pause",
    "scheduled_for",
    "started_at",
    "completed_at",
    "version",
}


async def problem_of(client: Client, body: Any, status: int = 422) -> dict[str, Any]:
    response = await client.post("/campaigns", json=body)
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    assert_problem(problem, status)
    return problem


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem["errors"]}


async def test_a_campaign_due_now_is_created_started_and_run(
    client: Client, gateway: FakeWahaGateway
) -> None:
    response = await client.post("/campaigns", json=campaign_body(3))

    assert response.status == 201
    created = await response.json()
    assert response.headers["Location"] == f"/campaigns/{created['id']}"
    assert created.keys() >= VIEW_FIELDS
    assert created["status"] == "Running"
    assert created["total"] == 3
    assert created["duplicates"] == []
    await finish_runs(client)
    shown = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert shown["status"] == "Completed"
    assert shown["sent"] == 3
    assert [s.text for s in gateway.sent] == [
        "Hello Contact 0",
        "Hello Contact 1",
        "Hello Contact 2",
    ]


async def test_duplicate_rows_are_dropped_and_reported(client: Client) -> None:
    rows = [
        {"phone": "+4915110000000", "name": "Ana"},
        {"phone": "+4915110000001", "name": "Bo"},
        {"phone": "+49151 1000 0000", "name": "Ana again"},
    ]

    created = await create(client, contacts=rows)

    assert created["total"] == 2
    assert created["duplicates"] == [
        {"position": 2, "value": "+49151 1000 0000", "first_position": 0}
    ]


async def test_defaults_apply_when_not_given(client: Client) -> None:
    body = campaign_body()
    del body["pacing"]

    response = await client.post("/campaigns", json=body)
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201
    assert created["session"] == "default"
    assert created["pacing"] == {"min_seconds": 30.0, "max_seconds": 60.0}
    assert created["options"]["auto_resume"] is True


async def test_missing_fields_are_named(client: Client) -> None:
    problem = await problem_of(client, {"message": {}})

    assert fields_of(problem) == {"name", "message.text", "contacts"}


async def test_an_unknown_field_is_refused_not_ignored(client: Client) -> None:
    problem = await problem_of(client, campaign_body(pacing={"min": 1, "max_seconds": 2}))

    assert fields_of(problem) == {"pacing.min"}


async def test_a_bad_phone_is_reported_with_its_row(client: Client) -> None:
    rows = [{"phone": "+4915110000000"}, {"phone": "12"}, {"phone": "not a phone"}]

    problem = await problem_of(client, campaign_body(contacts=rows))

    assert [(e["field"], e["value"]) for e in problem["errors"]] == [
        ("contacts[1].phone", "12"),
        ("contacts[2].phone", "not a phone"),
    ]
    assert all(e["reason"] for e in problem["errors"])


async def test_min_pacing_above_max_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(pacing={"min_seconds": 9, "max_seconds": 3}))

    assert problem["errors"][0]["field"] == "pacing"
    assert "must not exceed" in problem["errors"][0]["reason"]


async def test_bad_options_are_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(options={"max_consecutive_failures": 0}))

    assert fields_of(problem) == {"options"}


async def test_an_unparseable_schedule_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(scheduled_for="next tuesday"))

    assert fields_of(problem) == {"scheduled_for"}
    assert problem["errors"][0]["value"] == "next tuesday"


async def test_a_schedule_as_a_number_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(scheduled_for=1795889425))

    assert fields_of(problem) == {"scheduled_for"}


async def test_a_schedule_without_timezone_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(scheduled_for="2026-12-01T09:00:00"))

    assert fields_of(problem) == {"scheduled_for"}
    assert "offset" in problem["errors"][0]["reason"]


async def test_a_schedule_in_the_past_is_refused(client: Client, clock: ManualClock) -> None:
    past = (clock.now() - timedelta(hours=1)).isoformat()

    problem = await problem_of(client, campaign_body(scheduled_for=past))

    assert fields_of(problem) == {"scheduled_for"}


async def test_a_future_campaign_waits_scheduled(
    client: Client, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()

    created = await create(client, scheduled_for=later)

    assert created["status"] == "Scheduled"
    assert created["scheduled_for"] == (clock.now() + timedelta(days=1)).isoformat()
    assert gateway.sent == []


async def test_an_unknown_media_id_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(message={"text": "Hi", "media_id": "ab" * 32}))

    assert fields_of(problem) == {"message.media_id"}


async def test_an_empty_template_field_is_refused(client: Client) -> None:
    problem = await problem_of(client, campaign_body(message={"text": "Hi {1x}"}))

    assert fields_of(problem) == {"message.text"}


async def test_a_template_field_no_contact_has_is_one_problem(client: Client) -> None:
    problem = await problem_of(client, campaign_body(message={"text": "Your code {code}"}))

    assert problem["errors"] == [
        {
            "field": "message.text",
            "value": "{code}",
            "reason": "no contact has a code column or variable and there is no default "
            "for it (the contacts have: name)",
        }
    ]


async def test_template_defaults_fill_missing_variables(
    client: Client, gateway: FakeWahaGateway
) -> None:
    await create(
        client,
        message={"text": "Code {code}", "defaults": {"code": "X1"}},
        contacts=[
            {"phone": "+4915110000000", "variables": {"code": "A7"}},
            {"phone": "+4915110000001"},
        ],
    )
    await finish_runs(client)

    assert [s.text for s in gateway.sent] == ["Code A7", "Code X1"]


async def test_a_body_that_is_not_json_is_a_bad_request(client: Client) -> None:
    response = await client.post(
        "/campaigns", data=b"{nope", headers={"Content-Type": "application/json"}
    )

    assert response.status == 400
    assert_problem(await response.json(), 400)


async def test_a_body_of_another_type_is_unsupported(client: Client) -> None:
    response = await client.post(
        "/campaigns", data=b"name=x", headers={"Content-Type": "text/plain"}
    )

    assert response.status == 415
    assert_problem(await response.json(), 415)


async def test_an_oversized_body_is_refused(client: Client) -> None:
    body = campaign_body(contacts=[{"phone": c.phone, "name": "x" * 200} for c in contacts(400)])

    response = await client.post("/campaigns", json=body)

    assert response.status == 413
    assert_problem(await response.json(), 413)


async def test_list_filters_by_status_and_pages_with_a_cursor(
    client: Client, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    scheduled = [
        (await create(client, name=f"later {i}", scheduled_for=later))["id"] for i in range(3)
    ]
    await create(client, name="now")
    await finish_runs(client)

    first = await (
        await client.get("/campaigns", params={"status": "Scheduled", "limit": "2"})
    ).json()
    second = await (
        await client.get(
            "/campaigns",
            params={"status": "Scheduled", "limit": "2", "cursor": str(first["next_cursor"])},
        )
    ).json()
    everything = await (await client.get("/campaigns")).json()

    assert [c["id"] for c in first["items"]] == scheduled[:2]
    assert first["next_cursor"] is not None
    assert [c["id"] for c in second["items"]] == scheduled[2:]
    assert second["next_cursor"] is None
    assert [c["status"] for c in everything["items"]] == ["Scheduled"] * 3 + ["Completed"]


async def test_list_refuses_an_unknown_status_and_bad_limits(client: Client) -> None:
    for params in ({"status": "Done"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "-1"}):
        response = await client.get("/campaigns", params=params)
        assert response.status == 422, params
        problem = await response.json()
        assert fields_of(problem) == set(params)


async def test_an_unknown_id_is_not_found(client: Client) -> None:
    response = await client.get("/campaigns/00000000-0000-4000-8000-000000000000")

    assert response.status == 404
    assert_problem(await response.json(), 404)


async def test_a_malformed_id_is_not_found(client: Client) -> None:
    for path in ("/campaigns/not-a-uuid", "/campaigns/123/events", "/campaigns/x/pause"):
        response = await client.request("POST" if path.endswith("pause") else "GET", path)
        assert response.status == 404, path
        assert_problem(await response.json(), 404)


async def test_an_unknown_route_is_a_problem_too(client: Client) -> None:
    response = await client.get("/nowhere")

    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def test_a_schedule_beyond_a_year_is_refused(client: Client, clock: ManualClock) -> None:
    for when in (
        "9999-12-31T23:59:59-14:00",
        (clock.now() + timedelta(days=367)).isoformat(),
    ):
        problem = await problem_of(client, campaign_body(scheduled_for=when))

        assert fields_of(problem) == {"scheduled_for"}, when
        assert "at most 366 days ahead" in problem["errors"][0]["reason"]


async def test_a_schedule_within_a_year_is_taken(client: Client, clock: ManualClock) -> None:
    created = await create(client, scheduled_for=(clock.now() + timedelta(days=365)).isoformat())

    assert created["status"] == "Scheduled"


async def test_pacing_beyond_a_day_is_refused(client: Client) -> None:
    for pacing, field in (
        ({"min_seconds": 0, "max_seconds": 86_401}, "pacing.max_seconds"),
        ({"min_seconds": 1e308, "max_seconds": 1e308}, "pacing.min_seconds"),
        ({"min_seconds": -1, "max_seconds": 1}, "pacing.min_seconds"),
    ):
        problem = await problem_of(client, campaign_body(pacing=pacing))

        assert field in fields_of(problem), pacing


async def test_pacing_of_a_whole_day_is_taken(client: Client) -> None:
    created = await create(client, pacing={"min_seconds": 86_399, "max_seconds": 86_400})

    assert created["pacing"] == {"min_seconds": 86_399.0, "max_seconds": 86_400.0}


async def test_a_default_that_is_not_a_variable_name_is_named(client: Client) -> None:
    for name in ("first name", "1st", "_x", "x-y", "{x}", "é", "a" * 65, ""):
        message = {"text": "Hello {name}", "defaults": {"ok_1": "x", name: "y"}}

        problem = await problem_of(client, campaign_body(message=message))

        assert fields_of(problem) == {f"message.defaults.{name[:64]}"}, name
        assert "not a variable name" in problem["errors"][0]["reason"]


async def test_a_contact_variable_that_is_not_a_variable_name_is_named(client: Client) -> None:
    rows = [
        {"phone": "+4915110000000", "variables": {"code": "A1"}},
        {"phone": "+4915110000001", "variables": {"code": "A2", "promo-code": "B"}},
    ]

    problem = await problem_of(client, campaign_body(contacts=rows))

    assert fields_of(problem) == {"contacts[1].variables.promo-code"}


async def test_variable_names_of_letters_digits_and_underscores_are_taken(
    client: Client, gateway: FakeWahaGateway
) -> None:
    name = "A" + "b_1" * 21
    message = {"text": "Hi {first_name} {" + name + "}", "defaults": {name: "!"}}
    rows = [{"phone": "+4915110000000", "variables": {"first_name": "Ana"}}]

    await create(client, message=message, contacts=rows)
    await finish_runs(client)

    assert [s.text for s in gateway.sent] == ["Hi Ana !"]


async def test_list_refuses_a_cursor_beyond_the_store(client: Client) -> None:
    response = await client.get("/campaigns", params={"cursor": str(2**63)})

    assert response.status == 422
    assert fields_of(await response.json()) == {"cursor"}


async def test_list_takes_the_largest_cursor(client: Client) -> None:
    response = await client.get("/campaigns", params={"cursor": str(2**63 - 1)})

    assert response.status == 200
    assert await response.json() == {"items": [], "next_cursor": None}


async def test_a_status_filter_loads_only_the_campaigns_of_its_page(
    client: Client, clock: ManualClock, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    for i in range(4):
        await create(client, name=f"now {i}")
    wanted = [
        (await create(client, name=f"later {i}", scheduled_for=later))["id"] for i in range(3)
    ]
    await finish_runs(client)
    await client.get("/campaigns", params={"status": "Scheduled"})  # the facts' first look
    campaigns = services.campaigns
    loaded: list[UUID] = []
    view_of = campaigns.campaign

    def counted(campaign_id: UUID) -> CampaignView:
        loaded.append(campaign_id)
        return view_of(campaign_id)

    monkeypatch.setattr(campaigns, "campaign", counted)

    page = await (
        await client.get("/campaigns", params={"status": "Scheduled", "limit": "2"})
    ).json()

    assert [c["id"] for c in page["items"]] == wanted[:2]
    assert [str(campaign_id) for campaign_id in loaded] == wanted[:2]


async def test_a_large_body_is_validated_off_the_event_loop(
    tmp_path: Path,
    clock: ManualClock,
    sleeper: InstantSleeper,
    rng: SeededRandom,
    aiohttp_client: AiohttpClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = build(
        make_settings(tmp_path, campaigns_max_upload_bytes=2**20),
        clock=clock,
        sleeper=sleeper,
        rng=rng,
    )
    try:
        app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
        client = await aiohttp_client(app, headers=AUTH)
        validated_on: list[threading.Thread] = []
        validate = CampaignIn.model_validate_json

        def spy(cls: type[CampaignIn], raw: bytes | str) -> CampaignIn:
            validated_on.append(threading.current_thread())
            return validate(raw)

        monkeypatch.setattr(CampaignIn, "model_validate_json", classmethod(spy))
        body = campaign_body(2000, scheduled_for=(clock.now() + timedelta(days=1)).isoformat())
        assert len(json.dumps(body)) > INLINE_JSON_BYTES

        response = await client.post("/campaigns", json=body)

        assert response.status == 201
        assert validated_on
        assert threading.main_thread() not in validated_on
    finally:
        services.campaigns.close()
