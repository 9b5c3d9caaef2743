"""The console's pages over the application: the list, a campaign, its buttons, sessions, audit."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from uuid import UUID

from adapters.bootstrap import Services
from app.ports import GatewayRejectedError
from tests import histories
from tests.adapters.console.conftest import Client, create, csrf_of, finish_runs
from tests.builders import a_campaign
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock


def running_campaign(services: Services, clock: ManualClock, n: int = 2) -> UUID:
    """A campaign Running in the store with no run in this process (as after a crash)."""
    later = clock.now() + timedelta(minutes=1)
    view = services.campaigns.schedule_campaign(a_campaign(n, scheduled_for=later)).view
    clock.advance(120)
    services.campaigns.start_campaign(view.id)
    return view.id


async def press(client: Client, campaign_id: UUID, command: str, **fields: str) -> str:
    """Press a button of the campaign page (a form with its CSRF token); return the next page."""
    page = await client.get(f"/ui/campaigns/{campaign_id}")
    response = await client.post(
        f"/ui/campaigns/{campaign_id}/{command}",
        data={"csrf": csrf_of(await page.text()), **fields},
    )
    assert response.status == 200, await response.text()
    return await response.text()


async def test_an_empty_console_says_how_to_begin(signed_in: Client) -> None:
    page = await (await signed_in.get("/ui/")).text()

    assert "No campaigns yet" in page
    assert 'href="/ui/campaigns/new"' in page


async def test_the_list_shows_each_campaign_with_its_progress(signed_in: Client) -> None:
    await create(signed_in, n=3, name="Spring <sale>")
    await finish_runs(signed_in)

    page = await (await signed_in.get("/ui/campaigns")).text()

    assert "Spring &lt;sale&gt;" in page
    assert "3 of 3 contacts handled (100%)" in page
    assert "status-completed" in page


async def test_the_list_searches_by_name_and_filters_by_status(
    signed_in: Client, services: Services, clock: ManualClock
) -> None:
    await create(signed_in, name="Spring sale")
    await create(signed_in, name="Autumn news")
    await finish_runs(signed_in)
    running_campaign(services, clock)

    by_name = await (await signed_in.get("/ui/campaigns?q=SPRING")).text()
    by_status = await (await signed_in.get("/ui/campaigns?status=Running")).text()

    assert "Spring sale" in by_name
    assert "Autumn news" not in by_name
    assert "1 of 3 campaigns" in by_status
    assert "status-running" in by_status


async def test_a_live_region_is_only_sent_again_when_it_changed(
    signed_in: Client, services: Services, clock: ManualClock
) -> None:
    campaign_id = running_campaign(services, clock)
    page = await (await signed_in.get(f"/ui/campaigns/{campaign_id}")).text()
    source = re.search(r'hx-get="([^"]+/live\?v=[0-9a-f]+)"', page)
    assert source is not None

    same = await signed_in.get(source.group(1).replace("&amp;", "&"))
    histories.pause_campaign(services.campaigns, campaign_id)
    changed = await signed_in.get(source.group(1).replace("&amp;", "&"))

    assert same.status == 204
    assert changed.status == 200
    assert "status-paused" in await changed.text()


async def test_pause_and_resume_with_the_buttons_as_the_api_would(
    signed_in: Client, services: Services, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    campaign_id = running_campaign(services, clock)

    paused = await press(signed_in, campaign_id, "pause")
    assert services.campaigns.campaign(campaign_id).status == "Paused"
    resumed = await press(signed_in, campaign_id, "resume")
    await finish_runs(signed_in)

    assert "Paused at contact 1. It stays paused until you resume it." in paused
    assert 'id="action-resume"' in paused
    assert "Resumed at contact 1 of 2." in resumed
    assert services.campaigns.campaign(campaign_id).status == "Completed"
    assert len(gateway.sent) == 2


async def test_a_button_the_state_no_longer_allows_says_why(signed_in: Client) -> None:
    created = await create(signed_in)
    await finish_runs(signed_in)

    page = await press(signed_in, UUID(created["id"]), "pause")

    assert "Not done: cannot pause a campaign that is Completed" in page


async def test_cancel_asks_first_then_records_the_reason(
    signed_in: Client, services: Services, clock: ManualClock
) -> None:
    later = clock.now() + timedelta(days=1)
    view = services.campaigns.schedule_campaign(a_campaign(2, scheduled_for=later)).view

    question = await (await signed_in.get(f"/ui/campaigns/{view.id}/cancel")).text()
    assert "Cancelling ends the campaign for good" in question
    assert services.campaigns.campaign(view.id).status == "Scheduled"
    response = await signed_in.post(
        f"/ui/campaigns/{view.id}/cancel",
        data={"csrf": csrf_of(question), "reason": "  wrong   list "},
    )

    assert "Cancelled. The campaign will not send again." in await response.text()
    cancelled = services.campaigns.campaign(view.id)
    assert cancelled.status == "Cancelled"
    assert cancelled.cancelled is not None
    assert cancelled.cancelled["reason"] == "wrong list"


async def test_an_unknown_campaign_is_the_consoles_own_404(signed_in: Client) -> None:
    response = await signed_in.get("/ui/campaigns/00000000-0000-0000-0000-000000000000")

    assert response.status == 404
    assert response.content_type == "text/html"
    assert "No such page" in await response.text()


async def test_the_campaign_page_tells_its_life_and_shows_its_message(
    signed_in: Client, gateway: FakeWahaGateway
) -> None:
    gateway.status = "STARTING"
    created = await create(signed_in, n=3)
    await finish_runs(signed_in)

    page = await (await signed_in.get(f"/ui/campaigns/{created['id']}")).text()

    assert "paused at contact 1 of 3 (index 0) because the session was STARTING" in page
    assert "resumes by itself when the session works again" in page
    assert "As Contact 0 receives it" in page
    assert "Hello Contact 0" in page
    assert 'class="state current" data-state="Paused"' in page


async def test_the_contacts_table_filters_pages_and_downloads(
    signed_in: Client, gateway: FakeWahaGateway
) -> None:
    created = await create(signed_in, n=30)
    await finish_runs(signed_in)
    base = f"/ui/campaigns/{created['id']}"

    first = await (await signed_in.get(f"{base}?limit=25")).text()
    second = await (await signed_in.get(f"{base}?limit=25&from=26")).text()
    sent = await (await signed_in.get(f"{base}?outcome=sent&outcome=pending")).text()
    failed = await (await signed_in.get(f"{base}?outcome=failed")).text()
    download = await signed_in.get(f"{base}/contacts.csv")
    rows = list(csv.DictReader(io.StringIO(await download.text())))

    assert "Showing contacts 1 to 25 of 30." in first
    assert f'href="{base}?from=26&amp;limit=25#contacts"' in first
    assert "Showing contacts 26 to 30 of 30." in second
    assert "Showing matching contacts from number 1 to 30 (of 30)." in sent
    assert "no contacts match" in failed
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert len(rows) == 30
    assert {r["outcome"] for r in rows} == {"sent"}


async def test_the_sessions_page_shows_what_waha_says(
    signed_in: Client, gateway: FakeWahaGateway
) -> None:
    await create(signed_in, n=2)
    await finish_runs(signed_in)
    gateway.status = "SCAN_QR_CODE"

    page = await (await signed_in.get("/ui/sessions")).text()

    assert 'data-session="default"' in page
    assert "cannot send while SCAN_QR_CODE" in page
    assert "2 sent today" in page
    assert 'href="/ui/sessions/default/settings"' in page


async def test_the_audit_feed_is_newest_first_and_verify_finds_nothing_wrong(
    signed_in: Client,
) -> None:
    created = await create(signed_in, n=2, name="Audited")
    await finish_runs(signed_in)

    feed = await (await signed_in.get("/ui/audit")).text()
    verified = await (await signed_in.get(f"/ui/audit/verify?campaign={created['id']}")).text()
    everything = await (await signed_in.get("/ui/audit/verify")).text()

    assert feed.index("CampaignCompleted") < feed.index("CampaignStarted")
    assert "Audited" in feed
    assert "Verified 1 campaign(s): no findings." in verified
    assert "compared with the log, row by row" in verified
    assert "Verified 1 campaign(s): no findings." in everything


async def test_the_opt_outs_page_shows_now_that_the_service_keeps_the_list(
    signed_in: Client,
) -> None:
    created = await create(signed_in)
    await finish_runs(signed_in)
    page = await (await signed_in.get(f"/ui/campaigns/{created['id']}")).text()

    opt_outs = await signed_in.get("/ui/opt-outs")

    assert opt_outs.status == 200
    assert 'href="/ui/opt-outs"' in page


async def test_the_failed_contacts_are_retried_as_a_new_campaign_from_the_page(
    signed_in: Client, services: Services, gateway: FakeWahaGateway
) -> None:
    gateway.send_results.append(GatewayRejectedError("bad chat id", status=400))
    created = await create(signed_in)
    await finish_runs(signed_in)
    page = await (await signed_in.get(f"/ui/campaigns/{created['id']}")).text()
    assert 'id="action-retry"' in page

    response = await signed_in.post(
        f"/ui/campaigns/{created['id']}/retry", data={"csrf": csrf_of(page)}, allow_redirects=False
    )
    await finish_runs(signed_in)

    assert response.status == 303
    new_id = UUID(response.headers["Location"].rsplit("/", 1)[1])
    retried = services.campaigns.campaign(new_id)
    assert (retried.total, retried.retry_of) == (1, UUID(created["id"]))
    assert services.campaigns.campaign(UUID(created["id"])).retried_as == new_id
