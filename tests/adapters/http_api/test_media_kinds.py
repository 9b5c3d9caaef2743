"""POST /media takes images, documents, videos and voice notes; campaigns send each its way."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from app.ports import MediaKind
from app.settings import Settings
from tests.adapters.http_api.conftest import (
    AUTH,
    NO_PACING_WARNINGS,
    TEST_LANES,
    Client,
    assert_problem,
    campaign_body,
    finish_runs,
    make_settings,
)
from tests.adapters.media_samples import DOCX, MP4, OGG_OPUS, PDF
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock, ParkingSleeper, SeededRandom


def media_form(data: bytes, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return form


async def upload(client: Client, data: bytes, filename: str) -> dict[str, object]:
    response = await client.post("/media", data=media_form(data, filename))
    assert response.status == 201, await response.text()
    stored: dict[str, object] = await response.json()
    return stored


@pytest.mark.parametrize(
    ("data", "kind", "mimetype", "filename"),
    [
        (PDF, "document", "application/pdf", "Terms 2026.pdf"),
        (
            DOCX,
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Price list.docx",
        ),
        (MP4, "video", "video/mp4", None),
        (OGG_OPUS, "voice", "audio/ogg; codecs=opus", None),
    ],
    ids=["pdf", "docx", "mp4", "ogg"],
)
async def test_media_of_each_kind_is_stored_and_answers_its_kind(
    client: Client, data: bytes, kind: str, mimetype: str, filename: str | None
) -> None:
    stored = await upload(client, data, filename or "upload.bin")

    assert (stored["kind"], stored["mimetype"], stored["size"]) == (kind, mimetype, len(data))
    assert stored["filename"] == filename


async def test_a_file_over_its_kinds_limit_is_refused_and_not_stored(
    tmp_path: Path,
    clock: ManualClock,
    sleeper: ParkingSleeper,
    rng: SeededRandom,
    gateway: FakeWahaGateway,
    aiohttp_client: AiohttpClient,
) -> None:
    settings = make_settings(tmp_path, campaigns_max_voice_bytes=len(OGG_OPUS) - 1)
    services = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    try:
        app = http_app(services, gateway=gateway, lane_settings=TEST_LANES, start_supervisor=False)
        client = await aiohttp_client(app, headers=AUTH)

        response = await client.post("/media", data=media_form(OGG_OPUS, "hello.ogg"))
        problem = await response.json()
    finally:
        services.close()

    assert response.status == 413
    assert_problem(problem, 413)
    assert (problem["media_kind"], problem["max_bytes"]) == ("voice", len(OGG_OPUS) - 1)
    assert "CAMPAIGNS_MAX_VOICE_BYTES" in problem["detail"]
    assert not Path(settings.campaigns_media_dir).exists() or not list(
        Path(settings.campaigns_media_dir).iterdir()
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [(PDF, MediaKind.DOCUMENT), (MP4, MediaKind.VIDEO)],
    ids=["document", "video"],
)
async def test_a_campaign_sends_a_document_or_video_captioned_by_its_text(
    client: Client, gateway: FakeWahaGateway, data: bytes, kind: MediaKind
) -> None:
    stored = await upload(client, data, "Terms.pdf")

    response = await client.post(
        "/campaigns",
        json=campaign_body(1, message={"text": "For you, {name}", "media_id": stored["id"]}),
    )
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201
    assert created["message"]["image"]["kind"] == kind.value
    assert created["warnings"] == NO_PACING_WARNINGS  # and nothing of the media or session
    sent = gateway.sent[0]
    assert sent.image is not None
    assert (sent.image.kind, sent.image.data, sent.text) == (kind, data, "For you, Contact 0")
    if kind is MediaKind.DOCUMENT:
        assert sent.image.filename == "Terms.pdf"


async def test_a_voice_campaign_is_taken_with_a_warning_and_sent_without_its_text(
    client: Client, gateway: FakeWahaGateway, services: Services
) -> None:
    stored = await upload(client, OGG_OPUS, "hello.ogg")

    response = await client.post(
        "/campaigns",
        json=campaign_body(2, message={"text": "Hi {name}", "media_id": stored["id"]}),
    )
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201
    assert any("voice note" in w and "not sent" in w for w in created["warnings"])
    assert [(s.image.kind if s.image else None, s.text) for s in gateway.sent] == [
        (MediaKind.VOICE, ""),
        (MediaKind.VOICE, ""),
    ]
    assert services.campaigns.campaign(created["id"]).message["text"] == "Hi {name}"


async def test_a_campaign_naming_unknown_media_is_refused_and_nothing_is_recorded(
    client: Client, services: Services, settings: Settings
) -> None:
    response = await client.post(
        "/campaigns", json=campaign_body(1, message={"text": "Hi", "media_id": "0" * 64})
    )
    problem = await response.json()

    assert response.status == 422
    assert problem["errors"][0]["field"] == "message.media_id"
    assert services.campaigns.all_campaign_ids() == []
