"""Bearer tokens: every route but /healthz and the webhook needs one; 401 otherwise."""

from __future__ import annotations

import pytest

from adapters.http_api.routes import ENDPOINTS
from tests.adapters.http_api.conftest import TOKEN, Client, anonymous, assert_problem

SOME_ID = "00000000-0000-4000-8000-000000000000"
PROTECTED = [
    (e.method, e.path.format(campaign_id=SOME_ID, session="default", phone="+4915112345678"))
    for e in ENDPOINTS
    if not e.public
]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN],
)
async def test_a_missing_or_wrong_token_is_refused(
    client: Client, authorization: str | None
) -> None:
    headers = None if authorization is None else {"Authorization": authorization}

    status, body, response_headers = await anonymous(client, "GET", "/campaigns", headers)

    assert status == 401
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(body, 401)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_protected_route_refuses_without_a_token(
    client: Client, method: str, path: str
) -> None:
    status, _, _ = await anonymous(client, method, path)

    assert status == 401


async def test_the_scheme_is_case_insensitive(client: Client) -> None:
    status, _, _ = await anonymous(
        client, "GET", "/campaigns", {"Authorization": f"bearer {TOKEN}"}
    )

    assert status == 200


async def test_health_needs_no_token(client: Client) -> None:
    status, body, _ = await anonymous(client, "GET", "/healthz")

    assert status == 200
    assert body == {"status": "ok"}


async def test_a_path_spelt_like_a_public_one_is_not_public(client: Client) -> None:
    status, _, _ = await anonymous(client, "GET", "/healthz/")

    assert status == 401
