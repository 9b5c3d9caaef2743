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
from adapters.console.records import ScheduledRecord
from adapters.console.rendering import install
from domain.contacts import ChatId, Contact
from domain.lifecycle import CampaignStatus
from tests.adapters.console.samples import NOW, a_pause, a_view, facts_of

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
