"""The per-contact read model on every store: the same answers as a replay, and crash-safe."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from adapters import contacts_sql
from adapters.bootstrap import campaigns_app
from adapters.read_model import contacts_view
from app import contacts_projection
from app.campaigns import CampaignsApp
from app.contacts_projection import PROJECTION_NAME, ContactsProjection
from app.log_follower import LogFollower
from app.read_models import ContactRow, ContactsView
from app.views import ContactReport
from domain.campaign import AttemptOutcome
from domain.contacts import ChatId
from domain.delivery import Deliveries
from domain.session import SessionName
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock

SENT, FAILED, SKIPPED, IN_DOUBT = (
    AttemptOutcome.SENT,
    AttemptOutcome.FAILED,
    AttemptOutcome.SKIPPED,
    AttemptOutcome.IN_DOUBT,
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/campaigns.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(store_url: str, clock: ManualClock) -> Iterator[CampaignsApp]:
    built = campaigns_app(store_url, clock=clock)
    yield built
    built.close()


@pytest.fixture
def view(app: CampaignsApp) -> ContactsView:
    return contacts_view(app)


def following(app: CampaignsApp, view: ContactsView, page_size: int = 1000) -> LogFollower:
    follower = LogFollower(app, page_size=page_size)
    follower.subscribe(ContactsProjection(view, app))
    return follower


def chat(i: int) -> ChatId:
    return ChatId(f"49151{10000000 + i}@c.us")


def run(app: CampaignsApp, clock: ManualClock, outcomes: Sequence[AttemptOutcome], n: int) -> UUID:
    """Schedule a campaign of `n` contacts and record `outcomes` for the first ones."""
    campaign_id: UUID = scheduled(app, n)
    app.start_campaign(campaign_id)
    tag = campaign_id.hex[:6].upper()
    for i, outcome in enumerate(outcomes):
        clock.advance(60)
        attempt = f"a{i}" if outcome in {SENT, IN_DOUBT} else None
        if attempt is not None:
            histories.begin_attempt(app, campaign_id, index=i, attempt_id=attempt, chat_id=chat(i))
        histories.record_attempt(
            app,
            campaign_id,
            index=i,
            chat_id=chat(i),
            outcome=outcome,
            message_id=f"true_{chat(i)}_{tag}{i}" if outcome is SENT else None,
            error="WAHA said no" if outcome is FAILED else None,
            attempt_id=attempt,
        )
    return campaign_id


def ack(app: CampaignsApp, clock: ManualClock, campaign_id: UUID, index: int, level: int) -> None:
    deliveries = app.deliveries_of(campaign_id) or Deliveries(campaign_id=campaign_id)
    if deliveries.report(index=index, message_id=f"m{index}", ack=level, at=clock.now()):
        app.save(deliveries)


def every_row(view: ContactsView, campaign_id: UUID) -> list[ContactReport]:
    return view.page(campaign_id, limit=100_000)


def test_rows_say_what_a_replay_says(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    campaign_id = run(app, clock, [SENT, FAILED, SKIPPED, IN_DOUBT, SENT], n=7)
    ack(app, clock, campaign_id, 0, 3)
    ack(app, clock, campaign_id, 4, 2)

    assert following(app, view).catch_up() == app.recorder.max_notification_id()

    assert every_row(view, campaign_id) == app.contact_reports(campaign_id)
    assert view.campaign_size(campaign_id) == 7
    assert view.position() == app.recorder.max_notification_id()


def test_pages_follow_the_cursor_and_the_filters(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    campaign_id = run(app, clock, [SENT, FAILED, SENT, FAILED, SKIPPED, SENT], n=9)
    ack(app, clock, campaign_id, 2, 3)
    ack(app, clock, campaign_id, 5, 1)
    following(app, view).catch_up()

    def indexes(**kwargs: Any) -> list[int]:
        return [r.index for r in view.page(campaign_id, **kwargs)]

    assert indexes(limit=4) == [0, 1, 2, 3]
    assert indexes(after_index=3, limit=4) == [4, 5, 6, 7]
    assert indexes(limit=10, outcomes=frozenset({"failed"})) == [1, 3]
    assert indexes(after_index=1, limit=10, outcomes=frozenset({"failed"})) == [3]
    assert indexes(limit=10, pending=True) == [6, 7, 8]
    assert indexes(limit=10, outcomes=frozenset({"skipped", "pending"})) == [4, 6, 7, 8]
    assert indexes(limit=10, outcomes=frozenset({"skipped"}), pending=True) == [4, 6, 7, 8]
    assert indexes(limit=10, delivery=frozenset({"read"})) == [2]
    assert indexes(limit=10, delivery=frozenset({"read", "server"})) == [2, 5]
    assert indexes(limit=10, outcomes=frozenset({"sent"}), delivery=frozenset({"server"})) == [5]
    assert indexes(limit=10, delivery=frozenset({"nonsense"})) == []
    assert view.page(UUID(int=7), limit=10) == []
    assert view.campaign_size(UUID(int=7)) is None


def test_a_message_id_finds_its_contact_raw_or_serialized(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    campaign_id = run(app, clock, [SENT, FAILED, SENT], n=3)
    following(app, view).catch_up()
    tag = campaign_id.hex[:6].upper()

    found = view.sent_to(f"{tag}2")
    assert found is not None
    assert (found.campaign_id, found.index) == (campaign_id, 2)
    assert view.sent_to(f"true_{chat(0)}_{tag}0") == view.sent_to(f"{tag}0")
    assert view.sent_to(f"{tag}0") is not None
    assert view.sent_to("SOMEONE_ELSES") is None


def test_the_guardrails_see_the_last_send_to_a_chat_and_a_sessions_sends(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    start = clock.now()
    first = run(app, clock, [SENT, SENT, FAILED], n=3)
    second = run(app, clock, [SENT, SKIPPED], n=3)
    following(app, view).catch_up()

    last = view.last_sent(SessionName("default"), chat(0))
    assert last is not None
    assert last[0] == second
    assert last[1] == app.contact_reports(second)[0].attempted_at
    assert view.last_sent(SessionName("default"), chat(2)) is None  # failed: nothing was sent
    assert view.last_sent(SessionName("other"), chat(0)) is None
    assert view.sent_count(SessionName("default"), start) == 3
    first_sends = [
        r.attempted_at for r in app.contact_reports(first) if r.attempted_at and r.outcome == "sent"
    ]
    assert view.sent_count(SessionName("default"), first_sends[1]) == 2
    assert view.sent_count(SessionName("default"), clock.now() + timedelta(seconds=1)) == 0
    assert view.sent_count(SessionName("other"), start) == 0


def test_delivery_counts_keep_the_highest_ack(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    first = run(app, clock, [SENT, SENT, SENT], n=3)
    second = run(app, clock, [SENT], n=3)
    for index, level in [(0, 2), (1, 3), (1, 2), (2, 1)]:
        ack(app, clock, first, index, level)
    ack(app, clock, second, 0, 4)
    follower = following(app, view)
    follower.catch_up()
    ack(app, clock, first, 0, 3)
    follower.catch_up()

    assert view.delivery_counts(first) == {"delivered": 2, "read": 2}
    assert view.delivery_counts(second) == {"delivered": 1, "read": 1}
    assert view.delivery_counts(UUID(int=3)) == {"delivered": 0, "read": 0}
    assert view.delivery_totals() == {"delivered": 3, "read": 3}


def test_a_batch_is_applied_once(app: CampaignsApp, view: ContactsView, clock: ManualClock) -> None:
    campaign_id = run(app, clock, [SENT], n=2)
    ack(app, clock, campaign_id, 0, 3)
    following(app, view).catch_up()
    before = view.delivery_counts(campaign_id)

    with pytest.raises(IntegrityError):
        view.record([], Tracking(PROJECTION_NAME, view.position()))

    assert view.delivery_counts(campaign_id) == before


class CrashingView:
    """A view that fails once, on its `crash_on`-th call of `method`, before doing anything."""

    def __init__(self, inner: ContactsView, method: str, crash_on: int) -> None:
        self._inner = inner
        self._method = method
        self._crash_on = crash_on
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._crash_on:
                msg = "the process died here"
                raise RuntimeError(msg)
            return found(*args, **kwargs)

        return counted


def snapshot(view: ContactsView, campaign_ids: Sequence[UUID]) -> list[object]:
    return [
        (every_row(view, c), view.delivery_counts(c), view.campaign_size(c)) for c in campaign_ids
    ]


def rebuilt(app: CampaignsApp, view: ContactsView, campaign_ids: Sequence[UUID]) -> list[object]:
    view.reset()
    following(app, view).catch_up()
    return snapshot(view, campaign_ids)


def test_a_crash_between_batches_is_caught_up_exactly(
    app: CampaignsApp, view: ContactsView, clock: ManualClock
) -> None:
    ids = [run(app, clock, [SENT, FAILED, SENT], n=4), run(app, clock, [SKIPPED, SENT], n=5)]
    for index in (0, 2):
        ack(app, clock, ids[0], index, 3)
    crashing = CrashingView(view, "record", crash_on=3)
    follower = LogFollower(app, page_size=4)
    follower.subscribe(ContactsProjection(cast("ContactsView", crashing), app))

    with pytest.raises(RuntimeError):
        follower.catch_up()
    stopped_at = view.position()
    follower.catch_up()

    assert 0 < stopped_at < view.position() == app.recorder.max_notification_id()
    caught_up = snapshot(view, ids)
    assert caught_up == rebuilt(app, view, ids)
    assert [every_row(view, c) for c in ids] == [app.contact_reports(c) for c in ids]


def test_a_crash_inside_a_large_audience_goes_on_where_it_stopped(
    app: CampaignsApp, view: ContactsView, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_projection, "CHUNKS_PER_TRANSACTION", 1)
    campaign_id = run(app, clock, [SENT, FAILED], n=2500)  # three chunks: 1,000, 1,000, 500
    crashing = CrashingView(view, "add_contacts", crash_on=3)
    follower = LogFollower(app)
    follower.subscribe(ContactsProjection(cast("ContactsView", crashing), app))

    with pytest.raises(RuntimeError):
        follower.catch_up()
    assert view.contacts_listed(campaign_id) == 2000
    assert view.position() == 0  # nothing counts until the whole event is applied
    follower.catch_up()

    assert crashing.calls == 4  # the third chunk again, nothing listed twice
    assert view.position() == app.recorder.max_notification_id()
    caught_up = snapshot(view, [campaign_id])
    assert caught_up == rebuilt(app, view, [campaign_id])
    assert every_row(view, campaign_id) == app.contact_reports(campaign_id)


def test_listing_twice_keeps_one_row_per_contact(app: CampaignsApp, view: ContactsView) -> None:
    campaign_id = UUID(int=5)
    rows = [ContactRow(i, f"+49151{i}", chat(i), None) for i in range(3)]

    view.add_contacts(campaign_id, "default", rows[:2])
    view.add_contacts(campaign_id, "default", rows)

    assert view.contacts_listed(campaign_id) == 3


def test_times_survive_the_sql_tables_exactly() -> None:
    at = ManualClock().now() + timedelta(microseconds=123_457)

    assert contacts_sql.from_micros(contacts_sql.micros(at)) == at
    assert contacts_sql.from_micros(contacts_sql.micros(at)).isoformat() == at.isoformat()
