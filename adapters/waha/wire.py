"""Sans-I/O WAHA in one namespace: its requests, its replies and its webhooks.

The code lives in `requests`, `replies` and `webhooks`; this module gathers their public names
for `from adapters.waha import wire` and `from adapters.waha.wire import ...`.
"""

from __future__ import annotations

from adapters.waha.replies import (
    REASON_MAX_CHARS,
    Json,
    error_for_lost_answer,
    error_for_reply,
    parse_check_exists,
    parse_own_messages,
    parse_send_receipt,
    parse_session_status,
    raw_message_id,
    shorten,
)
from adapters.waha.requests import (
    RECENT_MESSAGES_LIMIT,
    RECONCILIATION_SKEW_SECONDS,
    WahaRequest,
    check_exists_request,
    first_second_to_reconcile,
    recent_own_messages_request,
    send_image_request,
    send_seen_request,
    send_text_request,
    session_status_request,
    start_typing_request,
    stop_typing_request,
)
from adapters.waha.webhooks import (
    ACK_NAMES,
    WEBHOOK_HMAC_HEADER,
    IgnoredWebhook,
    MalformedWebhookError,
    MessageAckWebhook,
    MessageAnyWebhook,
    SessionStatusWebhook,
    WahaWebhook,
    parse_webhook,
    verify_webhook_signature,
    webhook_signature,
)

__all__ = [
    "ACK_NAMES",
    "REASON_MAX_CHARS",
    "RECENT_MESSAGES_LIMIT",
    "RECONCILIATION_SKEW_SECONDS",
    "WEBHOOK_HMAC_HEADER",
    "IgnoredWebhook",
    "Json",
    "MalformedWebhookError",
    "MessageAckWebhook",
    "MessageAnyWebhook",
    "SessionStatusWebhook",
    "WahaRequest",
    "WahaWebhook",
    "check_exists_request",
    "error_for_lost_answer",
    "error_for_reply",
    "first_second_to_reconcile",
    "parse_check_exists",
    "parse_own_messages",
    "parse_send_receipt",
    "parse_session_status",
    "parse_webhook",
    "raw_message_id",
    "recent_own_messages_request",
    "send_image_request",
    "send_seen_request",
    "send_text_request",
    "session_status_request",
    "shorten",
    "start_typing_request",
    "stop_typing_request",
    "verify_webhook_signature",
    "webhook_signature",
]
