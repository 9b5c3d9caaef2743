"""Turning what an operator supplies into a frozen audience, with a report of what was wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import phonenumbers

from domain.contacts import Contact, chat_id_for_e164

# What people put between digits: "0049 (151) 123-456.78".
_SEPARATORS = re.compile(r"[\s()./-]")


@dataclass(frozen=True)
class ContactInput:
    """One row as the operator gave it."""

    phone: str
    name: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvalidRow:
    """A row whose phone number cannot be used."""

    position: int
    value: str
    reason: str


@dataclass(frozen=True)
class DuplicateRow:
    """A row dropped because an earlier row reaches the same chat."""

    position: int
    value: str
    first_position: int


@dataclass(frozen=True)
class AudienceReport:
    """The contacts kept, in order, and what was dropped or refused."""

    contacts: list[Contact]
    duplicates: list[DuplicateRow]
    invalid: list[InvalidRow]
    # The operator's row of each kept contact: errors must name the row as it was given.
    rows: list[int] = field(default_factory=list)


def normalise_audience(rows: Iterable[ContactInput], default_region: str | None) -> AudienceReport:
    """Parse every row's phone, drop duplicates (first wins) and report invalid rows."""
    contacts: list[Contact] = []
    duplicates: list[DuplicateRow] = []
    invalid: list[InvalidRow] = []
    kept_rows: list[int] = []
    first_seen: dict[str, int] = {}
    for position, row in enumerate(rows):
        contact = normalised_contact(position, row, default_region)
        if isinstance(contact, InvalidRow):
            invalid.append(contact)
            continue
        if contact.phone in first_seen:
            duplicates.append(DuplicateRow(position, row.phone, first_seen[contact.phone]))
            continue
        first_seen[contact.phone] = position
        kept_rows.append(position)
        contacts.append(contact)
    return AudienceReport(contacts, duplicates, invalid, kept_rows)


def normalised_contact(
    position: int, row: ContactInput, default_region: str | None
) -> Contact | InvalidRow:
    """Return row `position` as a contact with its phone in E.164, or why its phone is unusable."""
    e164, reason = _parse_phone(row.phone, default_region)
    if e164 is None:
        return InvalidRow(position, row.phone, reason)
    name = row.name.strip() if row.name and row.name.strip() else None
    return Contact(
        phone=e164,
        chat_id=chat_id_for_e164(e164),
        name=name,
        variables={str(k): str(v) for k, v in row.variables.items()},
    )


def _parse_phone(value: str, default_region: str | None) -> tuple[str | None, str]:
    text = value.strip()
    if not text:
        return None, "phone is empty"
    if not text.startswith("+") and default_region is None:
        # Without a region, "0151…" could be anyone's; refuse rather than guess. "00" is the
        # international prefix of most of the world, so "0049 151…" is "+49 151…". (With a
        # region, phonenumbers applies that region's own international prefix.)
        digits = _SEPARATORS.sub("", text)
        if digits.startswith("00") and digits.isdigit():
            text = "+" + digits[2:]
        elif text.isdigit() and not text.startswith("0"):
            text = "+" + text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        return None, _parse_reason(
            error, default_region, written_with_plus=value.strip().startswith("+")
        )
    if not phonenumbers.is_valid_number(number):
        return None, "not a valid phone number for its country"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def _parse_reason(
    error: phonenumbers.NumberParseException,
    default_region: str | None,
    *,
    written_with_plus: bool,
) -> str:
    if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if default_region is None and not written_with_plus:
            return "no country code; write it as +<country><number> or set a default region"
        return "unknown country code"
    if error.error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return "not a phone number"
    if error.error_type == phonenumbers.NumberParseException.TOO_SHORT_NSN:
        return "too short"
    if error.error_type == phonenumbers.NumberParseException.TOO_LONG:
        return "too long"
    return "not a phone number"
