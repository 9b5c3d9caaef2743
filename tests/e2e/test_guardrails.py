"""The number's guardrails in the real service against the simulator: one test per guardrail."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.system import SystemClock
from domain.content import MessageTemplate
from tests.e2e.conftest import Service, ServiceFactory, Simulator, contacts, eventually

pytestmark = pytest.mark.e2e
NO_WAIT = {"min_seconds": 0, "max_seconds": 0}
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def create(service: Service, **fields: Any) -> dict[str, Any]:
    body = {"name": "e2e guardrails", "message": {"text": "Hi {name}"}, "pacing": NO_WAIT}
    status, created = await service.call("POST", "/campaigns", json=body | fields)
    assert status == 201, created
    return dict(created)


async def settings(service: Service, **values: Any) -> dict[str, Any]:
    status, view = await service.call("PUT", "/sessions/default/settings", json=values)
    assert status == 200, view
    return dict(view)


async def events(service: Service, campaign_id: str) -> list[dict[str, Any]]:
    status, page = await service.call("GET", f"/campaigns/{campaign_id}/events?limit=1000")
    assert status == 200, page
    return list(page["items"])


async def until_status(service: Service, campaign_id: str, status: str) -> dict[str, Any]:
    async def reached() -> bool:
        return bool((await service.view(campaign_id))["status"] == status)

    await eventually(reached, what=f"campaign {status}")
    return await service.view(campaign_id)


def skips(history: list[dict[str, Any]]) -> list[tuple[int, str | None]]:
    return [
        (e["data"]["index"], e["data"]["reason"])
        for e in history
        if e["type"] == "ContactAttempted" and e["data"]["outcome"] == "skipped"
    ]


async def test_a_closed_window_sends_nothing_then_resumes_at_its_opening(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    now = SystemClock().now()
    opening = (now + timedelta(seconds=63)).replace(second=0, microsecond=0)
    if opening - now > timedelta(seconds=60):
        opening -= timedelta(minutes=1)  # the next minute is at least 3 seconds away
    closing = opening + timedelta(minutes=10)
    await settings(
        service,
        window={
            "days": EVERY_DAY,
            "start": opening.strftime("%H:%M"),
            "end": closing.strftime("%H:%M"),
            "timezone": "UTC",
        },
    )

    created = await create(service, contacts=contacts(3))
    paused = await until_status(service, created["id"], "Paused")

    assert paused["pause"]["reason"] == "outside_window"
    assert datetime.fromisoformat(paused["pause"]["resume_at"]) == opening
    assert paused["pause"]["resumes_by_itself"]
    assert await simulator.ledger() == []

    await until_status(service, created["id"], "Completed")

    ledger = await simulator.ledger()
    assert len(ledger) == 3
    assert all(datetime.fromisoformat(e["accepted_at"]) >= opening for e in ledger)


async def test_a_cap_of_three_sends_exactly_three_that_day(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    await settings(service, daily_cap=3)

    created = await create(service, contacts=contacts(5))
    paused = await until_status(service, created["id"], "Paused")

    tomorrow = (SystemClock().now() + timedelta(days=1)).date()
    assert (paused["sent"], paused["pause"]["reason"]) == (3, "daily_cap")
    assert (
        paused["pause"]["resume_at"]
        == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).isoformat()
    )
    assert len(await simulator.ledger()) == 3
    status, session = await service.call("GET", "/sessions/default")
    assert status == 200
    assert (session["sent_today"], session["effective_cap"], session["remaining_today"]) == (
        3,
        3,
        0,
    )


async def test_in_week_two_of_the_warmup_its_cap_binds(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    started = (SystemClock().now() - timedelta(days=8)).date().isoformat()
    await settings(service, daily_cap=50, warmup={"started_on": started, "caps": [1, 2, 100]})

    created = await create(service, contacts=contacts(4))
    paused = await until_status(service, created["id"], "Paused")

    assert (paused["sent"], paused["pause"]["reason"]) == (2, "warmup_cap")
    assert "week 2" in paused["pause"]["detail"]
    assert len(await simulator.ledger()) == 2


async def test_opt_outs_imported_before_and_learnt_from_a_stop_mid_campaign_are_skipped(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    await simulator.control(
        "PUT", "/webhook", {"url": service.child.url + "/webhooks/waha", "hmac_key": None}
    )
    people = contacts(8)
    status, _ = await service.call(
        "POST", "/opt-outs", json={"phones": [people[1]["phone"]], "source": "import"}
    )
    assert status == 200

    created = await create(
        service, contacts=people, pacing={"min_seconds": 0.4, "max_seconds": 0.6}
    )

    async def first_sent() -> bool:
        return bool((await service.view(created["id"]))["sent"] >= 1)

    await eventually(first_sent, what="the first send")
    stopper = people[7]["phone"].removeprefix("+")
    await simulator.control("POST", "/sessions/default/inbound", {"from": stopper, "body": "STOP"})

    async def listed() -> bool:
        _, page = await service.call("GET", "/opt-outs")
        return len(page["items"]) == 2

    await eventually(listed, what="the STOP reply on the list")
    await until_status(service, created["id"], "Completed")

    history = await events(service, created["id"])
    assert skips(history) == [(1, "opted_out"), (7, "opted_out")]
    ledger = await simulator.ledger()
    assert sorted(Counter(e["chat_id"] for e in ledger).values()) == [1] * 6
    assert f"{stopper}@c.us" not in {e["chat_id"] for e in ledger}
    _, page = await service.call("GET", "/opt-outs")
    assert [i["source"] for i in page["items"]] == ["import", "inbound:stop"]


async def test_a_stop_from_a_hidden_chat_lists_the_phone_waha_knows_behind_it(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    await simulator.control(
        "PUT", "/webhook", {"url": service.child.url + "/webhooks/waha", "hmac_key": None}
    )
    lid = "123456789012345@lid"  # WhatsApp hides this person's number from the chat
    await simulator.control(
        "PUT", "/sessions/default/lids", {"lid": lid, "pn": "4915112345678@c.us"}
    )

    await simulator.control("POST", "/sessions/default/inbound", {"from": lid, "body": "Stop"})

    async def listed() -> bool:
        _, page = await service.call("GET", "/opt-outs")
        return len(page["items"]) == 1

    await eventually(listed, what="the hidden chat's STOP on the list")
    _, page = await service.call("GET", "/opt-outs")
    assert [(i["phone"], i["source"]) for i in page["items"]] == [
        ("+4915112345678", "inbound:stop")
    ]


async def test_a_number_messaged_lately_is_skipped_by_the_next_campaign(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    await settings(service, recontact_after_days=7)
    people = contacts(3)
    first = await create(service, contacts=people[:2])
    await until_status(service, first["id"], "Completed")

    second = await create(service, contacts=people)
    await until_status(service, second["id"], "Completed")

    history = await events(service, second["id"])
    assert skips(history) == [(0, "recently_contacted"), (1, "recently_contacted")]
    skipped = next(e for e in history if e["type"] == "ContactAttempted")
    assert first["id"] in skipped["data"]["error"]
    assert len(await simulator.ledger()) == 3


async def test_variants_are_recorded_with_each_intent_and_replay_alike(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    people = contacts(10)
    template = MessageTemplate("{Hi|Hello|Hey} {name}", variants=("Good day {name}",))

    created = await create(
        service,
        contacts=people,
        message={"text": template.text, "variants": list(template.variants)},
    )
    await until_status(service, created["id"], "Completed")

    intents = [
        e["data"] for e in await events(service, created["id"]) if e["type"] == "AttemptStarted"
    ]
    ledger = await simulator.ledger()
    assert [i["text"] for i in intents] == [e["text"] for e in ledger]
    replayed = [
        template.render({"name": people[i["index"]]["name"]}, seed=i["attempt_id"]) for i in intents
    ]
    assert replayed == [i["text"] for i in intents]
    assert len({text.split()[0] for text in replayed}) > 1
