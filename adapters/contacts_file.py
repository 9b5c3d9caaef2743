"""The one reader of operators' contact files (CSV or XLSX), for the HTTP API and the CLI alike.

A file is read as a stream, never whole: `open_contacts_file` checks it in one pass, keeping
only each row's line number, then reads its rows again on each iteration, so a million-row
file costs a few MiB however it is used.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from adapters.contacts_workbook import XLSX_MAGIC, Source, UnreadableWorkbookError, sheet_rows
from app.audience import ContactInput
from domain.content import is_variable_name

DEFAULT_PHONE_COLUMN: Final = "phone"
NAME_COLUMN: Final = "name"
_DELIMITERS: Final = ",;\t"
_XLS_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_SEPARATORS: Final = re.compile(r"[\s.\-]+")
_HEADER_DROPPED: Final = re.compile(r"[^a-z0-9_\s.\-]")
_LISTED_COLUMNS: Final = 20
_CHUNK: Final = 64 * 1024
# Rows as read: each with its file line (CSV) or sheet row (XLSX).
_Rows = Generator[tuple[int, list[str]], None, None]


class ContactsFileError(Exception):
    """A contacts file that cannot be used; the message says why, and how to fix it, in one line.

    `field` names the request field at fault: `contacts`, or the option that was given.
    """

    def __init__(self, message: str, *, field: str = "contacts") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OptionNames:
    """How the caller spells the reader's options, so a message can tell which to give."""

    phone_column: str = "phone_column"
    encoding: str = "encoding"


@dataclass(frozen=True)
class ContactsFile:
    """The contacts of a file in order, where each came from, and what was ignored."""

    contacts: list[ContactInput]
    # The file line (CSV) or sheet row (XLSX) of each contact: people look rows up by it.
    lines: list[int]
    unit: str
    warnings: list[str]

    def place(self, position: int) -> str:
        """Return where contact `position` is in the file, e.g. "line 3" or "row 3"."""
        if 0 <= position < len(self.lines):
            return f"{self.unit} {self.lines[position]}"
        return f"{self.unit} ?"


@dataclass(frozen=True)
class _Table:
    unit: str
    # Reads the rows from the file's start, each call anew.
    rows: Callable[[], _Rows]
    # CSV: a cell past the header row is a shifted row (an unquoted delimiter), not data.
    overflow_hint: str | None
    # Raises the error of a text that does not decode, if it has one (CSV; XLSX: nothing).
    check_text: Callable[[], None]


@dataclass(frozen=True)
class _Columns:
    phone: int
    name: int | None
    variables: dict[int, str]
    unnamed: frozenset[int]
    width: int


class ContactRows:
    """A checked contacts file's rows, in order, read from the file again on each iteration."""

    def __init__(
        self, table: _Table, columns: _Columns, lines: array[int], warnings: list[str]
    ) -> None:
        self._table = table
        self._columns = columns
        # The file line (CSV) or sheet row (XLSX) of each contact: people look rows up by it.
        self.lines: Sequence[int] = lines
        self.unit = table.unit
        self.warnings = warnings

    def __iter__(self) -> Iterator[ContactInput]:
        """Yield the contacts of the file's data rows, reading it from its start."""
        with closing(self._table.rows()) as rows:
            header = False
            for _, cells in rows:
                if not _has_data(cells):
                    continue
                if header:
                    yield _contact(cells, self._columns)
                header = True

    def __len__(self) -> int:
        """Return how many contacts the file has."""
        return len(self.lines)

    def place(self, position: int) -> str:
        """Return where contact `position` is in the file, e.g. "line 3" or "row 3"."""
        if 0 <= position < len(self.lines):
            return f"{self.unit} {self.lines[position]}"
        return f"{self.unit} ?"


def normalised_column(title: str) -> str:
    """Return the name a header cell stands for: `First Name` -> first_name, `E-mail` -> e_mail."""
    folded = unicodedata.normalize("NFKD", title.lower()).encode("ascii", "ignore").decode()
    kept = _HEADER_DROPPED.sub("", folded).strip(" \t\r\n\f\v.-")
    return _HEADER_SEPARATORS.sub("_", kept)


def encoding_problem(encoding: str) -> str | None:
    """Return why `encoding` cannot decode a CSV, or None if it is a text codec Python knows."""
    try:
        # Not b"": Python decodes empty bytes without looking the codec up at all.
        b"\x00\x00".decode(encoding)
    except (LookupError, ValueError):
        return f"{encoding[:64]!r} is not a text encoding Python knows (e.g. cp1252, latin-1)"
    return None


def open_contacts_file(
    path: Path,
    *,
    phone_column: str | None = None,
    encoding: str | None = None,
    options: OptionNames = OptionNames(),
) -> ContactRows:
    """Check the CSV or XLSX file at `path` in one pass; return its rows, read on iteration.

    Raises ContactsFileError saying why the file cannot be used (and OSError if it cannot be
    opened). Reads as read_contacts_file does, holding only each row's line number.
    """
    return _checked(lambda: path.open("rb"), phone_column, encoding, options)


def read_contacts_file(
    data: bytes,
    *,
    phone_column: str | None = None,
    encoding: str | None = None,
    options: OptionNames = OptionNames(),
) -> ContactsFile:
    """Return the contacts of a CSV or XLSX file, or raise ContactsFileError saying why not.

    The first row with data is the header. Its names are matched case- and space-insensitively
    (see normalised_column): the phone column is `phone` or `phone_column`, `name` is the
    contact's name, and every other column whose name can be a template variable is one.
    Ignored columns are listed in `warnings`. Empty rows are skipped, so contacts[i] is the
    i-th data row from 0; an empty cell leaves its variable to the campaign's defaults.
    """
    rows = _checked(lambda: io.BytesIO(data), phone_column, encoding, options)
    return ContactsFile(list(rows), list(rows.lines), rows.unit, rows.warnings)


def header_of(data: bytes, *, encoding: str | None = None) -> list[str]:
    """Return the header row of a CSV or XLSX file as written, or [] if it cannot be read.

    For choosing the phone column from a list; reading the file says why it cannot be used.
    """
    try:
        table = _table(lambda: io.BytesIO(data), encoding, OptionNames())
        with closing(table.rows()) as rows:
            return [cell.strip() for cell in next((c for _, c in rows if _has_data(c)), [])]
    except (ContactsFileError, LookupError):
        return []


def _table(source: Source, encoding: str | None, options: OptionNames) -> _Table:
    with source() as stream:
        start = stream.read(len(_XLS_MAGIC))
    if start.startswith(XLSX_MAGIC):
        return _Table("row", lambda: _workbook_rows(source), None, lambda: None)
    if start.startswith(_XLS_MAGIC):
        raise ContactsFileError("an old Excel .xls workbook: save it as .xlsx or as CSV UTF-8")
    if encoding is None and start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # a byte order mark declares it: Excel's "Unicode Text"
    with closing(_lines(source, encoding, options)) as lines:
        delimiter = _delimiter(lines)
    hint = f"quote a cell that holds a '{delimiter}'".replace("'\t'", "tab")

    def check_text() -> None:
        with closing(_lines(source, encoding, options)) as lines:
            for _ in lines:
                pass

    return _Table(
        "line", lambda: _csv_rows(_lines(source, encoding, options), delimiter), hint, check_text
    )


def _workbook_rows(source: Source) -> _Rows:
    try:
        yield from sheet_rows(source)
    except UnreadableWorkbookError as error:
        raise ContactsFileError(str(error)) from None


def _lines(
    source: Source, encoding: str | None, options: OptionNames
) -> Generator[str, None, None]:
    # Lines end only at CR or LF (newline=""), as the csv module reads them, never at U+2028.
    with source() as stream, io.TextIOWrapper(stream, encoding or "utf-8-sig", newline="") as text:
        try:
            first = next(text, None)
            if first is None:
                return
            yield first.removeprefix("\ufeff")
            yield from text
        except UnicodeDecodeError:
            raise _undecodable(source, encoding, options) from None


def _undecodable(source: Source, encoding: str | None, options: OptionNames) -> ContactsFileError:
    """Return the error for a file that does not decode, naming its first bad byte's line."""
    decoder = codecs.getincrementaldecoder(encoding or "utf-8-sig")()
    offset = 0
    bad = None
    with source() as stream:
        while bad is None:
            chunk = stream.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # What the codec saw ends where this chunk ends (it may start before it).
                bad = max(0, offset + len(chunk) - len(error.object) + error.start)
            if not chunk:
                break
            offset += len(chunk)
    found = "" if bad is None else " (" + _found_at(source, bad) + ")"
    if encoding is not None:
        return ContactsFileError(
            f"the file is not {encoding} text{found}; give the encoding it was saved in"
        )
    return ContactsFileError(
        f'the file is not UTF-8 text{found}: save it as "CSV UTF-8" from the spreadsheet, '
        f"or give its encoding with {options.encoding} (e.g. cp1252 or latin-1)"
    )


def _found_at(source: Source, at: int) -> str:
    newlines = offset = 0
    with source() as stream:
        while chunk := stream.read(_CHUNK):
            if offset + len(chunk) > at:
                line = newlines + chunk.count(b"\n", 0, at - offset) + 1
                return f"line {line} has the byte 0x{chunk[at - offset]:02x}"
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    return f"line {newlines + 1}"


def _delimiter(lines: Iterable[str]) -> str:
    # Spreadsheets in many locales save ";"-separated "CSV": the header line tells which it is.
    header = next((line for line in lines if line.strip()), "")
    return max(_DELIMITERS, key=header.count)


def _csv_rows(lines: Generator[str, None, None], delimiter: str) -> _Rows:
    # strict: a stray quote is an error to show, not a guess to make.
    with closing(lines):
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        line = 1
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
        except csv.Error as error:
            raise ContactsFileError(f"line {reader.line_num}: {error}") from None


def _has_data(cells: Sequence[str]) -> bool:
    return any(cell.strip() for cell in cells)


def _listing(titles: Sequence[str]) -> str:
    shown = ", ".join(t.strip() or "(no name)" for t in titles[:_LISTED_COLUMNS])
    more = len(titles) - _LISTED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def _columns(
    titles: Sequence[str], phone_column: str | None, options: OptionNames
) -> tuple[_Columns, list[str]]:
    phone_key = DEFAULT_PHONE_COLUMN if phone_column is None else normalised_column(phone_column)
    found: dict[str, int] = {}
    variables: dict[int, str] = {}
    unnamed: set[int] = set()
    notes: list[str] = []
    for position, title in enumerate(titles):
        column = f"column {position + 1} {title.strip()[:64]!r}"
        key = normalised_column(title)
        if not key:
            if title.strip():
                notes.append(f"{column} is ignored: its name has no letters or digits")
            else:
                unnamed.add(position)
        elif key in found:
            first = found[key]
            notes.append(
                f"{column} is ignored: column {first + 1} {titles[first].strip()[:64]!r} "
                f"has the same name ({key}) and is used"
            )
        else:
            found[key] = position
            if key in {phone_key, NAME_COLUMN}:
                continue
            if is_variable_name(key):
                variables[position] = key
            else:
                notes.append(
                    f"{column} is ignored: {key[:64]!r} cannot be a template variable "
                    "(a letter first, at most 64 characters)"
                )
    if phone_key not in found:
        if phone_column is None:
            raise ContactsFileError(
                f"the header row has no phone column (its columns: {_listing(titles)}); "
                f"name one 'phone', or pick it with {options.phone_column}"
            )
        raise ContactsFileError(
            f"the header row has no column {phone_column[:64]!r} (its columns: {_listing(titles)})",
            field="phone_column",
        )
    name = found.get(NAME_COLUMN) if phone_key != NAME_COLUMN else None
    return _Columns(found[phone_key], name, variables, frozenset(unnamed), len(titles)), notes


def _checked(
    source: Source, phone_column: str | None, encoding: str | None, options: OptionNames
) -> ContactRows:
    if encoding is not None and (problem := encoding_problem(encoding)) is not None:
        raise ContactsFileError(problem, field="encoding")
    table = _table(source, encoding, options)
    lines: array[int] = array("I")
    strays: dict[int, int] = {}  # a column without a name that holds data -> its first line
    with closing(table.rows()) as rows:
        header = next((cells for _, cells in rows if _has_data(cells)), None)
        if header is None:
            raise ContactsFileError("the file is empty: it needs a header row with a phone column")
        try:
            columns, notes = _columns(header, phone_column, options)
        except ContactsFileError:
            table.check_text()  # a text that does not decode is the first thing to fix
            raise
        for number, cells in rows:
            if not _has_data(cells):
                continue
            overflows = len(cells) > columns.width and _has_data(cells[columns.width :])
            if overflows and table.overflow_hint is not None:
                raise ContactsFileError(
                    f"line {number} has {len(cells)} cells but the header row has "
                    f"{columns.width}: {table.overflow_hint}"
                )
            for position, cell in enumerate(cells):
                if (position in columns.unnamed or position >= columns.width) and cell.strip():
                    strays.setdefault(position, number)
            lines.append(number)
    if not lines:
        raise ContactsFileError("the file has a header row but no contacts")
    notes.extend(
        f"column {position + 1} has no name in the header row and is ignored "
        f"({table.unit} {number} has data in it)"
        for position, number in sorted(strays.items())
    )
    return ContactRows(table, columns, lines, notes)


def _contact(cells: list[str], columns: _Columns) -> ContactInput:
    def cell(position: int) -> str:
        return cells[position] if position < len(cells) else ""

    name = cell(columns.name).strip() if columns.name is not None else ""
    return ContactInput(
        phone=cell(columns.phone).strip(),
        name=name or None,
        variables={key: cell(i) for i, key in columns.variables.items() if cell(i).strip()},
    )
