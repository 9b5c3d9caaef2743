"""Pages that wait for features other engineers add: hidden until the service has them."""

from __future__ import annotations

from aiohttp import web

from adapters.console import commands
from adapters.console.keys import STATE, Features
from adapters.console.mount import features_of
from tests.adapters.console.conftest import Client


async def _nothing(_request: web.Request) -> web.Response:
    return web.Response()


def test_the_opt_out_list_is_found_by_its_routes() -> None:
    without = web.Application()
    with_list = web.Application()
    with_list.router.add_get("/opt-outs", _nothing)

    assert features_of(without).opt_outs is False
    assert features_of(with_list).opt_outs is True


def test_retry_is_offered_where_the_service_has_the_route() -> None:
    with_route, without = web.Application(), web.Application()
    with_route.router.add_post(commands.RETRY_PATH, _nothing)

    assert (features_of(with_route).retry, features_of(without).retry) == (True, False)


async def test_the_opt_outs_page_and_its_entry_show_once_the_service_has_the_list(
    signed_in: Client,
) -> None:
    assert signed_in.app is not None
    (console,) = [a for a in signed_in.app._subapps if STATE in a]
    console[STATE].features = Features(opt_outs=True)

    page = await signed_in.get("/ui/opt-outs?q=%3Cb%3E")
    text = await page.text()

    assert page.status == 200
    assert 'href="/ui/opt-outs" aria-current="page"' in text
    assert "No opt-outs match “&lt;b&gt;”." in text
