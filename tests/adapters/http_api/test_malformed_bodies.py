"""Bodies aiohttp cannot read (a form without a boundary, a part cut short) are 400s, not 500s.

Each test is a request schemathesis found answered 500; nothing of it may be recorded or stored.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from adapters.http_api.errors import problem_middleware
from app.settings import Settings
from tests.adapters.http_api.conftest import (
    MAX_UPLOAD,
    PNG,
    Client,
    assert_problem,
    campaign_body,
)
from tests.adapters.http_api.test_uploads import campaign_form, image_form

FORM = "multipart/form-data; boundary=XX"
FIELD = {"/campaigns": b"campaign", "/media": b"file"}


def malformed_form(case: str, field: bytes) -> tuple[str, bytes]:
    """Return the Content-Type and the body of a form aiohttp cannot split into parts."""
    header = b'Content-Disposition: form-data; name="' + field + b'"\r\n'
    return {
        "no boundary": ("multipart/form-data", b"--XX\r\n" + header + b"\r\nab\r\n--XX--\r\n"),
        "a header cut short": (FORM, b'--XX\r\nContent-Disposition: form-data; name="'),
        "a part cut short": (FORM, b"--XX\r\n" + header + b"\r\nab"),
        "a header line that is none": (FORM, b"--XX\r\n0.5--XX--\r\n"),
        "no starting boundary": (FORM, header + b"\r\nab"),
        "a part without a name": (FORM, b"--XX\r\nContent-Type: text/csv\r\n\r\nab\r\n--XX--\r\n"),
    }[case]


MALFORMED = (
    "no boundary",
    "a header cut short",
    "a part cut short",
    "a header line that is none",
    "no starting boundary",
    "a part without a name",
)


async def nothing_recorded(client: Client) -> bool:
    events: dict[str, list[object]] = await (await client.get("/events")).json()
    return events["items"] == []


@pytest.mark.parametrize("path", ["/campaigns", "/media"])
@pytest.mark.parametrize("case", MALFORMED)
async def test_a_form_aiohttp_cannot_split_is_a_bad_request(
    client: Client, settings: Settings, path: str, case: str
) -> None:
    content_type, body = malformed_form(case, FIELD[path])

    response = await client.post(path, data=body, headers={"Content-Type": content_type})

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert_problem(problem, 400)
    assert problem["type"] == "urn:waha-campaigns:problem:bad-multipart"
    assert await nothing_recorded(client)
    assert not Path(settings.campaigns_media_dir).exists()


async def test_a_body_whose_content_encoding_does_not_decode_is_a_bad_request(
    aiohttp_client: AiohttpClient,
) -> None:
    # aiohttp raises this from request.read() when the body stops short or does not inflate;
    # a tiny body fails before any handler runs, so the error is raised here by hand.
    async def reading(_request: web.Request) -> web.Response:
        raise web.RequestPayloadError("Can not decode content-encoding: gzip")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_post("/read", reading)
    client = await aiohttp_client(app)

    response = await client.post("/read", data=b"{}")

    assert response.status == 400
    problem = await response.json()
    assert problem["type"] == "urn:waha-campaigns:problem:unreadable-body"


async def test_a_gzipped_json_body_is_read(client: Client) -> None:
    response = await client.post(
        "/campaigns",
        data=gzip.compress(json.dumps(campaign_body()).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status == 201


async def test_a_cancel_body_that_is_not_json_is_a_bad_request(client: Client) -> None:
    created = await (await client.post("/campaigns", json=campaign_body())).json()

    response = await client.post(
        f"/campaigns/{created['id']}/cancel",
        data=b"\x00",
        headers={"Content-Type": "application/json"},
    )

    assert response.status == 400
    assert (await response.json())["type"] == "urn:waha-campaigns:problem:bad-json"


# -- one 413 ---------------------------------------------------------------------------------


def _json_over_the_limit(by: int) -> bytes:
    body = campaign_body(name="x" * (MAX_UPLOAD + by))
    return json.dumps(body).encode()


async def _too_large(client: Client, path: str, **request: Any) -> dict[str, Any]:
    response = await client.post(path, **request)
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    return problem


async def test_every_body_too_large_gets_the_same_problem(client: Client) -> None:
    json_type = {"Content-Type": "application/json"}
    problems = [
        # A JSON body a little over the limit, and one over aiohttp's own bound.
        await _too_large(client, "/campaigns", data=_json_over_the_limit(1), headers=json_type),
        await _too_large(
            client, "/campaigns", data=_json_over_the_limit(200_000), headers=json_type
        ),
        # A form whose part is over the limit, and one whose declared length is.
        await _too_large(client, "/media", data=image_form(PNG + b"\x00" * MAX_UPLOAD)),
        await _too_large(
            client, "/campaigns", data=campaign_form("phone\n" + "+4915110000000\n" * 6000)
        ),
        # WAHA's webhook, and a cancellation's reason.
        await _too_large(client, "/webhooks/waha", data=b" " * (MAX_UPLOAD + 1)),
        await _too_large(
            client,
            "/campaigns/00000000-0000-0000-0000-000000000000/cancel",
            data=b" " * (MAX_UPLOAD + 1),
            headers=json_type,
        ),
    ]

    assert problems[0] == {
        "type": "urn:waha-campaigns:problem:too-large",
        "title": "Request entity too large",
        "status": 413,
        "detail": f"the body is over {MAX_UPLOAD} bytes (CAMPAIGNS_MAX_UPLOAD_BYTES)",
        "max_bytes": MAX_UPLOAD,
    }
    assert all(problem == problems[0] for problem in problems)
    assert await nothing_recorded(client)
