"""Pages that wait for features other engineers add: hidden until the service has them."""

from __future__ import annotations

from aiohttp import web

from adapters.console import commands
from adapters.console.mount import features_of
from tests.adapters.console.conftest import Client


async def _nothing(_request: web.Request) -> web.Response:
    return web.Response()


def test_retry_is_offered_where_the_service_has_the_route() -> None:
    with_route, without = web.Application(), web.Application()
    with_route.router.add_post(commands.RETRY_PATH, _nothing)

    assert (features_of(with_route).retry, features_of(without).retry) == (True, False)


async def test_the_opt_outs_page_and_its_entry_are_always_there(signed_in: Client) -> None:
    page = await signed_in.get("/ui/opt-outs?q=%3Cb%3E")
    text = await page.text()

    assert page.status == 200
    assert 'href="/ui/opt-outs" aria-current="page"' in text
    assert "Nobody is on the opt-out list yet, so nothing matches “&lt;b&gt;”." in text
