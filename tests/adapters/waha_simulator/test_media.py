"""Media sends beside sendImage: sendFile, sendVideo and sendVoice, in WAHA's request shapes."""

from __future__ import annotations

import hashlib
from base64 import b64encode
from typing import Any

import aiohttp
import pytest

from adapters.waha_simulator import Endpoint, Fault, FaultKind
from tests.adapters.waha_simulator.support import CHAT, Simulate

PDF = b"%PDF-1.4 not really"
MP4 = b"\x00\x00\x00\x18ftypmp42 not really"
OGG = b"OggS not really"


def media_body(data: bytes, mimetype: str, **fields: Any) -> dict[str, Any]:
    file = {"mimetype": mimetype, "filename": "offer.bin", "data": b64encode(data).decode()}
    return {"session": "default", "chatId": CHAT, "file": file, **fields}


FILE = media_body(PDF, "application/pdf", caption="the offer")
VIDEO = media_body(MP4, "video/mp4", caption="watch", convert=False)
VOICE = media_body(OGG, "audio/ogg; codecs=opus", convert=True)
SENDS = [
    pytest.param("sendFile", FILE, "document", PDF, "documentMessage", id="file"),
    pytest.param("sendVideo", VIDEO, "video", MP4, "videoMessage", id="video"),
    pytest.param("sendVoice", VOICE, "voice", OGG, "audioMessage", id="voice"),
]


@pytest.mark.parametrize(("path", "body", "kind", "data", "field"), SENDS)
async def test_a_media_send_answers_201_in_the_noweb_shape(
    simulate: Simulate, path: str, body: dict[str, Any], kind: str, data: bytes, field: str
) -> None:
    client, _ = await simulate()

    answer = await client.post(f"/api/{path}", json=body)
    sent = await answer.json()

    assert answer.status == 201
    assert sent["key"]["remoteJid"] == "5511999990000@s.whatsapp.net"
    assert sent["key"]["id"].startswith("3EB0")
    assert sent["message"][field]["fileLength"] == str(len(data))
    assert sent["status"] == "PENDING"


@pytest.mark.parametrize(("path", "body", "kind", "data", "field"), SENDS)
async def test_a_media_send_is_in_the_ledger_with_its_kind_and_hash(
    simulate: Simulate, path: str, body: dict[str, Any], kind: str, data: bytes, field: str
) -> None:
    client, sim = await simulate()

    await client.post(f"/api/{path}", json=body)

    [entry] = sim.ledger()
    assert (entry.kind, entry.chat_id) == (kind, CHAT)
    assert entry.media_sha256 == hashlib.sha256(data).hexdigest()
    assert entry.mimetype == body["file"]["mimetype"]
    assert entry.filename == "offer.bin"


async def test_a_document_keeps_its_file_name_and_caption(simulate: Simulate) -> None:
    client, sim = await simulate()

    sent = await (await client.post("/api/sendFile", json=FILE)).json()

    assert sent["message"]["documentMessage"]["fileName"] == "offer.bin"
    assert sent["message"]["documentMessage"]["caption"] == "the offer"
    assert sim.ledger()[0].caption == "the offer"


async def test_a_voice_note_has_no_caption_as_wahas_request_has_none(simulate: Simulate) -> None:
    client, sim = await simulate()

    sent = await (await client.post("/api/sendVoice", json={**VOICE, "caption": "dropped"})).json()

    assert sent["message"]["audioMessage"]["ptt"] is True
    assert "caption" not in sent["message"]["audioMessage"]
    assert sim.ledger()[0].caption is None


async def test_a_video_as_a_note_is_a_round_video(simulate: Simulate) -> None:
    client, _ = await simulate()

    sent = await (await client.post("/api/sendVideo", json={**VIDEO, "asNote": True})).json()

    assert list(sent["message"]) == ["ptvMessage"]


@pytest.mark.parametrize(
    ("path", "body", "mimetype"),
    [("sendVideo", VIDEO, "video/mp4"), ("sendVoice", VOICE, "audio/ogg; codecs=opus")],
)
async def test_video_and_voice_have_a_default_mimetype(
    simulate: Simulate, path: str, body: dict[str, Any], mimetype: str
) -> None:
    client, sim = await simulate()
    file = {key: value for key, value in body["file"].items() if key != "mimetype"}

    answer = await client.post(f"/api/{path}", json={**body, "file": file})

    assert answer.status == 201
    assert sim.ledger()[0].mimetype == mimetype


@pytest.mark.parametrize(("path", "body"), [("sendVideo", VIDEO), ("sendVoice", VOICE)])
async def test_video_and_voice_without_convert_are_a_400(
    simulate: Simulate, path: str, body: dict[str, Any]
) -> None:
    client, sim = await simulate()
    without = {key: value for key, value in body.items() if key != "convert"}

    answer = await client.post(f"/api/{path}", json=without)

    assert answer.status == 400
    assert (await answer.json())["message"] == ["convert must be a boolean value"]
    assert sim.ledger() == []


async def test_a_file_by_url_is_recorded_by_its_url(simulate: Simulate) -> None:
    client, sim = await simulate()
    by_url = {**FILE, "file": {"mimetype": "application/pdf", "url": "https://example.org/a.pdf"}}

    answer = await client.post("/api/sendFile", json=by_url)

    assert answer.status == 201
    [entry] = sim.ledger()
    assert (entry.media_url, entry.media_sha256) == ("https://example.org/a.pdf", None)


@pytest.mark.parametrize("path", ["sendFile", "sendVideo", "sendVoice"])
async def test_a_media_send_without_data_or_url_is_a_422(simulate: Simulate, path: str) -> None:
    client, sim = await simulate()
    body = {**VIDEO, "file": {"mimetype": "video/mp4"}}

    answer = await client.post(f"/api/{path}", json=body)

    assert answer.status == 422
    assert (await answer.json())["message"] == (
        'Either "file.url" or "file.data" must be specified.'
    )
    assert sim.ledger() == []


@pytest.mark.parametrize(("path", "body"), [("sendFile", FILE), ("sendVoice", VOICE)])
async def test_a_media_send_needs_the_session_working(
    simulate: Simulate, path: str, body: dict[str, Any]
) -> None:
    client, sim = await simulate()
    unknown = await client.post(f"/api/{path}", json={**body, "session": "nobody"})
    sim.set_status("default", "STARTING")
    starting = await client.post(f"/api/{path}", json=body)

    assert unknown.status == 404
    assert (starting.status, (await starting.json())["status"]) == (422, "STARTING")
    assert sim.ledger() == []


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [(Endpoint.SEND_FILE, FILE), (Endpoint.SEND_VIDEO, VIDEO), (Endpoint.SEND_VOICE, VOICE)],
)
async def test_faults_are_armed_per_media_endpoint(
    simulate: Simulate, endpoint: Endpoint, body: dict[str, Any]
) -> None:
    client, sim = await simulate()
    sim.add_fault(endpoint, Fault(FaultKind.ACCEPT_THEN_DROP))

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(f"/api/{endpoint.value}", json=body)
    untouched = await client.post("/api/sendImage", json=FILE)

    assert untouched.status == 201
    assert sim.call_count(endpoint) == 1
    assert len(sim.ledger()) == 2
