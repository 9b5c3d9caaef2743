"""Export: stored events as JSON-native rows, read straight from the stored JSON where it can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    JSONTranscoder,
    Notification,
)
from eventsourcing.utils import TopicError, resolve_topic

from app.audit.log import PAGE_SIZE, Event, event_time, exported, notifications
from app.campaigns import CampaignsApp
from app.views import event_data


class CampaignLog(Protocol):
    """One campaign's stored events, each with its position in the whole log."""

    def read(self, campaign_id: UUID) -> Iterator[Notification]:
        """Yield the campaign's stored events in version order, as notifications."""
        ...


class ScanningCampaignLog:
    """A campaign's events found by reading the notification log, up to its last event.

    Any store can do this; the SQL stores have a faster reader that asks for one campaign.
    """

    def __init__(self, recorder: ApplicationRecorder, page_size: int = PAGE_SIZE) -> None:
        self._recorder = recorder
        self._page_size = page_size

    def read(self, campaign_id: UUID) -> Iterator[Notification]:
        """Yield the campaign's events in log order, stopping after its last one."""
        last = self._recorder.select_events(campaign_id, desc=True, limit=1)
        if not last:
            return
        final = last[0].originator_version
        for notification in notifications(self._recorder, self._page_size):
            if notification.originator_id == campaign_id:
                yield notification
                if notification.originator_version >= final:
                    return


def export_events(
    app: CampaignsApp,
    campaign_id: UUID | None = None,
    *,
    page_size: int = PAGE_SIZE,
    fast: bool = True,
    campaign_log: CampaignLog | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every stored event (or one campaign's) as JSON-native rows, in log order.

    A row has position, aggregate_id, version, type, topic, time (business time, else the
    record time), recorded_at and data. The fast path reads the stored JSON directly; events
    it cannot read exactly as the mapper would (an old class version, an unknown type, a
    compressed or encrypted store) go through the mapper. An event nothing can read is a row
    with type null and a `problem`, so the export stays whole. One campaign's events come
    from `campaign_log` (by default, a scan of the log that stops after its last event).
    """
    mapper = app.mapper
    fast = (
        fast
        and mapper.cipher is None
        and mapper.compressor is None
        and isinstance(mapper.transcoder, JSONTranscoder)
    )
    if campaign_id is None:
        stored = notifications(app.recorder, page_size)
    else:
        log = campaign_log or ScanningCampaignLog(app.recorder, page_size)
        stored = log.read(campaign_id)
    for notification in stored:
        row = _fast_row(notification) if fast else None
        if row is None:
            try:
                row = _mapped_row(notification, mapper.to_domain_event(notification))
            except Exception as error:  # noqa: BLE001 - the export goes on and says where
                row = _unreadable_row(notification, f"{type(error).__name__}: {error}")
        yield row


class _NotPlainError(Exception):
    """A transcoded value the fast path does not know."""


def _plain(obj: dict[str, Any]) -> Any:
    # The library's JSON transcoder writes {"_type_": name, "_data_": text} for non-JSON types;
    # its ISO and decimal texts are already what `jsonable` would print.
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:  # noqa: PLR2004 - that shape
        kind, data = obj["_type_"], obj["_data_"]
        if kind in {"datetime_iso", "decimal_str"}:
            return data
        if kind == "uuid_hex":
            return str(UUID(data))
        raise _NotPlainError(kind)
    return obj


# Built once: json.loads(..., object_hook=...) builds a new decoder on every call.
_STATE_DECODER: Final = json.JSONDecoder(object_hook=_plain)


@lru_cache(maxsize=256)
def _event_class(topic: str) -> tuple[str, int]:
    cls = resolve_topic(topic)
    return cls.__name__, int(getattr(cls, "class_version", 1))


def _fast_row(notification: Notification) -> dict[str, Any] | None:
    try:
        name, class_version = _event_class(notification.topic)
        state: dict[str, Any] = _STATE_DECODER.decode(notification.state.decode("utf-8"))
    except (_NotPlainError, ValueError, TopicError, ImportError, AttributeError):
        return None  # the mapper decides, and names the problem if it cannot read it either
    if state.pop("class_version", 1) != class_version:
        return None  # needs upcasting, which works on decoded values: the mapper's job
    recorded = state.pop("timestamp", None)
    if not isinstance(recorded, str):
        return None
    state.pop("originator_topic", None)
    at = state.get("at")
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": name,
        "topic": notification.topic,
        "time": at if isinstance(at, str) else recorded,
        "recorded_at": recorded,
        "data": state,
    }


def _unreadable_row(notification: Notification, problem: str) -> dict[str, Any]:
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": None,
        "topic": notification.topic,
        "problem": problem,
    }


def _mapped_row(notification: Notification, domain_event: Event) -> dict[str, Any]:
    recorded: datetime = getattr(domain_event, "timestamp")  # noqa: B009 - not on the Protocol
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": type(domain_event).__name__,
        "topic": notification.topic,
        "time": event_time(domain_event).isoformat(),
        "recorded_at": recorded.isoformat(),
        "data": exported(event_data(domain_event)),
    }
