"""What the HTTP API is given by the composition root: its services, and its runtime's factory."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from adapters.http_api.metrics import ApiMetrics
from adapters.http_api.view_cache import ViewCache
from adapters.media import FileMediaStore
from app.campaigns import CampaignsApp
from app.deliveries import DeliveryTracker
from app.log_follower import LogFollower
from app.notifications import NotificationSender
from app.opt_outs import OptOutBook
from app.ports import Clock, SeenWebhooks, Sleeper, WahaGateway
from app.preview import CampaignPreview
from app.read_models import CampaignContacts
from app.session_settings import SessionSettingsBook
from app.sessions import SessionsOverview
from app.settings import Settings
from app.supervisor import Supervisor


@dataclass(frozen=True)
class ApiContext:
    """Everything the handlers use that exists before the event loop runs."""

    settings: Settings
    campaigns: CampaignsApp
    media: FileMediaStore
    deliveries: DeliveryTracker
    follower: LogFollower
    contacts: CampaignContacts
    clock: Clock
    sleeper: Sleeper
    metrics: ApiMetrics
    view_cache: ViewCache
    # Webhooks acted on lately, in the store: a repeat is not acted on again, even after a restart.
    seen_webhooks: SeenWebhooks
    # The numbers' guardrails: settings per session, the opt-out list, the sessions' views.
    session_settings: SessionSettingsBook
    opt_outs: OptOutBook
    sessions: SessionsOverview
    preview: CampaignPreview


@dataclass(frozen=True)
class ApiRuntime:
    """What lives on the event loop while the API serves: WAHA's client and the supervisor."""

    gateway: WahaGateway
    supervisor: Supervisor
    # Sends campaign notifications to CAMPAIGNS_NOTIFY_URL; None when it is not set.
    notifications: NotificationSender | None = None


# Enters the runtime on the running loop; leaving it stops runs safely and closes WAHA's client.
RuntimeFactory = Callable[[], AbstractAsyncContextManager[ApiRuntime]]
OpenApiDocument = dict[str, Any]
