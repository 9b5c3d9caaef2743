"""The gates' reads of the in-memory store, also awaitable "on the loop" (as PostgreSQL's are)."""

from __future__ import annotations

from typing import Any

from app.campaigns import CampaignsApp
from app.gate_reads import GateRead, StoreGateReads
from app.read_models import CampaignContacts


class LoopStoreReads:
    """`StoreGateReads` with `read_on_loop` as well; counts the reads made each way."""

    local = False

    def __init__(self, campaigns: CampaignsApp, contacts: CampaignContacts) -> None:
        self._store = StoreGateReads(campaigns, contacts)
        self.in_thread = 0
        self.on_loop = 0

    def read(self, **asked: Any) -> GateRead:
        self.in_thread += 1
        return self._store.read(**asked)

    def on_this_loop(self) -> bool:
        return True

    async def read_on_loop(self, **asked: Any) -> GateRead:
        self.on_loop += 1
        return self._store.read(**asked)
