"""The guardrails over HTTP: session settings, the sessions' views, opt-outs, previews, ETA."""

from __future__ import annotations

from typing import Any

import pytest

from app.ports import GatewayUnavailableError
from tests.adapters.http_api.conftest import (
    Client,
    assert_problem,
    campaign_body,
    create,
    finish_runs,
)
from tests.adapters.http_api.test_webhooks import START, epoch_ms, post_webhook
from tests.builders import contacts
from tests.fakes.gateway import FakeWahaGateway

OFFICE = {"days": ["mon", "fri"], "start": "09:00", "end": "18:00", "timezone": "Europe/Berlin"}


async def put_settings(client: Client, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    response = await client.put("/sessions/default/settings", json=body, headers=headers)
    return response.status, await response.json()


# -- settings -------------------------------------------------------------------------------------


async def test_settings_are_changed_on_the_record_and_shown_with_the_session(
    client: Client,
) -> None:
    status, view = await put_settings(
        client, {"daily_cap": 200, "window": OFFICE}, **{"X-Operator": "ops-anna"}
    )

    assert status == 200, view
    assert view["settings"]["daily_cap"] == 200
    assert view["settings"]["window"] == OFFICE
    assert view["settings_changed_by"] == "api:ops-anna"
    assert (view["effective_cap"], view["cap_kind"], view["sent_today"]) == (200, "daily_cap", 0)
    # Saturday 28 November 2026, 10:00 in Berlin: closed until Monday 09:00.
    assert (view["window_open"], view["window_opens_at"]) == (False, "2026-11-30T08:00:00+00:00")
    assert view["waha_status"] == "WORKING"

    status, view = await put_settings(client, {"daily_cap": None})

    assert status == 200
    assert view["settings"]["daily_cap"] is None
    assert view["settings"]["window"] == OFFICE  # left out: kept


async def test_a_settings_change_is_an_event_with_who_old_and_new(client: Client) -> None:
    await put_settings(client, {"recontact_after_days": 3})
    await put_settings(client, {"recontact_after_days": 5})

    response = await client.get("/events", params={"limit": "100"})
    events = [e for e in (await response.json())["items"] if e["type"] == "SettingsChanged"]

    assert [(e["data"]["old"], e["data"]["new"]) for e in events] == [
        ({"recontact_after_days": None}, {"recontact_after_days": 3}),
        ({"recontact_after_days": 3}, {"recontact_after_days": 5}),
    ]
    assert {e["data"]["by"] for e in events} == {"api"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window": {**OFFICE, "timezone": "Mars/Base"}}, "window.timezone"),
        ({"window": {**OFFICE, "days": ["mon", "funday"]}}, "window.days[1]"),
        ({"window": {**OFFICE, "start": "25:00"}}, "window.start"),
        ({"daily_cap": -5}, "daily_cap"),
        ({"warmup": {"started_on": "2026-11-01", "caps": [10, -1]}}, "warmup.caps[1]"),
        ({"recontact_after_days": 0}, "recontact_after_days"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_setting_is_a_422_naming_the_field_and_changes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    await put_settings(client, {"daily_cap": 7})

    status, problem = await put_settings(client, {"recontact_after_days": 2, **body})

    assert status == 422
    assert_problem(problem, 422)
    assert field in [e["field"] for e in problem["errors"]]
    view = await (await client.get("/sessions/default")).json()
    assert view["settings"]["daily_cap"] == 7
    assert view["settings"]["recontact_after_days"] is None


async def test_sessions_lists_every_number_with_campaigns_or_settings(client: Client) -> None:
    await create(client, session="sales", scheduled_for="2026-12-24T09:00:00+00:00")
    await client.put("/sessions/support/settings", json={"daily_cap": 10})

    response = await client.get("/sessions")
    listed = await response.json()

    assert response.status == 200
    assert [s["session"] for s in listed["items"]] == ["sales", "support"]
    assert listed["next_cursor"] is None


# -- campaigns: pause views, ETA, variants, pacing ------------------------------------------------


async def test_a_campaign_outside_the_window_shows_when_it_resumes_by_itself(
    client: Client, gateway: FakeWahaGateway
) -> None:
    await put_settings(client, {"window": OFFICE})

    created = await create(client, n=2)
    await finish_runs(client)
    view = await (await client.get(f"/campaigns/{created['id']}")).json()

    assert view["status"] == "Paused"
    assert view["pause"]["reason"] == "outside_window"
    assert view["pause"]["resume_at"] == "2026-11-30T08:00:00+00:00"
    assert (view["pause"]["resumes_by_itself"], view["pause"]["withheld"]) == (True, None)
    assert view["eta"] == "2026-11-30T08:00:00+00:00"  # zero pacing: all at the opening
    assert gateway.sent == []


async def test_a_scheduled_campaign_without_waits_should_end_when_it_starts(
    client: Client,
) -> None:
    created = await create(client, n=1, scheduled_for="2026-12-24T09:00:00+00:00")
    view = await (await client.get(f"/campaigns/{created['id']}")).json()

    assert view["pause"] is None
    assert view["eta"] == "2026-12-24T09:00:00+00:00"


async def test_the_created_campaign_carries_its_eta_and_pacing_warnings(client: Client) -> None:
    body = campaign_body(
        n=3,
        pacing={"min_seconds": 10, "max_seconds": 20},
        scheduled_for="2026-12-01T09:00:00+00:00",
    )

    response = await client.post("/campaigns", json=body)
    created = await response.json()

    assert response.status == 201, created
    assert created["eta"] == "2026-12-01T09:00:45+00:00"  # three sends, 15 s apart on average
    assert any("below WAHA's advice" in w for w in created["warnings"])


async def test_pacing_with_equal_bounds_is_refused_but_zero_is_allowed(client: Client) -> None:
    response = await client.post(
        "/campaigns", json=campaign_body(pacing={"min_seconds": 40, "max_seconds": 40})
    )
    problem = await response.json()

    assert response.status == 422
    assert [e["field"] for e in problem["errors"]] == ["pacing"]
    assert "random" in problem["errors"][0]["reason"]
    await create(client, pacing={"min_seconds": 0, "max_seconds": 0})


async def test_variants_and_choices_are_rendered_per_contact(
    client: Client, gateway: FakeWahaGateway
) -> None:
    body = campaign_body(
        n=12, message={"text": "{Hi|Hello} {name}", "variants": ["Good day {name}"]}
    )

    response = await client.post("/campaigns", json=body)
    assert response.status == 201, await response.text()
    await finish_runs(client)

    firsts = {s.text.split()[0] for s in gateway.sent}
    assert len(gateway.sent) == 12
    assert firsts <= {"Hi", "Hello", "Good"}
    assert len(firsts) > 1


async def test_a_bad_variant_is_named(client: Client) -> None:
    body = campaign_body(message={"text": "Hi", "variants": ["ok", " ", "Hi {first name}"]})

    response = await client.post("/campaigns", json=body)
    problem = await response.json()

    assert response.status == 422
    assert [e["field"] for e in problem["errors"]] == ["message.variants[1]", "message.variants[2]"]


# -- opt-outs -------------------------------------------------------------------------------------


async def test_opt_outs_are_added_listed_a_page_at_a_time_and_removed(client: Client) -> None:
    phones = [c.phone for c in contacts(3)]
    response = await client.post("/opt-outs", json={"phones": phones, "note": "old list"})
    assert (response.status, (await response.json())["added"]) == (200, 3)

    first = await (await client.get("/opt-outs", params={"limit": "2"})).json()
    rest = await (
        await client.get("/opt-outs", params={"limit": "2", "cursor": str(first["next_cursor"])})
    ).json()

    assert [i["phone"] for i in first["items"] + rest["items"]] == phones
    assert rest["next_cursor"] is None
    assert first["items"][0]["source"] == "api"
    response = await client.delete(f"/opt-outs/{phones[1]}")
    assert (response.status, (await response.json())["removed"]) == (200, True)
    assert (await client.delete(f"/opt-outs/{phones[1]}")).status == 404
    listed = await (await client.get("/opt-outs")).json()
    assert [i["phone"] for i in listed["items"]] == [phones[0], phones[2]]


async def test_a_bad_phone_is_a_422_naming_it(client: Client) -> None:
    response = await client.post("/opt-outs", json={"phones": ["+4915112345678", "hello"]})
    problem = await response.json()

    assert response.status == 422
    assert [e["field"] for e in problem["errors"]] == ["phones[1]"]


def inbound(body: str, chat_id: str, event_id: str = "evt_in") -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": epoch_ms(START),
        "event": "message",
        "session": "default",
        "payload": {
            "id": f"false_{chat_id}_3EB0IN",
            "from": chat_id,
            "fromMe": False,
            "body": body,
        },
    }


async def test_a_stop_reply_puts_its_sender_on_the_list_and_other_replies_do_not(
    client: Client,
) -> None:
    chat = "4915112345678@c.us"

    said = await post_webhook(client, inbound("see you soon", chat, "evt_1"))
    stopped = await post_webhook(client, inbound(" STOP ", chat, "evt_2"))
    again = await post_webhook(client, inbound(" STOP ", chat, "evt_2"))

    assert [(await r.json())["status"] for r in (said, stopped, again)] == [
        "ignored",
        "recorded",
        "duplicate",
    ]
    listed = await (await client.get("/opt-outs")).json()
    assert [(i["phone"], i["source"]) for i in listed["items"]] == [
        ("+4915112345678", "inbound:stop")
    ]


async def test_a_stop_from_a_hidden_chat_puts_the_phone_waha_knows_behind_it_on_the_list(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.lids["default"] = {"123456789012345@lid": "4915112345678@c.us"}

    stopped = await post_webhook(client, inbound("STOP", "123456789012345@lid", "evt_1"))
    unknown = await post_webhook(client, inbound("STOP", "999999999999999@lid", "evt_2"))

    assert [(await r.json())["status"] for r in (stopped, unknown)] == ["recorded", "ignored"]
    listed = await (await client.get("/opt-outs")).json()
    assert [(i["phone"], i["source"]) for i in listed["items"]] == [
        ("+4915112345678", "inbound:stop")
    ]


async def test_a_failed_lookup_of_a_hidden_chat_lets_waha_retry_the_stop(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.lids["default"] = {"123456789012345@lid": "4915112345678@c.us"}
    gateway.lid_error = GatewayUnavailableError("WAHA lids.get: ConnectionRefusedError")

    failed = await post_webhook(client, inbound("STOP", "123456789012345@lid", "evt_1"))
    gateway.lid_error = None
    retried = await post_webhook(client, inbound("STOP", "123456789012345@lid", "evt_1"))

    assert failed.status == 502, failed.status  # not remembered: WAHA's retry is acted on
    assert (await retried.json())["status"] == "recorded"
    listed = await (await client.get("/opt-outs")).json()
    assert [i["phone"] for i in listed["items"]] == ["+4915112345678"]


# -- previews -------------------------------------------------------------------------------------


async def test_a_preview_renders_the_first_messages_and_lists_rejects_recording_nothing(
    client: Client,
) -> None:
    people = [{"phone": c.phone, "name": c.name} for c in contacts(4)]
    await client.post("/opt-outs", json={"phones": [people[2]["phone"]]})
    body = campaign_body(contacts=[*people, people[0]], message={"text": "{Hi|Hello} {name}"})

    response = await client.post("/campaigns/preview", params={"limit": "2"}, json=body)
    preview = await response.json()

    assert response.status == 200, preview
    assert preview["total"] == 4
    assert [m["index"] for m in preview["messages"]] == [0, 1]
    assert preview["messages"][0]["text"] in {"Hi Contact 0", "Hello Contact 0"}
    assert [(r["position"], r["reason"]) for r in preview["rejects"]] == [
        (2, "opted_out"),
        (4, "duplicate"),
    ]
    assert preview["eta"] is not None
    assert any("skipped" in w for w in preview["warnings"])
    listed = await (await client.get("/campaigns")).json()
    assert listed["items"] == []


async def test_a_preview_refuses_what_create_refuses(client: Client) -> None:
    response = await client.post("/campaigns/preview", json=campaign_body(name=" "))

    assert response.status == 422


async def test_a_campaigns_own_window_is_checked_and_kept(client: Client) -> None:
    bad = campaign_body(options={"window": {**OFFICE, "timezone": "Nowhere/Town"}})
    response = await client.post("/campaigns", json=bad)
    problem = await response.json()

    assert response.status == 422
    assert [e["field"] for e in problem["errors"]] == ["options.window.timezone"]

    window = {**OFFICE, "days": ["Friday", "MON"]}
    created = await create(client, options={"window": window}, scheduled_for="2026-12-24T09:00:00Z")

    assert created["options"]["window"] == OFFICE  # as the number's: short names, week order
