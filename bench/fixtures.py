"""What several benchmarks record before they measure: a large campaign's run, written fast."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from app.campaigns import CampaignsApp
from domain.campaign import AttemptOutcome, Campaign

BATCH = 20_000  # events per save: a fixture is written in big transactions


def run_and_cancel(
    app: CampaignsApp,
    campaign: Campaign,
    chats: Sequence[str],
    *,
    at: Callable[[int], datetime],
    fail_every: int = 0,
    message_ids: str = "M",
) -> None:
    """Start `campaign`, record an outcome for contact i (chat `chats[i]`) at `at(i)`, then
    cancel it so that a service leaves it alone.

    Sent, with an intent and a message id `{message_ids}{i}`, but every `fail_every`-th
    contact (counting from 1), which failed.
    """
    now = app.clock.now()
    campaign.start(at=at(0) if chats else now)
    for i, chat in enumerate(chats):
        moment = at(i)
        if fail_every and i % fail_every == fail_every - 1:
            campaign.record_attempt(
                index=i, chat_id=chat, outcome=AttemptOutcome.FAILED, error="bench", at=moment
            )
        else:
            campaign.begin_attempt(index=i, attempt_id=f"a{i}", chat_id=chat, at=moment)
            campaign.record_attempt(
                index=i,
                chat_id=chat,
                outcome=AttemptOutcome.SENT,
                message_id=f"{message_ids}{i}",
                attempt_id=f"a{i}",
                at=moment,
            )
        if len(campaign.pending_events) >= BATCH:
            app.save(campaign)
    campaign.cancel(reason="benchmark fixture", at=now)
    app.save(campaign)
