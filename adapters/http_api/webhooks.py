"""WAHA's webhook: check its HMAC, drop repeats, turn statuses and acks into application calls."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from aiohttp import web

from adapters.http_api.context import ApiContext, ApiRuntime
from adapters.http_api.errors import ProblemError
from adapters.http_api.keys import CONTEXT, RUNTIME
from adapters.http_api.uploads import read_body
from adapters.waha.wire import (
    WEBHOOK_HMAC_HEADER,
    IgnoredWebhook,
    MalformedWebhookError,
    MessageAckWebhook,
    MessageAnyWebhook,
    MessageWebhook,
    SessionStatusWebhook,
    WahaWebhook,
    parse_webhook,
    verify_webhook_signature,
)
from app.blocking import off_loop
from app.opt_outs import keyword_of
from app.ports import GatewayError, InboundMessageFact
from domain.session import SessionName

# WAHA retries a failed webhook with back-off for a while; older than this, it tells of a past
# that later webhooks and the supervisor's own polls have overtaken. Webhooks acted on are
# remembered this long (in the store: across restarts, by every process on it).
STALE_AFTER: Final = timedelta(hours=1)
# Clocks disagree a little; a webhook further ahead than this is not from a WAHA in step.
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
# How often the remembered webhooks older than STALE_AFTER are deleted.
PRUNE_EVERY: Final = timedelta(minutes=10)
WebhookResult = Literal["recorded", "duplicate", "ignored", "stale"]


@dataclass
class WebhookPruning:
    """When the seen webhooks were last pruned by this process."""

    last: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Return whether to prune now; if so, count it as done."""
        if self.last is not None and now - self.last < PRUNE_EVERY:
            return False
        self.last = now
        return True


PRUNING = web.AppKey("webhook_pruning", WebhookPruning)
# A hidden chat: WhatsApp shows a linked id instead of the person's number (waha-api.md §3).
LID_SUFFIX: Final = "@lid"
log = logging.getLogger("waha_campaigns.webhooks")


def webhook_key(event_id: str | None, raw_body: bytes) -> str:
    """Return what identifies a webhook: its envelope id, else the sha256 of its raw body.

    The old envelope has no id: the same (signed) body sent again is the same webhook.
    """
    if event_id is not None:
        return "id:" + event_id
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


# WAHA's event names (OAS 2026.7.1); any other name is counted as "other".
_KNOWN_EVENTS = frozenset(
    {
        "session.status",
        "message",
        "message.any",
        "message.ack",
        "message.ack.group",
        "message.reaction",
        "message.revoked",
        "message.edited",
        "message.waiting",
        "chat.archive",
        "group.join",
        "group.leave",
        "group.v2.join",
        "group.v2.leave",
        "group.v2.update",
        "group.v2.participants",
        "presence.update",
        "poll.vote",
        "poll.vote.failed",
        "call.received",
        "call.accepted",
        "call.rejected",
        "label.upsert",
        "label.deleted",
        "label.chat.added",
        "label.chat.deleted",
        "event.response",
        "event.response.failed",
        "engine.event",
        "state.change",
    }
)


def _event_name(webhook: WahaWebhook) -> str:
    match webhook:
        case SessionStatusWebhook():
            return "session.status"
        case MessageAckWebhook():
            return "message.ack"
        case MessageAnyWebhook():
            return "message.any"
        case MessageWebhook():
            return "message"
        case IgnoredWebhook():
            # The body names the event; unbounded label values would let anyone who may post
            # webhooks grow the metrics without end, so only WAHA's own names are kept.
            return webhook.event if webhook.event in _KNOWN_EVENTS else "other"


def _event_time(webhook: WahaWebhook) -> datetime | None:
    return None if isinstance(webhook, IgnoredWebhook) else webhook.event_time


def is_stale(event_time: datetime | None, now: datetime) -> bool:
    """Whether a webhook stamped `event_time` by WAHA is too old (or too far ahead) to act on."""
    if event_time is None:
        return False  # the old envelope has no timestamp: nothing says it is stale
    return not now - STALE_AFTER <= event_time <= now + FUTURE_TOLERANCE


async def _act(context: ApiContext, runtime: ApiRuntime, webhook: WahaWebhook) -> WebhookResult:
    match webhook:
        case SessionStatusWebhook(fact=fact):
            # Resumes are spawned as tasks: this returns before anyone is messaged.
            await runtime.supervisor.on_session_status(SessionName(fact.session), fact.status)
            return "recorded"
        case MessageAckWebhook(fact=fact):
            # eventsourcing is synchronous: keep its I/O off the event loop.
            found = await off_loop(context.deliveries.record, fact)
            return "recorded" if found is not None else "ignored"
        case MessageWebhook(fact=fact):
            # A reply that is an opt-out keyword: its sender gets nothing more, from any number.
            keywords = context.settings.opt_out_keywords
            sender = await _phone_chat(runtime, fact)
            if sender is None:
                return "ignored"
            entry = await off_loop(context.opt_outs.learn, sender, keywords)
            return "recorded" if entry is not None else "ignored"
        case _:
            return "ignored"


async def _phone_chat(runtime: ApiRuntime, fact: InboundMessageFact) -> InboundMessageFact | None:
    """Return the reply as from its phone's chat: a hidden `…@lid` chat is asked of WAHA.

    None when WAHA knows no phone behind it (logged: that person's STOP cannot be honoured
    by number). A failed lookup is a 502: the webhook is not remembered, so WAHA's retry is
    acted on.
    """
    if not fact.chat_id.endswith(LID_SUFFIX):
        return fact
    try:
        phone_chat = await runtime.gateway.phone_of_lid(SessionName(fact.session), fact.chat_id)
    except GatewayError as error:
        raise ProblemError(
            502,
            "Bad gateway",
            f"WAHA could not say which phone is behind {fact.chat_id}: {error}",
            kind="waha-unavailable",
        ) from None
    if phone_chat is None:
        log.warning(
            "an opt-out reply came from hidden chat %s of session %r, and WAHA knows no phone "
            "behind it: not put on the opt-out list",
            fact.chat_id,
            fact.session,
        )
        return None
    return replace(fact, chat_id=phone_chat)


def _acted_on(webhook: WahaWebhook, keywords: Sequence[str]) -> bool:
    """Whether the webhook is one this service acts on (a reply only if it is a keyword)."""
    if isinstance(webhook, MessageWebhook):
        return keyword_of(webhook.fact.body, keywords) is not None
    return isinstance(webhook, SessionStatusWebhook | MessageAckWebhook)


async def receive_waha_webhook(request: web.Request) -> web.Response:
    """POST /webhooks/waha: act on session.status, message.ack and opt-out replies.

    A `message` (someone wrote to the number) whose whole text is one of
    CAMPAIGNS_OPT_OUT_KEYWORDS puts its sender on the opt-out list; other events are ignored.

    A webhook WAHA stamped over an hour ago (or over five minutes ahead) is answered
    `stale` and not acted on; a repeat of one acted on within the hour (the same envelope id,
    or without one the same body) is answered `duplicate`, even after a restart.
    """
    context = request.app[CONTEXT]
    counter = context.metrics.webhooks
    raw = await read_body(request)
    key = context.settings.waha_webhook_hmac_key
    if key is not None and not verify_webhook_signature(
        raw, request.headers.get(WEBHOOK_HMAC_HEADER), key
    ):
        counter.labels("unknown", "bad_signature").inc()
        raise ProblemError(
            401,
            "Unauthorized",
            f"{WEBHOOK_HMAC_HEADER} is missing or does not sign the body",
            kind="bad-signature",
        )
    now = context.clock.now()
    try:
        webhook = parse_webhook(raw, received_at=now)
    except MalformedWebhookError as error:
        counter.labels("unknown", "malformed").inc()
        raise ProblemError(400, "Bad request", str(error), kind="malformed-webhook") from None
    result = await _once(request, webhook, webhook_key(webhook.event_id, raw), now)
    counter.labels(_event_name(webhook), result).inc()
    return web.json_response({"status": result})


async def _once(
    request: web.Request, webhook: WahaWebhook, key: str, now: datetime
) -> WebhookResult:
    """Act on `webhook` unless it is stale, ignored, or a repeat of one acted on."""
    runtime = request.app[RUNTIME]
    context = request.app[CONTEXT]
    seen = context.seen_webhooks
    if is_stale(_event_time(webhook), now):
        # 200, not an error: WAHA would only retry it, and it is no fresher the next time.
        return "stale"
    if not _acted_on(webhook, context.settings.opt_out_keywords):
        return "ignored"  # nothing is acted on, so nothing is remembered either
    if request.app[PRUNING].due(now):
        await off_loop(seen.prune, now - STALE_AFTER)
    if not await off_loop(seen.first_time, key, now):
        return "duplicate"
    try:
        return await _act(context, runtime, webhook)
    except BaseException:
        # Not awaited: a cancelled request must still let WAHA's retry be acted on.
        seen.forget(key)
        raise
