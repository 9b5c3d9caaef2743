"""The problem middleware: input beyond a bound the edge does not check yet is no 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from adapters.http_api.errors import field_name, problem_middleware


def raising(error: Exception) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_request: web.Request) -> web.Response:
        raise error

    return handler


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OverflowError("date value out of range"), 422),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), 422),
        (RecursionError("maximum recursion depth exceeded"), 400),
    ],
)
async def test_an_overflow_or_a_recursion_is_a_problem_without_a_trace(
    aiohttp_client: AiohttpClient,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    status: int,
) -> None:
    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/boom", raising(error))
    client = await aiohttp_client(app)

    with caplog.at_level(logging.WARNING, logger="waha_campaigns.http"):
        response = await client.get("/boom")

    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status
    assert "Traceback" not in await response.text()
    assert [r.exc_info for r in caplog.records] == [None]
    assert type(error).__name__ in caplog.records[0].getMessage()


def test_a_bad_dict_key_is_named_as_a_field() -> None:
    location = ("message", "defaults", "first name", "[key]")

    assert field_name(location) == "message.defaults.first name"


def test_a_long_key_is_cut_in_the_field_name() -> None:
    assert field_name(("contacts", 3, "variables", "k" * 500, "[key]")) == (
        "contacts[3].variables." + "k" * 64
    )
