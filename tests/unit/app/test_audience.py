"""Operator rows become a frozen audience: +E164 numbers, WAHA chat ids, and a report."""

from __future__ import annotations

import pytest

from app.audience import ContactInput, DuplicateRow, InvalidRow, normalise_audience


def rows(*phones: str) -> list[ContactInput]:
    return [ContactInput(phone=p) for p in phones]


@pytest.mark.parametrize(
    "written",
    ["+4915112345678", "+49 151 12345678", "+49 (151) 1234-5678", " +49 151 123 456 78 "],
)
def test_an_international_number_becomes_e164_and_a_chat_id(written: str) -> None:
    report = normalise_audience(rows(written), default_region=None)

    assert [(c.phone, c.chat_id) for c in report.contacts] == [
        ("+4915112345678", "4915112345678@c.us")
    ]


def test_without_a_region_bare_digits_are_read_as_international() -> None:
    report = normalise_audience(rows("4915112345678"), default_region=None)

    assert [c.phone for c in report.contacts] == ["+4915112345678"]


@pytest.mark.parametrize(
    "written",
    ["004915112345678", "0049 151 12345678", "0049 (151) 1234-5678", "0049.151.1234.5678"],
)
def test_without_a_region_00_is_the_international_prefix(written: str) -> None:
    report = normalise_audience(rows(written), default_region=None)

    assert [(c.phone, c.chat_id) for c in report.contacts] == [
        ("+4915112345678", "4915112345678@c.us")
    ]
    assert report.invalid == []


def test_00_alone_is_not_a_phone_number() -> None:
    report = normalise_audience(rows("00"), default_region=None)

    assert report.invalid == [InvalidRow(0, "00", "not a phone number")]


def test_without_a_region_a_national_number_is_refused_asking_for_the_country() -> None:
    report = normalise_audience(rows("0151 12345678"), default_region=None)

    assert report.contacts == []
    assert report.invalid == [
        InvalidRow(
            0,
            "0151 12345678",
            "no country code; write it as +<country><number> or set a default region",
        )
    ]


@pytest.mark.parametrize("written", ["0151 12345678", "015112345678", "0049 151 12345678"])
def test_with_a_region_a_national_number_gets_its_country(written: str) -> None:
    report = normalise_audience(rows(written), default_region="DE")

    assert [(c.phone, c.chat_id) for c in report.contacts] == [
        ("+4915112345678", "4915112345678@c.us")
    ]


def test_with_a_region_an_international_number_keeps_its_own_country() -> None:
    report = normalise_audience(rows("+55 11 98765 4321"), default_region="DE")

    assert [(c.phone, c.chat_id) for c in report.contacts] == [
        ("+5511987654321", "5511987654321@c.us")
    ]


def test_a_duplicate_is_dropped_and_the_first_row_wins() -> None:
    given = [
        ContactInput("+49 151 12345678", name="First"),
        ContactInput("+5511987654321", name="Other"),
        ContactInput("0151 12345678", name="Second"),
        ContactInput("+4915112345678", name="Third"),
    ]

    report = normalise_audience(given, default_region="DE")

    assert [c.name for c in report.contacts] == ["First", "Other"]
    assert report.duplicates == [
        DuplicateRow(position=2, value="0151 12345678", first_position=0),
        DuplicateRow(position=3, value="+4915112345678", first_position=0),
    ]
    assert report.invalid == []


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "phone is empty"),
        ("   ", "phone is empty"),
        ("abc", "not a phone number"),
        ("+49 123", "not a valid phone number for its country"),
        ("+49 151 1234567890123456", "too long"),
    ],
    ids=["empty", "blank", "letters", "too-short", "too-long"],
)
def test_an_unusable_number_is_reported_with_its_row_value_and_reason(
    written: str, reason: str
) -> None:
    report = normalise_audience(rows("+4915112345678", written), default_region="DE")

    assert [c.phone for c in report.contacts] == ["+4915112345678"]
    assert report.invalid == [InvalidRow(position=1, value=written, reason=reason)]


def test_an_unknown_country_code_is_reported_as_unknown_not_missing() -> None:
    report = normalise_audience(rows("+999 1234567"), default_region=None)

    assert report.invalid == [InvalidRow(0, "+999 1234567", "unknown country code")]


def test_every_bad_row_is_reported_in_order() -> None:
    report = normalise_audience(rows("abc", "+4915112345678", "", "xyz"), default_region=None)

    assert [(r.position, r.value) for r in report.invalid] == [(0, "abc"), (2, ""), (3, "xyz")]
    assert len(report.contacts) == 1


def test_no_rows_make_an_empty_report() -> None:
    report = normalise_audience([], default_region="DE")

    assert (report.contacts, report.duplicates, report.invalid) == ([], [], [])


def test_names_are_trimmed_and_blank_names_dropped() -> None:
    given = [
        ContactInput("+4915112345678", name="  Ana  "),
        ContactInput("+4915112345679", name="   "),
        ContactInput("+4915112345670"),
    ]

    report = normalise_audience(given, default_region=None)

    assert [c.name for c in report.contacts] == ["Ana", None, None]


def test_variables_are_kept_with_the_contact() -> None:
    given = [ContactInput("+4915112345678", variables={"code": "A1", "city": "Köln"})]

    report = normalise_audience(given, default_region=None)

    assert dict(report.contacts[0].variables) == {"code": "A1", "city": "Köln"}


def test_contacts_keep_the_operators_order() -> None:
    phones = ["+4915112345673", "+4915112345671", "+4915112345672"]

    report = normalise_audience(rows(*phones), default_region=None)

    assert [c.phone for c in report.contacts] == phones
