"""Typed keys of what the console keeps on its app and on each request."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from adapters.console.auth import ConsoleSession, ConsoleSessions
from adapters.console.drafts import Drafts
from adapters.console.latest_views import LatestViews
from adapters.console.opt_out_list import OptOutList
from adapters.console.records import CampaignRecords, SampleContacts


@dataclass(frozen=True)
class Features:
    """What this service offers beyond the console's own pages; some pages wait for them."""

    retry: bool = False  # POST /campaigns/{id}/retry (see commands.RETRY_PATH)


@dataclass
class ConsoleState:
    """The console's own state: sessions, its read models, drafts, what the service offers."""

    sessions: ConsoleSessions
    records: CampaignRecords
    opt_outs: OptOutList
    samples: SampleContacts
    drafts: Drafts
    views: LatestViews
    features: Features


STATE = web.AppKey("console", ConsoleState)
# The request's session as the guard found it; unset when the browser has none (yet).
SESSION = web.RequestKey("console_session", ConsoleSession)
