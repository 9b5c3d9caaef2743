"""The opt-outs page's view models: the list a page at a time, the add form, an import's report.

Forms are kept as typed (strings), so a page with errors shows what was typed. Changes go
through the application's `OptOutBook`, as the API's do; reading a file goes through the one
reader of contact files the API and the CLI use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from adapters.console.formatting import count
from adapters.console.opt_out_list import OptOutSlice
from adapters.contacts_file import ContactsFileError, OptionNames, read_contacts_file
from app.audience import normalise_audience
from app.opt_outs import InvalidOptOutError, OptOutBook
from domain.opt_out import MAX_NOTE_LENGTH

PER_PAGE: Final = 50
MAX_QUERY: Final = 100
# An import names at most this many refused rows; the count says how many more there are.
MAX_REJECTS_SHOWN: Final = 100
LIST_URL: Final = "/ui/opt-outs"
ADDED_NOTE: Final = "added in the console"
REMOVED_NOTE: Final = "removed in the console"
_OPTION_NAMES: Final = OptionNames(
    phone_column="the phone column field", encoding="the encoding field"
)
_FIELD_OF_PROBLEM: Final = {"phone_column": "phone_column", "encoding": "encoding"}


def source_words(source: str) -> str:
    """Return where an opt-out came from, in words: "replied “STOP”", "imported from a file"."""
    if source.startswith("inbound:"):
        return f"replied “{source.removeprefix('inbound:').upper()}”"
    return {"api": "added by an operator", "import": "imported from a file"}.get(source, source)


@dataclass(frozen=True)
class OptOutRow:
    """One phone on the list, as the table shows it."""

    phone: str
    source: str
    said: str  # the source in words
    at: datetime
    note: str


@dataclass(frozen=True)
class OptOutListing:
    """A page of the list, newest first, with its search and the links around it."""

    rows: list[OptOutRow]
    query: str
    page: int
    matching: int
    total: int
    showing: str
    newer_href: str | None
    older_href: str | None
    export_href: str
    here: str  # this page's address: where a removal comes back to


def _href(path: str, query: str, page: int = 1) -> str:
    params = {k: v for k, v in (("q", query), ("page", str(page) if page > 1 else "")) if v}
    return f"{path}?{urlencode(params)}" if params else path


def opt_out_listing(found: OptOutSlice, *, query: str, page: int) -> OptOutListing:
    """Return the page of the list `found` holds (page numbers from 1)."""
    entries = [listed.entry for listed in found.items]
    rows = [OptOutRow(e.phone, e.source, source_words(e.source), e.at, e.note) for e in entries]
    first = (page - 1) * PER_PAGE + 1
    last = first + len(rows) - 1
    if not rows:
        showing = ""
    elif query:
        showing = (
            f"Showing {count(first)} to {count(last)} of {count(found.matching)} "
            f"matching “{query}” ({count(found.total)} on the list)."
        )
    else:
        showing = f"Showing {count(first)} to {count(last)} of {count(found.total)}, newest first."
    return OptOutListing(
        rows=rows,
        query=query,
        page=page,
        matching=found.matching,
        total=found.total,
        showing=showing,
        newer_href=_href(LIST_URL, query, page - 1) if page > 1 else None,
        older_href=_href(LIST_URL, query, page + 1) if last < found.matching else None,
        export_href=_href(f"{LIST_URL}.csv", query),
        here=_href(LIST_URL, query, page),
    )


def back_to(target: object) -> str:
    """Return where a form goes back to: a page of the list it names, else the list's first."""
    if isinstance(target, str) and (target == LIST_URL or target.startswith(LIST_URL + "?")):
        return target
    return LIST_URL


# -- adding one phone -------------------------------------------------------------------------


@dataclass(frozen=True)
class AddForm:
    """The add form as typed."""

    phone: str = ""
    note: str = ""

    @classmethod
    def from_post(cls, post: Mapping[str, object]) -> AddForm:
        """Return the form from a submitted form's fields."""
        phone, note = post.get("phone", ""), post.get("note", "")
        return cls(
            phone=phone.strip() if isinstance(phone, str) else "",
            note=" ".join(note.split()) if isinstance(note, str) else "",
        )


@dataclass(frozen=True)
class Checked:
    """A form's problems by field (empty: none), and the phone it names in E.164 if it can."""

    errors: dict[str, str]
    phone: str | None = None


def check_add(book: OptOutBook, form: AddForm) -> Checked:
    """Check the add form: the phone must be one WhatsApp can know, the note not too long.

    Blocking only in name (it parses): the book's own normalising, so the console, the API
    and the CLI accept the same numbers.
    """
    errors: dict[str, str] = {}
    if len(form.note) > MAX_NOTE_LENGTH:
        errors["note"] = f"at most {MAX_NOTE_LENGTH} characters (this one has {len(form.note)})"
    if not form.phone:
        errors["phone"] = "enter a phone number with its country code, e.g. +49 151 23456789"
        return Checked(errors)
    try:
        (phone,) = book.normalised([form.phone])
    except InvalidOptOutError as error:
        reasons = [str(p.get("reason", "")) for p in error.problems]
        errors["phone"] = reasons[0] if reasons and reasons[0] else str(error)
        return Checked(errors)
    return Checked(errors, phone)


# -- importing a file -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportForm:
    """The import form's fields as typed (the file itself cannot be kept by a browser)."""

    phone_column: str = ""
    encoding: str = ""
    note: str = ""

    @classmethod
    def from_post(cls, post: Mapping[str, object]) -> ImportForm:
        """Return the form from a submitted form's text fields."""

        def text(name: str) -> str:
            value = post.get(name, "")
            return " ".join(value.split()) if isinstance(value, str) else ""

        return cls(text("phone_column"), text("encoding"), text("note"))


@dataclass(frozen=True)
class RejectedRow:
    """A row of the file whose phone cannot be used: where, what it said, why."""

    place: str
    value: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did: phones new on the list, those on it already, the rows refused."""

    filename: str
    rows: int
    added: int
    already: int
    repeated: int  # rows naming a phone an earlier row of the file named
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_total: int = 0

    @property
    def summary(self) -> str:
        """The report in one sentence."""
        parts = [
            f"{count(self.added)} added",
            f"{count(self.already)} already on the list",
            f"{count(self.rejected_total)} row{'' if self.rejected_total == 1 else 's'} rejected",
        ]
        if self.repeated:
            parts.append(f"{count(self.repeated)} repeated in the file (counted once)")
        rows = f"{count(self.rows)} row{'' if self.rows == 1 else 's'}"
        return f"{self.filename} ({rows}): " + ", ".join(parts) + "."


class ImportRefusedError(Exception):
    """The file (or a field) cannot be used at all; `field` names the form field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def import_opt_outs(
    book: OptOutBook,
    data: bytes,
    form: ImportForm,
    *,
    filename: str,
    default_region: str | None,
) -> ImportReport:
    """Put every usable phone of a CSV or XLSX file on the list; report the rows refused.

    Unlike the API's all-or-none, the usable rows are added and each refused row is named
    with its file line, as the new-campaign preview leaves out rows it cannot use. Raises
    ImportRefusedError when the file cannot be read at all. Blocking: call it off the loop.
    """
    if len(form.note) > MAX_NOTE_LENGTH:
        raise ImportRefusedError(f"at most {MAX_NOTE_LENGTH} characters", "note")
    try:
        found = read_contacts_file(
            data,
            phone_column=form.phone_column or None,
            encoding=form.encoding or None,
            options=_OPTION_NAMES,
        )
    except ContactsFileError as error:
        raise ImportRefusedError(str(error), _FIELD_OF_PROBLEM.get(error.field, "file")) from None
    report = normalise_audience(found.contacts, default_region)
    rejected = [RejectedRow(found.place(r.position), r.value, r.reason) for r in report.invalid]
    phones = [contact.phone for contact in report.contacts]
    added = already = 0
    if phones:
        done = book.add(phones, source="import", note=form.note or f"imported from {filename}")
        added, already = done.added, done.already
    return ImportReport(
        filename=filename,
        rows=len(found.contacts),
        added=added,
        already=already,
        repeated=len(report.duplicates),
        rejected=rejected[:MAX_REJECTS_SHOWN],
        rejected_total=len(rejected),
    )
