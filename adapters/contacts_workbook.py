"""The first sheet of an XLSX workbook as rows of text, for the contacts-file reader."""

from __future__ import annotations

import itertools
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import BinaryIO, Final, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

T = TypeVar("T")
# Opens a file's bytes from its start: each call a new stream, closed by its caller.
Source = Callable[[], BinaryIO]
XLSX_MAGIC: Final = b"PK\x03\x04"
# Rows read under the lock at a time: other readers wait for at most this many.
_BATCH: Final = 1000
# A workbook is a zip: its declared unpacked size bounds what a hostile upload can make us parse.
MAX_UNPACKED: Final = 256 * 1024 * 1024
# catch_warnings swaps a process-wide filter list: two uploads read in threads at once would
# restore each other's lists, so workbooks are read one step at a time (openpyxl holds the
# GIL anyway).
_WORKBOOK_LOCK: Final = threading.Lock()


class UnreadableWorkbookError(Exception):
    """A workbook that cannot be read; the message says so in one line, with what to do."""


def sheet_rows(source: Source) -> Iterator[tuple[int, list[str]]]:
    """Yield each row of the first sheet, numbered as the sheet numbers it, as text cells.

    `source` opens the workbook's bytes (each call a new stream). The sheet is read as it is
    yielded (openpyxl's read-only mode; its shared strings are loaded whole), so a workbook
    of a million rows is never held as rows. Raises UnreadableWorkbookError, when iterated.
    """
    with source() as stream:
        _check_size(stream)
        stream.seek(0)
        book = _guarded(lambda: load_workbook(stream, read_only=True, data_only=True))
        try:
            rows = _guarded(lambda: _first_sheet(book))
            number = 0
            while batch := _guarded(lambda: list(itertools.islice(rows, _BATCH))):
                for values in batch:
                    number += 1
                    yield number, [_cell_text(value) for value in values]
        finally:
            book.close()


def _first_sheet(book: Workbook) -> Iterator[tuple[object, ...]]:
    sheets = book.worksheets
    if not sheets or not isinstance(sheets[0], ReadOnlyWorksheet):
        raise UnreadableWorkbookError("the workbook has no sheet of cells")
    sheet = sheets[0]
    # Some writers declare wrong dimensions; read what the sheet really holds.
    sheet.reset_dimensions()
    return sheet.iter_rows(values_only=True)


def _check_size(stream: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnreadableWorkbookError(
            "the file starts like an XLSX workbook but is damaged"
        ) from None
    if unpacked > MAX_UNPACKED:
        raise UnreadableWorkbookError(
            f"the workbook unpacks to over {MAX_UNPACKED // 2**20} MiB; "
            "save the contacts as CSV UTF-8"
        )


def _guarded(read: Callable[[], T]) -> T:
    try:
        # openpyxl warns about what it drops from real workbooks (defined names, extensions):
        # nothing a contact needs, and noise on the CLI's stderr. The lock and the filter are
        # held for one step at a time, never across a yield.
        with _WORKBOOK_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read()
    except UnreadableWorkbookError:
        raise
    # An upload is hostile until read, and openpyxl fails in many ways (zip, XML, its model):
    # each becomes the same clear refusal, never a 500.
    except Exception:  # noqa: BLE001
        raise UnreadableWorkbookError(
            "the file is a zip archive but not an XLSX workbook that can be read; "
            "save it as .xlsx or as CSV UTF-8"
        ) from None


def _cell_text(value: object) -> str:
    # Spreadsheets hold phones as numbers (4915112345678.0) and dates as dates: text as typed.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
