"""The bodies wire.py builds, checked against WAHA's own OpenAPI request schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters.waha import wire
from app.ports import ImagePayload, MediaKind, MediaPayload

SPEC = Path(__file__).parents[3].parent / "shared" / "waha" / "openapi-2026.7.1.json"
SPEC_URI = "urn:waha:openapi-2026.7.1"
CHAT = "11111111111@c.us"

if not SPEC.exists():
    pytest.skip(
        f"WAHA's OpenAPI spec is not at {SPEC} (the repo's ../shared); CI provides it",
        allow_module_level=True,
    )


# OAS 2026.7.1 types the video and voice files' `mimetype` and `filename` as `object`, though
# their defaults ("video/mp4", "voice-message.mp3") are strings: a slip of the generator. They
# are checked as the strings WAHA reads them as.
MISTYPED_FILE_SCHEMAS = ("VideoBinaryFile", "VideoRemoteFile", "VoiceBinaryFile", "VoiceRemoteFile")


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    schemas = loaded["components"]["schemas"]
    for name in MISTYPED_FILE_SCHEMAS:
        for field in ("mimetype", "filename"):
            if field in schemas[name]["properties"]:
                schemas[name]["properties"][field]["type"] = "string"
    return loaded


@cache
def registry() -> Registry[Any]:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12, so the spec is one resource to resolve in.
    resource: Resource[Any] = Resource.from_contents(spec(), default_specification=DRAFT202012)
    loaded: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return loaded


def request_schema_ref(request: wire.WahaRequest) -> str:
    """Return the `$ref` OAS gives the JSON body of this request's method and path."""
    operation = spec()["paths"][request.path][request.method.lower()]
    ref: str = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return ref


def resolve(ref: str) -> dict[str, Any]:
    contents: dict[str, Any] = registry().resolver().lookup(SPEC_URI + ref).contents
    return contents


def validator_for(ref: str) -> Any:
    return Draft202012Validator({"$ref": SPEC_URI + ref}, registry=registry())


# Each body the adapter sends, and the schema the brief names for it.
CASES = {
    "sendText": (wire.send_text_request("default", CHAT, "Hello {name}"), "MessageTextRequest"),
    "sendImage": (
        wire.send_image_request(
            "default", CHAT, ImagePayload(b"\x89PNG\r\n", "image/png", "offer.png"), "New offer"
        ),
        "MessageImageRequest",
    ),
    "sendText with our id": (
        wire.send_text_request("default", CHAT, "Hello", message_id="BBBBBBBBBBBBBBBBB"),
        "MessageTextRequest",
    ),
    "sendFile": (
        wire.send_media_request(
            "default",
            CHAT,
            MediaPayload(b"%PDF-1.4", "application/pdf", "offer.pdf", MediaKind.DOCUMENT),
            "The offer",
        ),
        "MessageFileRequest",
    ),
    "sendVideo": (
        wire.send_media_request(
            "default", CHAT, MediaPayload(b"\x00ftyp", "video/mp4", "a.mp4", MediaKind.VIDEO), "Hi"
        ),
        "MessageVideoRequest",
    ),
    "sendVoice": (
        wire.send_media_request(
            "default", CHAT, MediaPayload(b"OggS", "audio/ogg", "a.ogg", MediaKind.VOICE), ""
        ),
        "MessageVoiceRequest",
    ),
    "sendSeen": (wire.send_seen_request("default", CHAT), "SendSeenRequest"),
    "startTyping": (wire.start_typing_request("default", CHAT), "ChatRequest"),
    "stopTyping": (wire.stop_typing_request("default", CHAT), "ChatRequest"),
}
REQUESTS = [pytest.param(request, id=name) for name, (request, _) in CASES.items()]


@pytest.mark.parametrize(
    ("request_", "schema"),
    [pytest.param(request, schema, id=name) for name, (request, schema) in CASES.items()],
)
def test_each_request_goes_to_the_path_whose_body_schema_is_the_expected_one(
    request_: wire.WahaRequest, schema: str
) -> None:
    assert request_schema_ref(request_) == f"#/components/schemas/{schema}"


@pytest.mark.parametrize("request_", REQUESTS)
def test_each_request_body_validates_against_its_openapi_schema(
    request_: wire.WahaRequest,
) -> None:
    errors = list(validator_for(request_schema_ref(request_)).iter_errors(request_.body))

    assert [error.message for error in errors] == []


@pytest.mark.parametrize("request_", REQUESTS)
def test_each_request_body_uses_only_fields_the_schema_documents(
    request_: wire.WahaRequest,
) -> None:
    # WAHA silently strips unknown properties (whitelist: true), so a misspelt field would
    # vanish instead of failing: every field we send must be one OAS names.
    schema = resolve(request_schema_ref(request_))
    assert request_.body is not None

    assert set(request_.body) <= set(schema["properties"])


def test_the_image_file_is_the_documented_binary_file_shape() -> None:
    request = wire.send_image_request("default", CHAT, ImagePayload(b"x", "image/png", "a"), "")
    binary_file = resolve("#/components/schemas/BinaryFile")
    assert request.body is not None

    file = request.body["file"]

    assert set(binary_file["required"]) <= set(file) <= set(binary_file["properties"])


def test_the_schema_check_rejects_a_body_without_a_chat_id() -> None:
    request = wire.send_text_request("default", CHAT, "hi")
    assert request.body is not None
    body = {field: value for field, value in request.body.items() if field != "chatId"}

    assert not validator_for(request_schema_ref(request)).is_valid(body)
