"""The audit read side: a campaign as it was, its replay and timeline, log checks and export.

Everything here reads the stored events alone and never writes. The public names live in
the modules by concern (replay, timeline, verify, export) and are importable from here.
"""

from app.audit.export import CampaignLog, ScanningCampaignLog, export_events
from app.audit.log import (
    CAMPAIGN_EVENT_TYPES,
    CAMPAIGN_TOPICS,
    PAGE_SIZE,
    Event,
    event_time,
    exported,
    is_campaign,
)
from app.audit.replay import (
    NoStateThenError,
    ReplayError,
    ReplayStep,
    campaign_events,
    replay,
    state_at,
)
from app.audit.timeline import Milestone, PacingUsed, Timeline, timeline
from app.audit.verify import (
    CampaignAudit,
    LogChecker,
    LoggedEvent,
    Violation,
    audit_campaign,
    campaign_ids_in_log,
    logged_events,
)
from app.views import event_data

__all__ = [
    "CAMPAIGN_EVENT_TYPES",
    "CAMPAIGN_TOPICS",
    "PAGE_SIZE",
    "CampaignAudit",
    "CampaignLog",
    "Event",
    "LogChecker",
    "LoggedEvent",
    "Milestone",
    "NoStateThenError",
    "PacingUsed",
    "ReplayError",
    "ReplayStep",
    "ScanningCampaignLog",
    "Timeline",
    "Violation",
    "audit_campaign",
    "campaign_events",
    "campaign_ids_in_log",
    "event_data",
    "event_time",
    "export_events",
    "exported",
    "is_campaign",
    "logged_events",
    "replay",
    "state_at",
    "timeline",
]
