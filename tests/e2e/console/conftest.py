"""Headless Chromium (Debian's) driven by Playwright, over the real service on loopback.

Like PostgreSQL, the browser is a machine's package: the tests skip with the reason when it is
missing, and fail when CI is set (`make test` installs it; see the Makefile's `browsers`).
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import pytest

from tests.e2e.conftest import TOKEN, Service, ServiceFactory

CHROMIUM: Final = Path(os.environ.get("CAMPAIGNS_TEST_CHROMIUM", "/usr/bin/chromium"))
# This machine refuses outside connections: nothing that would phone home may start.
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS: Final = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "console"
# How long a page may take to show what the test waits for (live parts poll every 2 s).
WITHIN_MS: Final = 20_000

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def browser_required() -> bool:
    """CI must run the browser tests: there a missing browser is a failure, not a skip."""
    return bool(os.environ.get("CI") or os.environ.get("CAMPAIGNS_REQUIRE_BROWSER"))


def browser_missing() -> str | None:
    """Return why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (make install)"
    return None


@pytest.fixture
def chromium() -> Path:
    """Chromium's path; skipped without it, failed without it when CI is set."""
    reason = browser_missing()
    if reason is not None:
        if browser_required():
            pytest.fail(f"{reason} (CI is set, so this fails)")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Chromium profile and a context to open pages in."""
    from playwright.async_api import async_playwright, expect

    # Assertions wait as long as actions do (their own default is 5 s, one sessions poll).
    expect.set_options(timeout=WITHIN_MS)

    profile = tmp_path / "chromium-profile"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(WITHIN_MS)
        try:
            yield context
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
async def page(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A page; its last state is saved as a screenshot under var/test-artifacts/console/."""
    opened = await browser.new_page()
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)


async def sign_in(page: Any, service: Service, token: str = TOKEN) -> None:
    """Sign in through the form, as a person does."""
    await page.goto(service.child.url + "/ui/")
    await page.fill("#token", token)
    await page.click("button[type=submit]")


SignedIn = Callable[..., Awaitable[Service]]


@pytest.fixture
def console(start_service: ServiceFactory, page: Any) -> SignedIn:
    """Start the service and sign the page in."""

    async def start(**env: str) -> Service:
        service = await start_service(**env)
        await sign_in(page, service)
        return service

    return start
