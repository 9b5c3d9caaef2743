"""Campaign views for the list's rows, reused while the campaign has recorded nothing new.

A page of the campaigns list shows 25 campaigns; most of them are finished, paused or waiting,
and their views do not change between two polls. The supervisor's facts say each campaign's
version, so a view is loaded again only when its campaign has moved on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from app.views import CampaignView


class LatestViews:
    """The newest view loaded of each campaign, at most `size` of them (least used go first)."""

    def __init__(self, load: Callable[[UUID], CampaignView], size: int = 2048) -> None:
        self._load = load
        self._size = size
        self._views: OrderedDict[UUID, CampaignView] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, campaign_id: UUID, at_least: int | None) -> CampaignView:
        """Return the campaign's view at version `at_least` or newer (None: load it anew).

        Blocking when it loads (it reads the store): call it off the event loop.
        """
        with self._lock:
            found = self._views.get(campaign_id)
            if found is not None and at_least is not None and found.version >= at_least:
                self._views.move_to_end(campaign_id)
                return found
        view = self._load(campaign_id)
        with self._lock:
            kept = self._views.get(campaign_id)
            if kept is None or kept.version <= view.version:
                self._views[campaign_id] = view
                self._views.move_to_end(campaign_id)
            while len(self._views) > self._size:
                self._views.popitem(last=False)
        return view
