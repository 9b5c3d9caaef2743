"""The number's guardrails in a real browser: the opt-out list, and a number's settings form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.console.conftest import ARTIFACTS, SignedIn

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ANA = "+4915123456789"
BEN = "+4917012345678"
CLARA = "+4916098765432"
PHONE_SIZE = {"width": 390, "height": 844}


async def _listed(service: Any) -> list[str]:
    status, body = await service.call("GET", "/opt-outs?limit=100")
    assert status == 200, body
    return [item["phone"] for item in body["items"]]


async def test_the_opt_out_list_add_search_import_and_remove(
    console: SignedIn, page: Any, tmp_path: Path
) -> None:
    service = await console()
    await page.click("nav >> text=Opt-outs")
    await expect(page.locator(".empty")).to_contain_text("Nobody is on the opt-out list yet")

    await page.fill("#phone", "0151 no number")
    await page.click("#add-button")
    await expect(page.locator("#phone-error")).to_be_visible()
    await expect(page.locator("#phone")).to_have_value("0151 no number")
    assert await _listed(service) == []

    await page.fill("#phone", "+49 151 2345 6789")
    await page.fill("#note", "asked by phone")
    await page.click("#add-button")
    await expect(page.locator(".notice.success")).to_contain_text(f"{ANA} is on the opt-out list")
    await expect(page.locator(f'tr[data-phone="{ANA}"]')).to_contain_text("asked by phone")

    upload = tmp_path / "unsubscribed.csv"
    upload.write_text(f"name,phone\nBen,{BEN}\nNobody,12ab\nClara,{CLARA}\nAna,{ANA}\n")
    await page.set_input_files("#file", str(upload))
    await page.click("#import-button")
    report = page.locator("#import-report")
    await expect(report.locator("#import-added")).to_have_text("2")
    await expect(report.locator("#import-already")).to_have_text("1")
    await expect(report.locator("#import-rejected")).to_have_text("1")
    await expect(report.locator("table.rejects tbody tr")).to_have_count(1)
    await expect(report.locator("table.rejects tbody tr")).to_contain_text("line 3")
    await expect(report.locator("table.rejects tbody tr")).to_contain_text("12ab")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "opt-outs-after-import.png"), full_page=True)

    await page.fill("#q", "0170 1234")
    await page.press("#q", "Enter")
    await expect(page.locator("table.opt-outs tbody tr")).to_have_count(1)
    await expect(page.locator("#opt-outs-showing")).to_contain_text("1 matching")

    await page.click(f'tr[data-phone="{BEN}"] a:has-text("Remove")')
    await expect(page.locator("h1")).to_contain_text(f"Take {BEN} off the opt-out list?")
    await page.click("#confirm-remove")
    await expect(page.locator(".notice.success")).to_contain_text(f"{BEN} is off the opt-out list")
    await expect(page.locator("#q")).to_have_value("0170 1234")  # back on the searched page
    await page.click("text=Show the whole list")
    await expect(page.locator("table.opt-outs tbody tr")).to_have_count(2)

    assert sorted(await _listed(service)) == sorted([ANA, CLARA])
    await page.set_viewport_size(PHONE_SIZE)  # the saved screenshot: the list on a phone


async def test_a_numbers_guardrails_are_set_in_its_form(console: SignedIn, page: Any) -> None:
    service = await console()
    status, _ = await service.call("PUT", "/sessions/default/settings", json={"daily_cap": 900})
    assert status == 200
    await page.click("nav >> text=Sessions")
    card = page.locator('[data-session="default"]')
    await expect(card.locator(".sent-today")).to_have_text("0 of 900 sent today")
    await card.locator("text=Settings and details").click()
    await expect(page.locator("h1")).to_have_text("default")
    await expect(page.locator("#daily_cap")).to_have_value("900")

    await page.check("#window_on")
    for day in ("sat", "sun"):
        await page.check(f"#day-{day}")
    await page.fill("#start", "22:00")
    await page.fill("#end", "06:00")
    await page.fill("#timezone", "Europe/Atlantis")
    await page.fill("#daily_cap", "lots")
    await page.click("#save-settings")
    await expect(page.locator("#timezone-error")).to_contain_text("unknown time zone")
    await expect(page.locator("#daily_cap-error")).to_be_visible()
    await expect(page.locator("#daily_cap")).to_have_value("lots")
    await expect(page.locator("#day-sat")).to_be_checked()

    await page.fill("#timezone", "Europe/Berlin")
    await page.fill("#daily_cap", "1,500")
    await page.fill("#warmup_started_on", "2026-01-05")
    await page.fill("#warmup_caps", "20, 50, 100")
    await page.click("#save-settings")
    await expect(page.locator(".notice.success")).to_contain_text("Settings of default saved")
    await expect(page.locator(".sent-today")).to_contain_text("sent today")
    await expect(page.locator(".window-spec")).to_have_text("Sat, Sun 22:00-06:00 Europe/Berlin")
    await expect(page.locator("ol.changes")).to_contain_text("daily cap: 900 → 1,500")

    status, view = await service.call("GET", "/sessions/default")
    assert status == 200
    assert view["settings"]["daily_cap"] == 1500
    assert view["settings"]["window"]["days"] == ["sat", "sun"]
    assert view["settings"]["warmup"] == {"started_on": "2026-01-05", "caps": [20, 50, 100]}
    assert view["settings_changed_by"] == "console"
