"""A campaign's dry run: what scheduling it would do, the first messages, and when it ends.

Nothing is recorded. The same checks as scheduling refuse what scheduling would refuse; the
contacts the guardrails would skip now (opted out, recently contacted) are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.campaigns import CampaignsApp
from app.eta import FinishEstimate
from app.opt_outs import OptOutBook
from app.ports import Clock, ContactSpool
from app.read_models import CampaignContacts
from app.scheduling import ScheduleCampaign, screened_audience, validated_schedule
from app.screening import Listing
from app.session_settings import SessionSettingsBook
from app.views import JsonView
from domain.content import MessageTemplate
from domain.guardrails import (
    EarlierMessage,
    describe_window,
    local_text,
    opt_out_verdict,
    recent_contact_verdict,
)
from domain.number_settings import NumberSettings
from domain.pacing import pacing_warnings
from domain.session import SessionName

MAX_REJECTS_LISTED: Final = 1000


@dataclass(frozen=True)
class Preview(JsonView):
    """What POST /campaigns would do with a request, recording nothing."""

    total: int
    messages: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    rejects_total: int
    warnings: list[str]
    eta: datetime | None


class CampaignPreview:
    """Dry runs of campaigns; blocking (it reads the store), so call it off the event loop."""

    def __init__(  # noqa: PLR0917 - the root passes what it built, in one call
        self,
        campaigns: CampaignsApp,
        settings: SessionSettingsBook,
        opt_outs: OptOutBook,
        contacts: CampaignContacts,
        estimate: FinishEstimate,
        clock: Clock,
    ) -> None:
        self._campaigns = campaigns
        self._settings = settings
        self._opt_outs = opt_outs
        self._contacts = contacts
        self._estimate = estimate
        self._clock = clock

    def preview(self, request: ScheduleCampaign, limit: int) -> Preview:
        """Return the first `limit` messages, the rejects, the warnings and the ETA.

        Raises what scheduling raises (InvalidCampaignError and its kinds) for a request it
        would refuse.
        """
        now = self._clock.now()
        template = MessageTemplate(request.text, dict(request.defaults), tuple(request.variants))
        spool = self._campaigns.spools()
        try:
            screened = screened_audience(
                request, template, self._campaigns.default_region, spool, listed=MAX_REJECTS_LISTED
            )
            start = validated_schedule(request.scheduled_for, now)
            settings = self._settings.settings_of(request.session)
            messages, skipped = self._kept(request, template, spool, settings, now, limit)
        finally:
            spool.close()
        rejects: list[dict[str, Any]] = [
            {
                "position": d.position,
                "phone": d.value,
                "reason": "duplicate",
                "detail": f"same number as contacts[{d.first_position}]: dropped",
            }
            for d in screened.duplicates
        ]
        # Both lists are in row order and hold the first of their kind: so do the first merged.
        rejects = sorted(rejects + skipped.items, key=lambda r: int(r["position"]))
        warnings = pacing_warnings(request.pacing)
        if skipped.total:
            warnings.append(f"{skipped.total} contact(s) would be skipped now (see rejects)")
        window = settings.window
        if window is not None and not window.is_open(start):
            opening = window.next_opening(start)
            warnings.append(
                f"the number's window ({describe_window(window)}) is closed at the start: "
                f"sending begins at {local_text(opening, window)}"
            )
        cap = settings.cap_on(now)
        if cap is not None:
            warnings.append(f"the number's {cap.name} today is {cap.limit} messages")
        eta = self._estimate.plan(
            session=SessionName(request.session),
            remaining=screened.size - skipped.total,
            pacing=request.pacing.to_record(),
            options=request.options.to_record(),
            start=start,
        )
        return Preview(
            total=screened.size,
            messages=messages,
            rejects=rejects[:MAX_REJECTS_LISTED],
            rejects_total=screened.duplicates_total + skipped.total,
            warnings=warnings,
            eta=eta,
        )

    def _kept(  # noqa: PLR0917 - one pass over the kept contacts, all it needs
        self,
        request: ScheduleCampaign,
        template: MessageTemplate,
        spool: ContactSpool,
        settings: NumberSettings,
        now: datetime,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Listing[dict[str, Any]]]:
        """Return the first `limit` messages and the contacts the guardrails would skip now."""
        messages: list[dict[str, Any]] = []
        skipped: Listing[dict[str, Any]] = Listing(MAX_REJECTS_LISTED)
        for index, (row, contact) in enumerate(spool.kept()):
            verdict = opt_out_verdict(self._opt_outs.entry(contact.phone))
            if verdict is None and settings.recontact_after_days is not None:
                found = self._contacts.last_sent(SessionName(request.session), contact.chat_id)
                earlier = None if found is None else EarlierMessage(found[0], found[1])
                verdict = recent_contact_verdict(earlier, now, settings.recontact_after_days)
            if verdict is not None:
                skipped.add(
                    {
                        "position": row,
                        "phone": contact.phone,
                        "reason": verdict.reason,
                        "detail": verdict.detail,
                    }
                )
            elif len(messages) < limit:
                text = template.render(contact.template_values(), seed=f"preview {index}")
                messages.append(
                    {"index": index, "phone": contact.phone, "name": contact.name, "text": text}
                )
        return messages, skipped
