"""Contacts as CSV: read an operator's upload into rows, write a campaign's contact report."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Final

from adapters.http_api.errors import ProblemError, invalid_input
from adapters.http_api.schemas import variable_name_problem
from app.audience import ContactInput

_DELIMITERS: Final = (",", ";", "\t")


def _bad_csv(reason: str) -> ProblemError:
    return invalid_input(
        "the contacts CSV cannot be read", [{"field": "contacts", "reason": reason}]
    )


def _delimiter(header_line: str) -> str:
    # Spreadsheets in many locales save ";"-separated "CSV": the header line tells which it is.
    return max(_DELIMITERS, key=header_line.count) if header_line else ","


def _columns(header: Sequence[str]) -> tuple[int, int | None, dict[int, str]]:
    names = [cell.strip() for cell in header]
    lowered = [name.lower() for name in names]
    if "phone" not in lowered:
        raise _bad_csv("the header row needs a phone column")
    for position, name in enumerate(names):
        if not name:
            raise _bad_csv(f"column {position + 1} of the header row has no name")
        if lowered.count(name.lower()) > 1:
            raise _bad_csv(f"the header row names {name!r} twice")
    name_column = lowered.index("name") if "name" in lowered else None
    variables = {i: n for i, n in enumerate(names) if lowered[i] not in {"phone", "name"}}
    for position, name in variables.items():
        reason = variable_name_problem(name)
        if reason is not None:
            raise _bad_csv(f"column {position + 1} of the header row: {reason}")
    return lowered.index("phone"), name_column, variables


def parse_contacts_csv(data: bytes) -> list[ContactInput]:
    """Return the rows of an uploaded CSV; a problem names what is wrong with it.

    A `phone` column is required and `name` is optional (both matched case-insensitively);
    every other column is a template variable, and an empty cell leaves it to the defaults.
    Blank lines are skipped, so contacts[i] in later problems is the i-th data row from 0.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_csv("the file must be UTF-8 text") from None
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=_delimiter(text.partition("\n")[0]), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise _bad_csv("the file is empty")
        phone, name, variables = _columns(header)
        contacts = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise _bad_csv(f"line {reader.line_num} has more cells than the header row")
            cells = row + [""] * (len(header) - len(row))
            contacts.append(
                ContactInput(
                    phone=cells[phone],
                    name=cells[name] if name is not None and cells[name].strip() else None,
                    variables={v: cells[i] for i, v in variables.items() if cells[i] != ""},
                )
            )
    except csv.Error as error:
        raise _bad_csv(f"line {reader.line_num}: {error}") from None
    return contacts
