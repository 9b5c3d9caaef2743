"""Campaign views as JSON, reused until something new is recorded in the store."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from uuid import UUID

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.ports import Sleeper

Token = tuple[int, int]


class ViewCache:
    """Answers repeated reads of a campaign without replaying it or encoding it again.

    Freshness: this process's own saves invalidate at once (a client always reads its own
    writes); other processes' events are noticed by `watch_store` within its interval. Without
    the watcher, every read asks the store for its position (one cheap query, off the loop).
    """

    def __init__(self, campaigns: CampaignsApp, size: int = 1024) -> None:
        self._campaigns = campaigns
        self._size = size
        self._entries: OrderedDict[UUID, tuple[Token, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._store_position: int | None = None

    def cached(self, campaign_id: UUID) -> bytes | None:
        """Return the view's JSON if it is known to be fresh, without any I/O."""
        if self._store_position is None:
            return None
        token = (self._campaigns.saves_so_far, self._store_position)
        with self._lock:
            entry = self._entries.get(campaign_id)
            if entry is None or entry[0] != token:
                return None
            self._entries.move_to_end(campaign_id)
            return entry[1]

    def view_json(self, campaign_id: UUID) -> bytes:
        """Return the view's JSON, building it if needed; blocking, so call it off the loop."""
        position = self._store_position
        if position is None:
            position = self._campaigns.recorder.max_notification_id() or 0
        # Taken before the view is read: a save racing the read makes the entry stale, not wrong.
        token = (self._campaigns.saves_so_far, position)
        with self._lock:
            entry = self._entries.get(campaign_id)
            if entry is not None and entry[0] == token:
                return entry[1]
        body = json.dumps(self._campaigns.campaign(campaign_id).as_dict()).encode()
        with self._lock:
            self._entries[campaign_id] = (token, body)
            self._entries.move_to_end(campaign_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return body

    async def watch_store(self, sleeper: Sleeper, interval: float = 0.05) -> None:
        """Track the store's position so other processes' events invalidate the cache."""
        recorder = self._campaigns.recorder
        try:
            while True:
                self._store_position = await off_loop(recorder.max_notification_id) or 0
                await sleeper.sleep(interval)
        finally:
            self._store_position = None
