"""/docs and /openapi.json: readable without a token, served whole from this service."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import aiohttp

from adapters.http_api.docs import STATIC_DIR
from tests.adapters.http_api.conftest import TOKEN, Client

VENDORED = STATIC_DIR / "swagger-ui"
# A URL with a scheme or a host: a page that names one would fetch from outside.
_EXTERNAL = re.compile(r"(?:https?:)?//[\w.-]+")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in {"src", "href"} and value]


async def public_get(client: Client, path: str) -> tuple[int, str, bytes]:
    """GET `path` without the client's token: status, content type and body."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(client.make_url(path)) as response,
    ):
        return response.status, response.content_type, await response.read()


async def test_the_openapi_document_needs_no_token(client: Client) -> None:
    status, content_type, body = await public_get(client, "/openapi.json")

    assert status == 200
    assert content_type == "application/json"
    assert b'"openapi": "3.1.0"' in body
    assert TOKEN.encode() not in body


async def test_the_reference_page_needs_no_token_and_names_no_other_host(client: Client) -> None:
    status, content_type, body = await public_get(client, "/docs")
    page = body.decode()

    assert status == 200
    assert content_type == "text/html"
    assert _EXTERNAL.search(page) is None
    async with aiohttp.ClientSession() as session:
        response = await session.get(client.make_url("/docs"))
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


async def test_every_file_the_page_links_is_served_without_a_token(client: Client) -> None:
    _, _, body = await public_get(client, "/docs")
    parser = _Links()
    parser.feed(body.decode())

    served = {link: await public_get(client, f"/{link}") for link in parser.links}

    assert len(served) == 4
    assert all(status == 200 and content for status, _, content in served.values())
    types = {link.rsplit(".", 1)[-1]: content_type for link, (_, content_type, _) in served.items()}
    assert types["css"] == "text/css"
    assert types["png"] == "image/png"
    assert types["js"] in {"text/javascript", "application/javascript"}


async def test_the_page_renders_this_services_document_with_no_outside_validator(
    client: Client,
) -> None:
    _, _, script = await public_get(client, "/docs/assets/docs.js")

    assert b'url: "openapi.json"' in script
    assert b"validatorUrl: null" in script
    assert _EXTERNAL.search(script.decode()) is None


async def test_the_license_is_served_beside_swagger_ui(client: Client) -> None:
    status, _, licence = await public_get(client, "/docs/assets/swagger-ui/LICENSE")

    assert status == 200
    assert b"Apache License" in licence
    assert (VENDORED / "NOTICE").read_text().startswith("swagger-ui")


def test_the_vendored_files_are_the_pinned_ones() -> None:
    record = (VENDORED / "VENDORED.md").read_text()
    lines = re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.MULTILINE)
    pinned = {name: digest for digest, name in lines}

    files = {p.name for p in VENDORED.iterdir() if p.name != "VENDORED.md"}
    assert set(pinned) == files
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name


async def test_a_path_out_of_the_assets_folder_is_not_served(client: Client) -> None:
    for path in ("/docs/assets/../docs.py", "/docs/assets/%2e%2e/docs.py"):
        status, _, body = await public_get(client, path)

        # Out of the folder is no asset: unknown (404), forbidden (403), or not public (401).
        assert status in {401, 403, 404}
        assert b"STATIC_DIR" not in body


def test_the_assets_folder_holds_no_python() -> None:
    assert not list(Path(STATIC_DIR).rglob("*.py"))
