"""CampaignRunner: runs one campaign from where its log says it is, until it ends or stops."""

from __future__ import annotations

from uuid import UUID

from app.campaign_run import CampaignRun
from app.run_control import RunControl, RunEnd, RunnerPorts
from domain.campaign import Campaign

__all__ = ["CampaignRunner", "RunControl", "RunEnd", "RunnerPorts"]


class CampaignRunner:
    """Sends a campaign contact by contact; every decision is recorded before it takes effect."""

    def __init__(self, ports: RunnerPorts) -> None:
        self.ports = ports

    async def run(self, campaign_id: UUID, control: RunControl | None = None) -> RunEnd:
        """Run the campaign from its replayed position until it completes or stops."""
        campaigns = self.ports.campaigns
        campaign: Campaign = await self.ports.store(campaigns.load, campaign_id)
        if campaign.status != "Running":
            return RunEnd.NOT_RUNNING
        contacts = await self.ports.store(campaigns.audience_of, campaign_id)
        return await CampaignRun(self.ports, campaign, contacts, control or RunControl()).go()
