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
    MediaPayload,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId
from domain.session import SessionName

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

    async def session_status(self, session: SessionName) -> SessionStatusFact:
        """Return the session's status as WAHA reports it now, or raise a GatewayError."""
        body = await self._exchange(wire.session_status_request(session))
        return wire.parse_session_status(session, body, observed_at=self._clock.now())

    async def check_exists(self, session: SessionName, phone: str) -> ChatId | None:
        """Return the chat id WAHA uses for `phone`, or None when it is not on WhatsApp."""
        body = await self._exchange(wire.check_exists_request(session, phone))
        return wire.parse_check_exists(body)

    async def phone_of_lid(self, session: SessionName, lid: str) -> ChatId | None:
        """Return the `<digits>@c.us` chat behind a hidden `…@lid` chat, or None."""
        body = await self._exchange(wire.phone_of_lid_request(session, lid))
        return wire.parse_phone_of_lid(body)

    async def new_message_id(self, session: SessionName) -> str:
        """Return a fresh raw message id; MessageIdsUnsupportedError on an older WAHA."""
        body = await self._exchange(wire.new_message_id_request(session))
        return wire.parse_new_message_id(body)

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        """Send a text message (as raw id `message_id` when given) and return WAHA's receipt."""
        request = wire.send_text_request(session, chat_id, text, message_id=message_id)
        return wire.parse_send_receipt(chat_id, await self._exchange(request))

    async def send_image(
        self, session: SessionName, chat_id: ChatId, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image, its bytes inline as base64, and return WAHA's receipt."""
        body = await self._exchange(wire.send_image_request(session, chat_id, image, caption))
        return wire.parse_send_receipt(chat_id, body)

    async def send_media(
        self,
        session: SessionName,
        chat_id: ChatId,
        media: MediaPayload,
        caption: str,
        *,
        message_id: str | None = None,  # noqa: ARG002  (the port's; WAHA's media has no id)
    ) -> SendReceipt:
        """Send a media file by its kind, its bytes inline as base64; return WAHA's receipt.

        `message_id` is not sent: WAHA's media requests have no `id` (see the port).
        """
        request = wire.send_media_request(session, chat_id, media, caption)
        return wire.parse_send_receipt(chat_id, await self._exchange(request))

    async def find_message(self, session: SessionName, message_id: str) -> SentMessage | None:
        """Return our message with raw id `message_id`, or None when WAHA holds none."""
        request = wire.find_message_request(session, message_id)
        status, body = await self._transfer(request)
        if wire.is_message_not_found(status, body):
            _log.debug("WAHA %s: no message %s", request.operation, message_id)
            return None
        self._raise_for(request, status, body)
        return wire.parse_found_message(body)

    async def recent_own_messages(
        self, session: SessionName, chat_id: ChatId, since: datetime
    ) -> list[SentMessage]:
        """Return our own messages in the chat since `since`, newest first."""
        body = await self._exchange(wire.recent_own_messages_request(session, chat_id, since))
        return wire.parse_own_messages(chat_id, body, since=since)

    async def send_seen(self, session: SessionName, chat_id: ChatId) -> None:
        """Mark the chat as seen."""
        await self._exchange(wire.send_seen_request(session, chat_id))

    async def start_typing(self, session: SessionName, chat_id: ChatId) -> None:
        """Show "typing…" in the chat."""
        await self._exchange(wire.start_typing_request(session, chat_id))

    async def stop_typing(self, session: SessionName, chat_id: ChatId) -> None:
        """Stop showing "typing…" in the chat."""
        await self._exchange(wire.stop_typing_request(session, chat_id))

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key is not None:
            headers["X-Api-Key"] = self._api_key.get_secret_value()
        return headers

    async def _exchange(self, request: wire.WahaRequest) -> bytes:
        """Send `request` and return the body of a 2xx answer, or raise the port error."""
        status, body = await self._transfer(request)
        self._raise_for(request, status, body)
        return body

    async def _transfer(self, request: wire.WahaRequest) -> tuple[int, bytes]:
        """Send `request` and return WAHA's status and body, or raise if none came back."""
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
                return response.status, await response.read()
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

    def _raise_for(self, request: wire.WahaRequest, status: int, body: bytes) -> None:
        """Raise the port error WAHA's answer means, if it is not a success."""
        failure = wire.error_for_reply(request, status, body)
        if failure is not None:
            self._log_failure(request, failure)
            raise failure
        _log.debug("WAHA %s answered HTTP %d", request.operation, status)

    @staticmethod
    def _log_failure(request: wire.WahaRequest, error: GatewayError) -> None:
        # The error text is built short and free of media and keys, so it is safe to log.
        _log.warning("WAHA %s failed (%s): %s", request.operation, type(error).__name__, error)
