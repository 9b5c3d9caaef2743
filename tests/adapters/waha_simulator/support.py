"""What the simulator's tests share: request bodies, a webhook receiver, signature checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from base64 import b64encode
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy

from adapters.waha_simulator import SimulatorConfig, WahaSimulator

Client = TestClient[web.Request, web.Application]
Simulate = Callable[..., Awaitable[tuple[Client, WahaSimulator]]]

QUICK = SimulatorConfig(not_working_wait=0, starting_seconds=None, ack_seconds=(0, 0))
PNG = b"\x89PNG\r\n\x1a\n tiny"
CHAT = "5511999990000@c.us"
TEXT = {"session": "default", "chatId": CHAT, "text": "hello"}
IMAGE = {
    "session": "default",
    "chatId": CHAT,
    "file": {"mimetype": "image/png", "filename": "a.png", "data": b64encode(PNG).decode()},
    "caption": "look",
}
NOT_WORKING = "Session status is not as expected. Try again later or restart the session"


class Receiver:
    """A second server that receives the simulator's webhooks."""

    def __init__(self) -> None:
        self.deliveries: asyncio.Queue[tuple[CIMultiDictProxy[str], bytes]] = asyncio.Queue()
        self.url = ""

    async def receive(self, request: web.Request) -> web.Response:
        self.deliveries.put_nowait((request.headers, await request.read()))
        return web.Response()

    async def next(self) -> tuple[CIMultiDictProxy[str], bytes, dict[str, Any]]:
        async with asyncio.timeout(5):
            headers, raw = await self.deliveries.get()
        return headers, raw, json.loads(raw)


def verify(raw: bytes, headers: CIMultiDictProxy[str], key: str) -> bool:
    expected = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
    return hmac.compare_digest(headers["X-Webhook-Hmac"], expected)
