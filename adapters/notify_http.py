"""Campaign notifications POSTed to CAMPAIGNS_NOTIFY_URL, signed with HMAC-SHA256.

The body is the notification's JSON, the same bytes for every attempt; the signature is
`X-Campaigns-Signature: sha256=<hex of HMAC-SHA256(CAMPAIGNS_NOTIFY_HMAC_KEY, body)>`.
`X-Campaigns-Notification-Id` names the notification (a receiver drops repeats by it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from pydantic import SecretStr

from app.ports import NotificationDeliveryError

SIGNATURE_HEADER: Final = "X-Campaigns-Signature"
ID_HEADER: Final = "X-Campaigns-Notification-Id"
EVENT_HEADER: Final = "X-Campaigns-Event"
ATTEMPT_HEADER: Final = "X-Campaigns-Delivery-Attempt"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
_OK: Final = range(200, 300)


def signature(key: str, body: bytes) -> str:
    """Return the signature header's value for `body`: sha256=<hex HMAC-SHA256>."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def encoded(payload: Mapping[str, Any]) -> bytes:
    """Return the body sent for a payload: compact JSON, keys sorted, the same every time."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


class AiohttpNotificationTransport:
    """The NotificationTransport port over HTTP, on an injected aiohttp ClientSession."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        hmac_key: SecretStr | None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._session = session
        self._url = url
        self._key = hmac_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def deliver(
        self, notification_id: str, kind: str, attempt: int, payload: Mapping[str, Any]
    ) -> int:
        """POST one attempt; return the 2xx status, or raise NotificationDeliveryError."""
        body = encoded(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "waha-campaigns",
            ID_HEADER: notification_id,
            EVENT_HEADER: kind,
            ATTEMPT_HEADER: str(attempt),
        }
        if self._key is not None:
            headers[SIGNATURE_HEADER] = signature(self._key.get_secret_value(), body)
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            # The kind only: aiohttp's texts name the URL, which may carry a password.
            raise NotificationDeliveryError(f"no answer ({type(error).__name__})") from None
        if status not in _OK:
            raise NotificationDeliveryError(f"HTTP {status}", status=status)
        return status
