"""Signing in with the token once, the session cookie, CSRF, signing out; the API's token stays."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from pydantic import SecretStr
from yarl import URL

from adapters.console.auth import COOKIE, IDLE_LIMIT, ConsoleSessions
from adapters.console.pages.sign_in import safe_next
from tests.adapters.console.conftest import Client, csrf_of
from tests.adapters.http_api.conftest import TOKEN
from tests.adapters.http_api.test_malformed_bodies import MALFORMED, malformed_form
from tests.fakes.system import ManualClock


async def test_pages_lead_to_the_sign_in_page_until_signed_in(browser: Client) -> None:
    response = await browser.get("/ui/campaigns?status=Paused", allow_redirects=False)

    assert response.status == 303
    location = URL(response.headers["Location"])
    assert location.path == "/ui/sign-in"
    assert location.query["next"] == "/ui/campaigns?status=Paused"


async def test_the_root_leads_to_the_console(browser: Client) -> None:
    response = await browser.get("/", allow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == "/ui/"


async def test_a_wrong_token_is_a_plain_message_and_is_never_echoed(browser: Client) -> None:
    form = await browser.get("/ui/sign-in")
    wrong = "not-the-token-9f8e7d"

    response = await browser.post(
        "/ui/sign-in", data={"csrf": csrf_of(await form.text()), "token": wrong, "next": "/ui/"}
    )
    page = await response.text()

    assert response.status == 401
    assert "That is not this service&#39;s API token" in page
    assert wrong not in page
    assert TOKEN not in page
    follow = await browser.get("/ui/campaigns", allow_redirects=False)
    assert follow.status == 303


async def test_the_right_token_opens_a_session_whose_cookie_is_not_the_token(
    browser: Client,
) -> None:
    form = await browser.get("/ui/sign-in")
    before = browser.session.cookie_jar.filter_cookies(browser.make_url("/ui/"))[COOKIE].value

    response = await browser.post(
        "/ui/sign-in",
        data={"csrf": csrf_of(await form.text()), "token": TOKEN, "next": "/ui/sessions"},
        allow_redirects=False,
    )

    assert response.status == 303
    assert response.headers["Location"] == "/ui/sessions"
    cookie = response.cookies[COOKIE]
    assert cookie.value != TOKEN
    assert TOKEN not in response.headers.get("Set-Cookie", "")
    assert cookie.value != before  # a new id once signed in: a known id is worth nothing
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/ui"
    page = await browser.get("/ui/campaigns")
    assert page.status == 200
    assert TOKEN not in await page.text()


async def test_a_form_without_its_csrf_token_is_refused(signed_in: Client) -> None:
    response = await signed_in.post("/ui/sign-out", data={}, allow_redirects=False)

    assert response.status == 403
    assert "The form has expired" in await response.text()
    assert (await signed_in.get("/ui/campaigns", allow_redirects=False)).status == 200


async def test_the_sign_in_form_needs_its_csrf_token_too(browser: Client) -> None:
    await browser.get("/ui/sign-in")

    response = await browser.post("/ui/sign-in", data={"token": TOKEN}, allow_redirects=False)

    assert response.status == 403


async def test_signing_out_ends_the_session(signed_in: Client) -> None:
    page = await signed_in.get("/ui/campaigns")
    cookie = signed_in.session.cookie_jar.filter_cookies(signed_in.make_url("/ui/"))[COOKIE].value

    response = await signed_in.post(
        "/ui/sign-out", data={"csrf": csrf_of(await page.text())}, allow_redirects=False
    )

    assert response.status == 303
    assert response.headers["Location"] == "/ui/sign-in?signed_out=1"
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as replay:
        again = await replay.get(signed_in.make_url("/ui/campaigns"), allow_redirects=False)
        assert again.status == 303  # the old cookie opens nothing


async def test_a_live_region_polling_after_sign_out_is_sent_to_sign_in(browser: Client) -> None:
    response = await browser.get("/ui/campaigns/live", headers={"HX-Request": "true"})

    assert response.status == 401
    assert response.headers["HX-Redirect"] == "/ui/sign-in"


@pytest.mark.parametrize(
    "target",
    ["https://elsewhere.example/", "//elsewhere.example/ui/", "/campaigns", "/ui/\\x", ""],
)
def test_after_sign_in_only_console_pages_are_followed(target: str) -> None:
    assert safe_next(target) == "/ui/"


async def test_signing_in_leads_to_the_page_asked_for(browser: Client) -> None:
    form = await browser.get("/ui/sign-in?next=/ui/audit")
    page = await form.text()

    response = await browser.post(
        "/ui/sign-in",
        data={"csrf": csrf_of(page), "token": TOKEN, "next": "/ui/audit"},
        allow_redirects=False,
    )

    assert 'name="next" value="/ui/audit"' in page
    assert response.headers["Location"] == "/ui/audit"


async def test_the_api_still_wants_its_bearer_token_from_a_signed_in_browser(
    signed_in: Client,
) -> None:
    response = await signed_in.get("/campaigns")

    assert response.status == 401
    assert response.content_type == "application/problem+json"


async def test_console_pages_carry_a_strict_content_security_policy(signed_in: Client) -> None:
    response = await signed_in.get("/ui/campaigns")

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"


def test_a_session_expires_after_it_has_been_idle_too_long() -> None:
    clock = ManualClock()
    sessions = ConsoleSessions(SecretStr(TOKEN), clock)
    signed = sessions.sign_in(None, TOKEN)
    assert signed is not None

    clock.advance((IDLE_LIMIT - timedelta(minutes=1)).total_seconds())
    assert sessions.find(signed.id) is signed
    clock.advance(IDLE_LIMIT.total_seconds() + 1)  # idle counts from the last visit

    assert sessions.find(signed.id) is None


def test_the_session_table_stays_bounded() -> None:
    sessions = ConsoleSessions(SecretStr(TOKEN), ManualClock(), limit=3)
    opened = [sessions.open() for _ in range(5)]

    assert len(sessions) == 3
    assert sessions.find(opened[0].id) is None
    assert sessions.find(opened[-1].id) is opened[-1]


def test_a_blank_token_signs_nobody_in() -> None:
    sessions = ConsoleSessions(SecretStr(TOKEN), ManualClock())

    assert sessions.sign_in(None, "") is None
    assert sessions.sign_in(None, TOKEN + " ") is not None  # pasted with a space: still it


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_form_body_that_cannot_be_read_is_a_400_page(
    signed_in: Client, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    content_type, body = malformed_form(case, b"csrf")

    response = await signed_in.post(
        "/ui/campaigns/new", data=body, headers={"Content-Type": content_type}
    )

    assert response.status in {400, 403}  # unreadable, or readable but without its token
    assert response.content_type == "text/html"
    assert "Traceback" not in caplog.text
