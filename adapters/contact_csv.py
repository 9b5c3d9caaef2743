"""The per-contact report as CSV, one writer for the HTTP API and the command line alike.

Both say the same thing in the same columns, and both keep a spreadsheet from running what
a contact's name or a send's error says as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Final, TextIO
from uuid import UUID

from app.views import ContactReport

REPORT_COLUMNS: Final = (
    "index",
    "chat_id",
    "phone",
    "name",
    "outcome",
    "message_id",
    "error",
    "attempted_at",
    "delivery",
)
# Where a report names its campaign (the command line's export of every campaign), it is first.
CAMPAIGN_COLUMN: Final = "campaign_id"
# Cells a spreadsheet would run as a formula; phones start with "+", so only free text is guarded.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
GUARDED_COLUMNS: Final = frozenset({"name", "error"})


def guarded(column: str, value: object) -> str:
    """Return a cell's text; free text that a spreadsheet would run gets a leading '."""
    text = "" if value is None else str(value)
    if column in GUARDED_COLUMNS and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def report_cells(report: ContactReport) -> list[str]:
    """Return one contact's row in REPORT_COLUMNS order, guarded."""
    row = report.as_dict()
    return [guarded(column, row[column]) for column in REPORT_COLUMNS]


class ContactReportWriter:
    """Writes the report to a stream a row at a time, so a large campaign is never held whole."""

    def __init__(self, out: TextIO, *, with_campaign: bool = False, header: bool = True) -> None:
        """Write the header row, unless told (a later part of a streamed report).

        with_campaign puts a campaign_id column first.
        """
        self._writer = csv.writer(out)
        self._with_campaign = with_campaign
        columns = (CAMPAIGN_COLUMN, *REPORT_COLUMNS) if with_campaign else REPORT_COLUMNS
        if header:
            self._writer.writerow(columns)

    def write(self, reports: Iterable[ContactReport], campaign_id: UUID | None = None) -> int:
        """Write one campaign's contacts; return how many rows were written."""
        if self._with_campaign and campaign_id is None:
            msg = "this report has a campaign_id column: name the campaign"
            raise ValueError(msg)
        lead = [str(campaign_id)] if self._with_campaign else []
        count = 0
        for report in reports:
            self._writer.writerow([*lead, *report_cells(report)])
            count += 1
        return count


def contact_report_csv(reports: Sequence[ContactReport], *, header: bool = True) -> str:
    """Return the report as CSV, with a header row unless told.

    Names and errors never run as formulas.
    """
    out = io.StringIO(newline="")
    ContactReportWriter(out, header=header).write(reports)
    return out.getvalue()
