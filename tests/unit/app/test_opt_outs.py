"""The opt-out list: added by operators, imports and replies; removed; paged; exact at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.campaigns import CampaignsApp
from app.opt_outs import InvalidOptOutError, OptOutBook, keyword_of, phone_of_chat
from app.ports import InboundMessageFact
from domain.opt_out import DEFAULT_OPT_OUT_KEYWORDS, OptOut, opt_out_id
from tests.fakes.system import ManualClock

ANN = "+4915112345678"
BOB = "+4915112345679"


@pytest.fixture
def book(campaigns: CampaignsApp, clock: ManualClock) -> OptOutBook:
    return OptOutBook(campaigns, clock, default_region="DE")


def reply(body: str, chat_id: str = "4915112345678@c.us") -> InboundMessageFact:
    return InboundMessageFact(
        "default", chat_id, body, "ABC", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    )


def test_phones_are_listed_in_e164_once_whatever_their_writing(book: OptOutBook) -> None:
    added = book.add(["0151 12345678", ANN, BOB], source="api", note="asked by phone")

    assert (added.added, added.already, added.phones) == (2, 0, [ANN, BOB])
    assert book.add([BOB], source="api").already == 1
    entry = book.entry(ANN)
    assert entry is not None
    assert (entry.phone, entry.source, entry.note) == (ANN, "api", "asked by phone")


def test_a_bad_phone_refuses_the_whole_request_naming_it(book: OptOutBook) -> None:
    with pytest.raises(InvalidOptOutError) as raised:
        book.add([ANN, "not a phone"], source="api")

    assert [p["field"] for p in raised.value.problems] == ["phones[1]"]
    assert book.entry(ANN) is None


def test_a_removed_phone_may_be_messaged_and_opting_out_again_lists_it_again(
    book: OptOutBook, campaigns: CampaignsApp
) -> None:
    book.add([ANN], source="import")

    assert book.remove(ANN, note="asked to come back")
    assert book.entry(ANN) is None
    assert not book.remove(ANN)
    book.add([ANN], source="inbound:stop")

    entry = book.entry(ANN)
    assert entry is not None
    assert entry.source == "inbound:stop"
    types = [type(e).__name__ for e in campaigns.events.get(opt_out_id(ANN))]
    assert types == ["OptedOut", "OptOutRemoved", "OptedOutAgain"]


def test_the_list_pages_in_the_order_phones_got_on_it_leaving_out_removed_ones(
    book: OptOutBook,
) -> None:
    phones = [f"+49151123456{i:02d}" for i in range(10)]
    book.add(phones, source="import")
    book.remove(phones[3])
    book.remove(phones[7])
    book.add([phones[7]], source="api")  # back on the list, now last

    seen: list[str] = []
    cursor = 0
    pages = 0
    while True:
        page = book.page(limit=3, cursor=cursor)
        seen.extend(entry.phone for entry in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    expected = [p for i, p in enumerate(phones) if i not in {3, 7}] + [phones[7]]
    assert seen == expected
    assert pages == 3


def test_a_reply_that_is_only_a_keyword_puts_its_sender_on_the_list(book: OptOutBook) -> None:
    assert book.learn(reply("Thanks, see you"), DEFAULT_OPT_OUT_KEYWORDS) is None
    assert book.learn(reply("please stop it"), DEFAULT_OPT_OUT_KEYWORDS) is None

    entry = book.learn(reply("  Stop \n"), DEFAULT_OPT_OUT_KEYWORDS)

    assert entry is not None
    assert (entry.phone, entry.source) == (ANN, "inbound:stop")
    assert book.learn(reply("STOP", chat_id="120363@g.us"), DEFAULT_OPT_OUT_KEYWORDS) is None


@pytest.mark.parametrize(
    "said", ["STOP", "unsubscribe", "Stopp", "ARRET", "Arrêt", "baja", "PARAR", "sair", "Cancelar"]
)
def test_the_default_keywords_cover_the_usual_languages(said: str) -> None:
    assert keyword_of(said, DEFAULT_OPT_OUT_KEYWORDS) is not None


def test_only_a_persons_chat_names_a_phone() -> None:
    assert phone_of_chat("4915112345678@c.us") == ANN
    assert phone_of_chat("4915112345678@s.whatsapp.net") == ANN
    assert phone_of_chat("120363025246125486@g.us") is None
    assert phone_of_chat("123456789@lid") is None


def test_the_gate_reads_one_event_of_the_phone(book: OptOutBook, campaigns: CampaignsApp) -> None:
    book.add([ANN], source="api")
    record: object = campaigns.repository.get(opt_out_id(ANN))

    assert isinstance(record, OptOut)
    assert record.entry == book.entry(ANN)
