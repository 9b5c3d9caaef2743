"""AiohttpWahaGateway: the WahaGateway port over HTTP, on one injected aiohttp ClientSession."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

import aiohttp
from pydantic import SecretStr

from adapters.waha import wire
from app.ports import (
    Clock,
    GatewayError,
    GatewayUnavailableError,
    ImagePayload,
    MessageIdsUnsupportedError,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId

LOGGER_NAME: Final = "waha_campaigns.waha"
# WAHA waits up to 5 s for a session to reach WORKING before its 422, so the total budget must
# leave that wait, a media upload and the send itself plenty of room.
DEFAULT_TOTAL_TIMEOUT_S: Final = 30.0
DEFAULT_CONNECT_TIMEOUT_S: Final = 5.0
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(
    total=DEFAULT_TOTAL_TIMEOUT_S, connect=DEFAULT_CONNECT_TIMEOUT_S
)

_log = logging.getLogger(LOGGER_NAME)


def _transport_reason(error: BaseException) -> str:
    # aiohttp's own texts name the URL, and with it the phone being checked: keep the kind.
    strerror = getattr(error, "strerror", None)
    kind = type(error).__name__
    return wire.shorten(f"{kind}: {strerror}" if isinstance(strerror, str) else kind)


class AiohttpWahaGateway:
    """The WahaGateway port over WAHA's HTTP API: one request per call, failures as port errors."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: SecretStr | None,
        clock: Clock,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._clock = clock
        self._timeout = timeout or DEFAULT_TIMEOUT

    async def session_status(self, session: str) -> SessionStatusFact:
        """Return the session's status as WAHA reports it now, or raise a GatewayError."""
        body = await self._exchange(wire.session_status_request(session))
        return wire.parse_session_status(session, body, observed_at=self._clock.now())

    async def check_exists(self, session: str, phone: str) -> ChatId | None:
        """Return the chat id WAHA uses for `phone`, or None when it is not on WhatsApp."""
        body = await self._exchange(wire.check_exists_request(session, phone))
        return wire.parse_check_exists(body)

    async def send_text(
        self, session: str, chat_id: str, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        """Send a text message and return WAHA's receipt."""
        del message_id  # interim: client ids arrive with the WAHA client's next version
        body = await self._exchange(wire.send_text_request(session, chat_id, text))
        return wire.parse_send_receipt(chat_id, body)

    async def new_message_id(self, session: str) -> str:
        """Interim: client-supplied ids are not used yet, so lookups go by text."""
        raise MessageIdsUnsupportedError(f"message ids are not used for session {session!r} yet")

    async def find_message(self, session: str, message_id: str) -> SentMessage | None:
        """Interim: see new_message_id."""
        raise MessageIdsUnsupportedError(
            f"message {message_id[:16]} of session {session!r} cannot be looked up yet"
        )

    async def send_image(
        self, session: str, chat_id: str, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image, its bytes inline as base64, and return WAHA's receipt."""
        body = await self._exchange(wire.send_image_request(session, chat_id, image, caption))
        return wire.parse_send_receipt(chat_id, body)

    async def recent_own_messages(
        self, session: str, chat_id: str, since: datetime
    ) -> list[SentMessage]:
        """Return our own messages in the chat since `since`, newest first."""
        body = await self._exchange(wire.recent_own_messages_request(session, chat_id, since))
        return wire.parse_own_messages(chat_id, body, since=since)

    async def send_seen(self, session: str, chat_id: str) -> None:
        """Mark the chat as seen."""
        await self._exchange(wire.send_seen_request(session, chat_id))

    async def start_typing(self, session: str, chat_id: str) -> None:
        """Show "typing…" in the chat."""
        await self._exchange(wire.start_typing_request(session, chat_id))

    async def stop_typing(self, session: str, chat_id: str) -> None:
        """Stop showing "typing…" in the chat."""
        await self._exchange(wire.stop_typing_request(session, chat_id))

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key is not None:
            headers["X-Api-Key"] = self._api_key.get_secret_value()
        return headers

    async def _exchange(self, request: wire.WahaRequest) -> bytes:
        """Send `request` and return the body of a 2xx answer, or raise the port error."""
        try:
            async with self._session.request(
                request.method,
                self._base_url + request.path,
                params=request.query or None,
                json=request.body,
                headers=self._headers(),
                timeout=self._timeout,
                # A redirect could carry X-Api-Key to another host, and WAHA never sends one.
                allow_redirects=False,
            ) as response:
                status = response.status
                body = await response.read()
        # Nothing was written yet: the connection never opened. Translated `from None`, since
        # aiohttp's texts carry the URL and with it the phone being checked.
        except (
            aiohttp.ConnectionTimeoutError,
            aiohttp.ClientConnectorError,
            aiohttp.InvalidURL,
        ) as exc:
            reason = _transport_reason(exc)
            error: GatewayError = GatewayUnavailableError(
                f"WAHA {request.operation} unreachable: {reason}", reason=reason
            )
            self._log_failure(request, error)
            raise error from None
        # The request may have been written: a read timeout, a reset, a disconnect.
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = wire.error_for_lost_answer(request, _transport_reason(exc))
            self._log_failure(request, error)
            raise error from None
        failure = wire.error_for_reply(request, status, body)
        if failure is not None:
            self._log_failure(request, failure)
            raise failure
        _log.debug("WAHA %s answered HTTP %d", request.operation, status)
        return body

    @staticmethod
    def _log_failure(request: wire.WahaRequest, error: GatewayError) -> None:
        # The error text is built short and free of media and keys, so it is safe to log.
        _log.warning("WAHA %s failed (%s): %s", request.operation, type(error).__name__, error)
