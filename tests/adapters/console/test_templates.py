"""The templates, rendered with sample data: what they say, and that they escape it."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from adapters.console import formatting
from adapters.console.campaign_detail import campaign_detail
from adapters.console.campaign_form import CampaignForm
from adapters.console.campaign_list import campaign_list
from adapters.console.contacts_table import contacts_query
from adapters.console.keys import Features
from adapters.console.new_campaign import Preview, Row, Sample
from adapters.console.opt_out_list import ListedOptOut, OptOutSlice
from adapters.console.opt_outs_page import (
    AddForm,
    ImportForm,
    ImportReport,
    RejectedRow,
    opt_out_listing,
)
from adapters.console.records import ScheduledRecord
from adapters.console.rendering import install
from adapters.console.sessions_page import StatusAnswer, session_card
from adapters.console.settings_form import DAY_LABELS, SettingsForm
from domain.contacts import ChatId, Contact
from domain.lifecycle import CampaignStatus
from domain.opt_out import OptOutEntry
from tests.adapters.console.samples import NOW, a_pause, a_session_view, a_view, facts_of

EVIL = '<script>alert("x")</script>'


def render(name: str, **values: Any) -> str:
    env = install(web.Application())
    common = {
        "csrf": "csrf-token",
        "signed_in": True,
        "notices": [],
        "features": Features(),
        "now": NOW,
        "relative": formatting.relative,
        "path": "/ui/",
    }
    return env.get_template(name).render(common | values)


def test_a_campaign_name_is_escaped_everywhere_it_is_shown() -> None:
    view = a_view(name=EVIL, status=CampaignStatus.PAUSED, pause=a_pause("manual", EVIL))
    listing = campaign_list(
        [ScheduledRecord(view.id, 1, view.name, view.session)],
        {view.id: facts_of(view)},
        lambda _: view,
        status="",
        query=EVIL,
        page=1,
        now=NOW,
    )

    page = render("campaigns.html", listing=listing, results="")
    results = render("parts/campaign_results.html", listing=listing)

    assert "<script>" not in page + results
    assert "&lt;script&gt;" in page  # the search box keeps what was typed, escaped


def test_the_campaign_summary_shows_the_bar_the_pause_and_the_buttons() -> None:
    view = a_view(status=CampaignStatus.PAUSED, pause=a_pause(), total=1500, sent=3, failed=0)
    detail = campaign_detail(view, facts_of(view), [], None, now=NOW)

    html = render("parts/campaign_summary.html", detail=detail)

    assert "3 of 1,500 contacts handled" in html
    assert re.search(r'<svg class="bar"[^>]*aria-label="3 of 1,500 contacts handled', html)
    assert "Paused at contact 4 of 1,500" in html
    assert "the session was STARTING" in html
    assert 'id="action-resume"' in html
    assert 'id="action-pause"' not in html
    assert f'href="/ui/campaigns/{view.id}/cancel"' in html  # cancel asks first
    assert 'name="csrf" value="csrf-token"' in html
    assert 'class="state current" data-state="Paused"' in html


def test_the_message_and_its_sample_are_escaped() -> None:
    view = a_view(message={"text": EVIL + " {name}", "defaults": {}})
    first = Contact(phone="+4915100000001", chat_id=ChatId("4915100000001@c.us"), name="<b>Ana</b>")
    detail = campaign_detail(view, None, [], first, now=NOW)

    html = render(
        "campaign.html", detail=detail, summary="", table=None, query=contacts_query({}, [])
    )

    assert "<script>" not in html
    assert "<b>Ana</b>" not in html
    assert "As &lt;b&gt;Ana&lt;/b&gt; receives it" in html
    assert "still being listed" in html


def test_the_form_keeps_the_input_and_puts_each_error_next_to_its_field() -> None:
    form = CampaignForm(name=EVIL, text="Hi {nmae}", pacing_min="abc")
    errors = {"pacing": "give the wait as numbers of seconds", "text": "no contact has a nmae"}

    html = render(
        "new_campaign.html",
        form=form,
        errors=errors,
        preview=None,
        columns=[],
        creatable=False,
        draft=None,
        digest="d",
        sessions=["default"],
        offsets=["+00:00"],
        encodings=[("", "UTF-8")],
        due="now",
    )

    assert "&lt;script&gt;" in html
    assert "<script>alert" not in html
    assert 'value="abc"' in html
    assert re.search(r'id="text"[^>]*aria-invalid="true" aria-describedby="text-error"', html)
    assert '<p class="field-error" id="pacing-error">give the wait' in html
    assert 'id="create-button"' not in html


def test_the_preview_lists_rejected_rows_and_the_first_messages() -> None:
    preview = Preview(
        rows=3,
        kept=2,
        rejected=1,
        rejects=[Row("line 3", EVIL, "not a phone number")],
        duplicates=[],
        lacking=[],
        warnings=["column 4 has no name"],
        samples=[Sample("line 2", "Ana", "Hi Ana")],
        variables=["name"],
        scheduled_for=None,
    )

    html = render(
        "new_campaign.html",
        form=CampaignForm(name="x", text="Hi {name}"),
        errors={},
        preview=preview,
        columns=["phone", "name"],
        creatable=True,
        draft=None,
        digest="d",
        sessions=["default"],
        offsets=["+00:00"],
        encodings=[("", "UTF-8")],
        due="as soon as it is created",
    )

    assert "<strong>2</strong> of 3 rows would be sent to" in html
    assert '<datalist id="file-columns"><option value="phone"></option>' in html
    assert "<td>line 3</td><td>&lt;script&gt;" in html
    assert "Create campaign without the 1 row left out" in html
    assert "Hi Ana" in html
    assert 'name="previewed" value="d"' in html


def test_every_page_leads_to_the_opt_outs() -> None:
    html = render("error.html", title="t", detail="d")

    assert '<a href="/ui/opt-outs">Opt-outs</a>' in html


def test_no_page_needs_inline_script_or_style() -> None:
    html = render("error.html", title="t", detail="d")

    assert "style=" not in html
    assert not re.search(r"<script>(?!</script>)", html)
    assert 'src="/ui/static/vendor/htmx/htmx.min.js"' in html


def _opt_outs_page(**values: Any) -> str:
    defaults: dict[str, Any] = {
        "listing": opt_out_listing(OptOutSlice([], 0, 0), query="", page=1),
        "add_form": AddForm(),
        "add_errors": {},
        "import_form": ImportForm(),
        "import_errors": {},
        "report": None,
        "encodings": [("", "UTF-8")],
    }
    return render("opt_outs.html", **(defaults | values))


def test_the_opt_out_list_escapes_notes_and_gives_each_row_a_labelled_remove_button() -> None:
    entry = OptOutEntry("+4915123456789", "inbound:stop", NOW, EVIL)
    listing = opt_out_listing(OptOutSlice([ListedOptOut(7, entry)], 1, 1), query="", page=1)

    html = _opt_outs_page(listing=listing)

    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "replied “STOP”" in html
    assert 'aria-label="Remove +4915123456789 from the opt-out list"' in html
    assert html.count('name="csrf" value="csrf-token"') == 3  # add, import, sign out
    # A removal is asked first, on a page of its own: the row links to it.
    assert 'href="/ui/opt-outs/remove?phone=%2B4915123456789&amp;back=%2Fui%2Fopt-outs"' in html
    assert 'href="/ui/opt-outs.csv" id="export-link"' in html


def test_an_import_report_names_each_rejected_row_escaped() -> None:
    report = ImportReport(
        filename="list<1>.csv",
        rows=1234,
        added=1000,
        already=200,
        repeated=0,
        rejected=[RejectedRow("line 9", EVIL, "not a phone number")],
        rejected_total=34,
    )

    html = _opt_outs_page(report=report)

    assert "list&lt;1&gt;.csv (1,234 rows): 1,000 added, 200 already on the list" in html
    assert "<tr><td>line 9</td><td>&lt;script&gt;" in html
    assert "and 33 more." in html


def test_an_import_error_keeps_the_fields_typed() -> None:
    errors = {"phone_column": "the header row has no column 'cell'", "file": "choose it again"}

    html = _opt_outs_page(import_form=ImportForm(phone_column=EVIL), import_errors=errors)

    assert re.search(r'id="phone_column"[^>]*value="&lt;script&gt;[^"]*" aria-invalid="true"', html)
    assert '<p class="field-error" id="file-error">choose it again</p>' in html


def test_a_session_card_shows_the_cap_as_a_labelled_meter() -> None:
    view = a_session_view(
        settings={**a_session_view().settings, "daily_cap": 2000},
        sent_today=1234,
        effective_cap=2000,
        cap_kind="daily_cap",
        remaining_today=766,
    )
    card = session_card(view, StatusAnswer(None, "refused: <b>"), [], {}, NOW)

    html = render("parts/session_card.html", row=card, single=False)

    assert '<meter min="0" max="2000" value="1234" aria-label="1,234 of 2,000 sent today">' in html
    assert "766 left (daily cap)" in html
    assert "WAHA could not say: refused: &lt;b&gt;" in html
    assert 'href="/ui/sessions/sales/settings"' in html


def test_the_settings_form_ticks_the_days_and_marks_each_bad_field() -> None:
    view = a_session_view()
    card = session_card(view, StatusAnswer(None), [], {}, NOW)
    form = SettingsForm(window_on=True, days=("sat",), timezone=EVIL, daily_cap="lots")
    errors = {"timezone": "unknown time zone", "daily_cap": "a whole number"}

    html = render(
        "session.html",
        row=card,
        summary="",
        form=form,
        errors=errors,
        days=DAY_LABELS,
        zones=("Europe/Berlin",),
        changes=[],
        more_changes=0,
        shown=SettingsForm(daily_cap="100").hidden_fields(),
    )

    assert 'id="day-sat" checked' in html
    assert '<input type="hidden" name="shown_daily_cap" value="100">' in html
    assert 'id="day-sun">' in html
    assert 'value="lots" aria-invalid="true" aria-describedby="daily_cap-error"' in html
    assert "&lt;script&gt;" in html
    assert "<script>alert" not in html
    assert "Nothing was saved: some fields need a look." in html
