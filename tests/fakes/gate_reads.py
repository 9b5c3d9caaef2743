"""The gates' reads of the in-memory store, also awaitable "on the loop" (as PostgreSQL's are)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.campaigns import CampaignsApp
from app.gate_reads import GateRead, StoreGateReads
from app.read_models import CampaignContacts
from domain.contacts import ChatId
from domain.session import SessionName


class LoopStoreReads:
    """`StoreGateReads` with `read_on_loop` as well; counts the reads made each way."""

    local = False

    def __init__(self, campaigns: CampaignsApp, contacts: CampaignContacts) -> None:
        self._store = StoreGateReads(campaigns, contacts)
        self.in_thread = 0
        self.on_loop = 0

    def read(
        self,
        *,
        after: int,
        topics: Sequence[str],
        limit: int,
        opt_out_id: UUID,
        session: SessionName,
        chat_id: ChatId | None,
    ) -> GateRead:
        self.in_thread += 1
        return self._store.read(
            after=after,
            topics=topics,
            limit=limit,
            opt_out_id=opt_out_id,
            session=session,
            chat_id=chat_id,
        )

    def on_this_loop(self) -> bool:
        return True

    async def read_on_loop(
        self,
        *,
        after: int,
        topics: Sequence[str],
        limit: int,
        opt_out_id: UUID,
        session: SessionName,
        chat_id: ChatId | None,
    ) -> GateRead:
        self.on_loop += 1
        return self._store.read(
            after=after,
            topics=topics,
            limit=limit,
            opt_out_id=opt_out_id,
            session=session,
            chat_id=chat_id,
        )
