"""No answer and no log record shows a secret or a stack trace, whatever goes wrong."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.bootstrap import Services
from tests.adapters.http_api.conftest import (
    SECRETS,
    TOKEN,
    Client,
    anonymous,
    assert_problem,
    campaign_body,
    finish_runs,
    signed,
)
from tests.adapters.http_api.test_webhooks import ack


def boom(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"database said no; token was {TOKEN}")


async def test_an_unexpected_error_is_a_500_without_details(
    client: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.campaigns, "campaign", boom)

    response = await client.get("/campaigns/00000000-0000-4000-8000-000000000000")

    assert response.status == 500
    text = await response.text()
    assert_problem(await response.json(), 500)
    assert "Traceback" not in text
    assert "database said no" not in text
    assert TOKEN not in text


async def test_secrets_never_reach_answers_or_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    created = await client.post("/campaigns", json=campaign_body())
    texts.append(await created.text())
    campaign_id = (await created.json())["id"]
    await finish_runs(client)
    paths = (
        "/campaigns",
        f"/campaigns/{campaign_id}",
        f"/campaigns/{campaign_id}/events",
        f"/campaigns/{campaign_id}/contacts",
        "/events",
        "/metrics",
        "/openapi.json",
        "/healthz",
        "/nowhere",
    )
    texts += [await (await client.get(path)).text() for path in paths]
    commands = ("pause", "resume", "cancel")
    texts += [await (await client.post(f"/campaigns/{campaign_id}/{c}")).text() for c in commands]
    texts.append(await (await client.post("/campaigns", json={"name": 1})).text())
    _, refused, _ = await anonymous(client, "GET", "/campaigns", {"Authorization": "Bearer x"})
    texts.append(str(refused))
    raw, headers = signed(ack("3EB0", "4915110000000@c.us", 3))
    bad = await client.post("/webhooks/waha", data=raw, headers=headers | {"X-Webhook-Hmac": "0"})
    texts.append(await bad.text())

    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], secret
        assert not [m for m in logged if secret in m], secret
