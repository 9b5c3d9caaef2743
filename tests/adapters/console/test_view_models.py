"""The view models: what each page shows, from the application's views."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from adapters.console.audit_feed import CampaignName, event_feed, event_words
from adapters.console.campaign_detail import actions_for, campaign_detail, retry_action
from adapters.console.campaign_list import campaign_list, status_of
from adapters.console.contacts_table import contacts_query, contacts_table
from adapters.console.progress import eta_words, pause_words, progress_bar
from adapters.console.records import ScheduledRecord
from app.views import CampaignView, ContactReport, StoredEvent
from domain.contacts import ChatId, Contact
from domain.lifecycle import CampaignStatus
from tests.adapters.console.samples import NOW, a_pause, a_view, facts_of


def test_the_bar_has_a_segment_per_outcome_each_after_the_one_before() -> None:
    bar = progress_bar(a_view(total=10, sent=5, failed=2, skipped=1, in_doubt=1))

    assert [(s.kind, s.count, s.offset, s.width) for s in bar.segments] == [
        ("sent", 5, 0.0, 50.0),
        ("failed", 2, 50.0, 20.0),
        ("skipped", 1, 70.0, 10.0),
        ("in_doubt", 1, 80.0, 10.0),
    ]
    assert bar.summary == "9 of 10 contacts handled (90%)"
    assert "in doubt 1" in bar.description


def test_a_bar_of_an_empty_campaign_is_empty() -> None:
    bar = progress_bar(a_view(total=0, sent=0, failed=0))

    assert bar.share == 0
    assert all(s.width == 0 for s in bar.segments)


def test_a_paused_campaign_says_where_why_and_what_next() -> None:
    view = a_view(status=CampaignStatus.PAUSED, pause=a_pause(index=3), total=1234)

    words = pause_words(view, facts_of(view), NOW)

    assert words is not None
    assert words.where == "at contact 4 of 1,234"
    assert words.why == "the session was STARTING"
    assert words.outlook.words == "resumes by itself when the session works again"


def test_a_running_campaign_has_no_pause_words() -> None:
    assert pause_words(a_view(), None, NOW) is None


def test_the_eta_counts_the_contacts_left_at_the_mean_pacing() -> None:
    view = a_view(total=404, sent=4, failed=0, pacing={"min_seconds": 20.0, "max_seconds": 40.0})

    assert eta_words(view, NOW) == "about 3 h 20 min left at its pacing (400 contacts)"
    assert eta_words(a_view(status=CampaignStatus.PAUSED), NOW) is None


def _records(views: list[CampaignView]) -> list[ScheduledRecord]:
    # Newest first, as CampaignRecords.scheduled() gives them.
    records = [ScheduledRecord(v.id, i + 1, v.name, v.session) for i, v in enumerate(views)]
    return list(reversed(records))


def test_the_list_filters_by_status_and_searches_names() -> None:
    views = [
        a_view(name="Spring sale"),
        a_view(name="Summer SALE", status=CampaignStatus.PAUSED, pause=a_pause()),
        a_view(name="Autumn news", status=CampaignStatus.PAUSED, pause=a_pause()),
    ]
    by_id = {v.id: v for v in views}
    facts = {v.id: facts_of(v) for v in views}

    found = campaign_list(
        _records(views), facts, by_id.__getitem__, status="Paused", query="sale", page=1, now=NOW
    )

    assert [r.name for r in found.rows] == ["Summer SALE"]
    assert found.matching == 1
    assert found.known == 3
    counts = {c.value: c.count for c in found.statuses}
    assert counts["Paused"] == 2
    assert counts["Running"] == 1
    assert counts[""] == 3


def test_the_list_loads_only_the_campaigns_of_its_page() -> None:
    views = [a_view(name=f"Campaign {i}") for i in range(60)]
    by_id = {v.id: v for v in views}
    loaded: list[UUID] = []

    def load(campaign_id: UUID) -> CampaignView:
        loaded.append(campaign_id)
        return by_id[campaign_id]

    facts = {v.id: facts_of(v) for v in views}
    page = campaign_list(_records(views), facts, load, status="", query="", page=2, now=NOW)

    assert len(loaded) == 25
    assert page.rows[0].name == "Campaign 34"  # newest first: 59..35 on page 1
    assert page.pages == 3
    assert page.previous_href == "/ui/campaigns"
    assert page.next_href == "/ui/campaigns?page=3"


def test_an_unknown_status_filter_means_all() -> None:
    assert status_of("paused") == "Paused"
    assert status_of("nonsense") == ""


def test_buttons_follow_the_transition_table() -> None:
    running = [a.command for a in actions_for(a_view(status=CampaignStatus.RUNNING))]
    paused = [a.command for a in actions_for(a_view(status=CampaignStatus.PAUSED))]
    done = actions_for(a_view(status=CampaignStatus.COMPLETED))

    assert running == ["pause", "cancel"]
    assert paused == ["resume", "cancel"]
    assert done == []
    assert all(a.confirm == (a.command == "cancel") for a in actions_for(a_view()))


def test_retry_is_offered_only_when_the_service_has_it_and_there_is_something_to_retry() -> None:
    ended = a_view(status=CampaignStatus.COMPLETED, failed=2, in_doubt=1)

    assert retry_action(ended, offered=False) is None
    assert retry_action(a_view(status=CampaignStatus.COMPLETED, failed=0), offered=True) is None
    offered = retry_action(ended, offered=True)
    assert offered is not None
    assert offered.label == "Retry the 2 failed contact(s) as a new campaign"
    assert offered.in_doubt == "1"  # offered as a choice: they may have received it


def test_the_campaign_page_renders_a_sample_for_its_first_contact() -> None:
    view = a_view(message={"text": "Hi {name} from {city}", "defaults": {"city": "Berlin"}})
    first = Contact(phone="+4915100000001", chat_id=ChatId("4915100000001@c.us"), name="Ana")

    detail = campaign_detail(view, facts_of(view), [], first, now=NOW)

    assert detail.message.sample == "Hi Ana from Berlin"
    assert detail.message.sample_to == "Ana"
    assert detail.retry is None


def test_no_sample_when_the_first_contact_lacks_a_value() -> None:
    view = a_view(message={"text": "Hi {nickname}", "defaults": {}})
    first = Contact(phone="+4915100000001", chat_id=ChatId("4915100000001@c.us"))

    assert campaign_detail(view, None, [], first, now=NOW).message.sample is None


def _report(index: int, outcome: str | None = None) -> ContactReport:
    return ContactReport(
        index=index,
        chat_id=f"49151{index:08d}@c.us",
        phone=f"+49151{index:08d}",
        name=None,
        outcome=outcome,
        message_id=None,
        error=None,
        attempted_at=None,
        delivery=None,
    )


def test_the_contacts_table_moves_on_from_its_last_row() -> None:
    campaign_id = a_view().id
    query = contacts_query({"from": "101", "limit": "25"}, [])

    table = contacts_table(campaign_id, query, [_report(i) for i in range(100, 126)], 100_000)

    assert len(table.rows) == 25
    assert table.showing == "contacts 101 to 125 of 100,000"
    assert table.next_href == f"/ui/campaigns/{campaign_id}?from=126&limit=25#contacts"
    assert table.previous_href == f"/ui/campaigns/{campaign_id}?from=76&limit=25#contacts"
    assert table.first_href == f"/ui/campaigns/{campaign_id}?limit=25#contacts"


def test_a_filtered_table_keeps_its_filters_and_cannot_count_backwards() -> None:
    campaign_id = a_view().id
    values = [("outcome", "failed"), ("outcome", "bogus"), ("delivery", "read"), ("from", "51")]
    query = contacts_query(dict(values), values)

    table = contacts_table(campaign_id, query, [_report(60, "failed")], 1000)

    assert query.outcomes == ("failed",)
    assert query.deliveries == ("read",)
    assert table.previous_href is None
    assert table.next_href is None
    assert (
        table.csv_href == f"/ui/campaigns/{campaign_id}/contacts.csv?outcome=failed&delivery=read"
    )
    assert table.showing.startswith("matching contacts from number 61")


def test_events_are_told_in_words() -> None:
    assert event_words("ContactAttempted", {"index": 3, "outcome": "in_doubt", "error": None}) == (
        "contact 4: in doubt"
    )
    assert (
        event_words(
            "CampaignPaused",
            {"index": 0, "reason": "session_not_working", "detail": "session status is STOPPED"},
        )
        == "paused at contact 1 because the session was STOPPED"
    )
    assert event_words("SomethingNew", {"a": 1, "b": [1, 2]}) == "a=1"


def test_the_feed_is_newest_first_and_names_the_campaign_of_each_event() -> None:
    view = a_view()
    events = [
        StoredEvent(p, view.id, p, "CampaignStarted", NOW + timedelta(seconds=p), {"at": NOW})
        for p in (7, 8, 9)
    ]

    feed = event_feed(events, {view.id: CampaignName(view.id, "Spring")}, head=9, before=None)

    assert [r.position for r in feed.rows] == [9, 8, 7]
    assert feed.rows[0].href == f"/ui/campaigns/{view.id}"
    assert feed.older_href == "/ui/audit?before=7"
    assert feed.latest
