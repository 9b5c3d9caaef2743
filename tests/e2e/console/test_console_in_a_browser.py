"""The console in a real browser (headless Chromium) over the real service and the simulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.async_api import expect

from adapters.bootstrap import campaigns_app
from domain.audience import Audience
from domain.campaign import AttemptOutcome, Campaign
from domain.contacts import Contact, chat_id_for_e164
from tests.e2e.conftest import TOKEN, Service, ServiceFactory, Simulator, contacts, eventually
from tests.e2e.console.conftest import SignedIn, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def slow_campaign(service: Service, n: int = 300, **extra: Any) -> str:
    status, created = await service.call(
        "POST",
        "/campaigns",
        json={
            "name": "Spring opening",
            "message": {"text": "Hi {name}, see you Saturday?"},
            "contacts": contacts(n),
            "pacing": {"min_seconds": 0.2, "max_seconds": 0.3},
            **extra,
        },
    )
    assert status == 201, created
    return str(created["id"])


async def test_sign_in_with_the_token_and_out_again(
    start_service: ServiceFactory, page: Any
) -> None:
    service = await start_service()

    await sign_in(page, service, token="not-the-token")
    await expect(page.locator("#token-error")).to_contain_text(
        "That is not this service's API token"
    )
    await sign_in(page, service)
    await expect(page.locator("h1")).to_have_text("Campaigns")
    await expect(page.locator(".empty")).to_contain_text("No campaigns yet")
    cookies = await page.context.cookies()
    await page.click(".sign-out button")
    await expect(page.locator("h1")).to_have_text("Sign in to the console")

    assert all(TOKEN not in c["value"] for c in cookies)
    assert TOKEN not in service.child.output()


async def test_watch_a_campaign_run_pause_it_resume_it_and_cancel_it(
    console: SignedIn, page: Any
) -> None:
    service = await console()
    campaign_id = await slow_campaign(service)
    await page.goto(f"{service.child.url}/ui/campaigns/{campaign_id}")
    words = page.locator("#progress-words")
    before = await words.inner_text()
    await page.evaluate("window.stillTheSamePage = true")

    await expect(words).not_to_have_text(before)  # the bar moves without a reload
    assert await page.evaluate("window.stillTheSamePage") is True

    await page.click("#action-pause")
    await expect(page.locator(".notice.success")).to_contain_text("Paused at contact")
    assert (await service.view(campaign_id))["status"] == "Paused"
    await expect(page.locator("#campaign-status")).to_have_text("Paused")

    await page.click("#action-resume")
    await expect(page.locator(".notice.success")).to_contain_text("Resumed at contact")
    assert (await service.view(campaign_id))["status"] == "Running"

    await page.click("#action-cancel")
    await page.fill("#reason", "seen enough")
    await page.click("#confirm-cancel")
    await expect(page.locator("#campaign-status")).to_have_text("Cancelled")
    view = await service.view(campaign_id)
    assert view["status"] == "Cancelled"
    assert view["cancelled"]["reason"] == "seen enough"


async def test_create_a_campaign_from_a_csv_after_its_preview(
    console: SignedIn, page: Any, tmp_path: Path
) -> None:
    service = await console()
    upload = tmp_path / "contacts.csv"
    upload.write_text(
        "phone,name,city\n+4915130000001,Ana,Berlin\n0151 not a number,Bad,Nowhere\n"
        "+4915130000002,Ben,Köln\n",
        encoding="utf-8",
    )

    await page.click("text=New campaign >> nth=0")
    await page.fill("#name", "From the browser")
    await page.fill("#text", "Hi {name} in {city}!")
    await page.fill("#pacing_min", "0")
    await page.fill("#pacing_max", "0")
    await page.set_input_files("#contacts", str(upload))
    await page.click("#preview-button")

    preview = page.locator("#preview")
    await expect(preview).to_contain_text("2 of 3 rows would be sent to")
    await expect(preview.locator("table.rejects tr", has_text="line 3")).to_contain_text(
        "0151 not a number"
    )
    await expect(preview).to_contain_text("Hi Ana in Berlin!")
    _, listed = await service.call("GET", "/campaigns")
    assert listed["items"] == []  # a preview creates nothing

    await page.click("#create-button")
    await expect(page.locator(".notice.success")).to_contain_text("created with 2 contacts")
    campaign_id = re.search(r"/ui/campaigns/([0-9a-f-]{36})", page.url)
    assert campaign_id is not None
    view = await service.view(campaign_id.group(1))
    assert view["name"] == "From the browser"
    assert view["total"] == 2


def _big_campaign(database: Path, size: int, attempted: int) -> UUID:
    """Write a campaign of `size` contacts straight into the store (every 10th attempt failed)."""
    app = campaigns_app(f"sqlite:///{database}")
    try:
        people = [
            Contact(
                phone=f"+49151{i:08d}", chat_id=chat_id_for_e164(f"+49151{i:08d}"), name=f"P{i}"
            )
            for i in range(size)
        ]
        audience = Audience.freeze(people)
        now = app.clock.now()
        campaign = Campaign(
            name="A hundred thousand",
            session="default",
            message={"text": "Hi {name}", "defaults": {}, "image": None},
            audience=audience.reference(),
            scheduled_for=now,
            pacing={"min_seconds": 0.0, "max_seconds": 0.0},
            options={},
            at=now,
        )
        app.save(audience)
        campaign.start(at=now)
        for i in range(attempted):
            chat = f"49151{i:08d}@c.us"
            if i % 10 == 9:
                campaign.record_attempt(
                    index=i, chat_id=chat, outcome=AttemptOutcome.FAILED, error="test", at=now
                )
            else:
                campaign.begin_attempt(index=i, attempt_id=f"a{i}", chat_id=chat, at=now)
                campaign.record_attempt(
                    index=i,
                    chat_id=chat,
                    outcome=AttemptOutcome.SENT,
                    message_id=f"m{i}",
                    attempt_id=f"a{i}",
                    at=now,
                )
        campaign.cancel(reason="test fixture", at=now)
        app.save(campaign)
        return campaign.id
    finally:
        app.close()


async def test_a_hundred_thousand_contacts_page_and_filter(
    console: SignedIn, page: Any, tmp_path: Path
) -> None:
    campaign_id = _big_campaign(tmp_path / "campaigns.sqlite3", 100_000, 1_000)
    service = await console()

    await page.goto(f"{service.child.url}/ui/campaigns/{campaign_id}")
    showing = page.locator("#contacts-showing")
    await expect(showing).to_have_text("Showing contacts 1 to 50 of 100,000.")
    await page.click("a[rel=next] >> text=Next")
    await expect(showing).to_have_text("Showing contacts 51 to 100 of 100,000.")

    await page.fill("#from", "99951")
    await page.click("#contacts button[type=submit]")
    await expect(showing).to_have_text("Showing contacts 99,951 to 100,000 of 100,000.")
    await expect(page.locator("table.contacts tbody tr").last).to_contain_text("+4915100099999")

    await page.fill("#from", "1")
    await page.check("input[name=outcome][value=failed]")
    await page.click("#contacts button[type=submit]")
    await expect(showing).to_contain_text("matching contacts from number 10 to 500")
    outcomes = await page.locator("table.contacts tbody td[data-label=Outcome]").all_inner_texts()
    assert len(outcomes) == 50
    assert set(outcomes) == {"failed"}


async def test_the_sessions_page_shows_the_session_going_down(
    console: SignedIn, page: Any, simulator: Simulator
) -> None:
    service = await console()
    await slow_campaign(service, n=3, pacing={"min_seconds": 0, "max_seconds": 0})

    async def done() -> bool:
        status, listed = await service.call("GET", "/campaigns")
        return status == 200 and listed["items"][0]["status"] == "Completed"

    await eventually(done, what="the small campaign to complete")
    await page.click("nav >> text=Sessions")
    status = page.locator('[data-session="default"] .session-status')
    await expect(status).to_have_text("WORKING")
    await page.evaluate("window.stillTheSamePage = true")

    await simulator.control("PUT", "/sessions/default/status", {"status": "STOPPED"})

    await expect(status).to_have_text("STOPPED")
    await expect(page.locator('[data-session="default"]')).to_contain_text(
        "cannot send while STOPPED"
    )
    assert await page.evaluate("window.stillTheSamePage") is True
