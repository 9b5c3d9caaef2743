"""Files uploaded for a preview, kept until the operator creates the campaign from them.

A browser cannot send a chosen file again by itself, so the preview's contacts file and image
stay here (in memory, for one hour, the latest one per session) and the form names them by a
random id. Nothing here is a campaign: a draft never reaches the event store.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from app.ports import Clock

KEPT_FOR: Final = timedelta(hours=1)
MAX_DRAFTS: Final = 20  # each may hold a contacts file and an image of up to the upload limit


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as the browser gave it, and its bytes."""

    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        """The file's digest: a preview is valid for these bytes only."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Draft:
    """What a preview was made from, for the session that made it."""

    id: str
    session_id: str
    created: datetime
    contacts: Upload | None = None
    image: Upload | None = None


class Drafts:
    """The drafts of every signed-in session; bounded in number and in age."""

    def __init__(self, clock: Clock, *, limit: int = MAX_DRAFTS) -> None:
        self._clock = clock
        self._limit = limit
        self._drafts: OrderedDict[str, Draft] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, draft_id: str, session_id: str) -> Draft | None:
        """Return the session's draft with this id, if it is still kept."""
        with self._lock:
            self._expire()
            found = self._drafts.get(draft_id)
        if found is None or found.session_id != session_id:
            return None
        return found

    def keep(
        self,
        session_id: str,
        *,
        previous: Draft | None,
        contacts: Upload | None,
        image: Upload | None,
    ) -> Draft:
        """Return the session's draft with the new uploads (a file not given again is kept)."""
        now = self._clock.now()
        if previous is not None:
            draft = replace(
                previous,
                created=now,
                contacts=contacts or previous.contacts,
                image=image or previous.image,
            )
        else:
            draft = Draft(secrets.token_urlsafe(18), session_id, now, contacts, image)
        with self._lock:
            # One draft per session: a new preview replaces the last.
            for other in [d for d in self._drafts.values() if d.session_id == session_id]:
                del self._drafts[other.id]
            self._drafts[draft.id] = draft
            while len(self._drafts) > self._limit:
                self._drafts.popitem(last=False)
        return draft

    def drop(self, draft: Draft) -> None:
        """Forget a draft once its campaign exists."""
        with self._lock:
            self._drafts.pop(draft.id, None)

    def _expire(self) -> None:
        now = self._clock.now()
        for draft_id in [i for i, d in self._drafts.items() if now - d.created > KEPT_FOR]:
            del self._drafts[draft_id]
