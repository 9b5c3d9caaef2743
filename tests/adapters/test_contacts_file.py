"""The one contacts-file reader: CSV in its encodings and dialects, XLSX, and header names."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from adapters import contacts_workbook
from adapters.contacts_file import (
    ContactsFileError,
    OptionNames,
    header_of,
    normalised_column,
    open_contacts_file,
    read_contacts_file,
)
from app.audience import ContactInput
from tests.builders import xlsx


def refusal(
    data: bytes, phone_column: str | None = None, encoding: str | None = None
) -> ContactsFileError:
    with pytest.raises(ContactsFileError) as raised:
        read_contacts_file(data, phone_column=phone_column, encoding=encoding)
    return raised.value


# -- CSV --------------------------------------------------------------------------------------


def test_a_csv_with_a_byte_order_mark_is_read_as_utf8() -> None:
    found = read_contacts_file(
        "\ufeffPhone,Name,city\r\n+4915110000000,Jos\u00e9,K\u00f6ln\r\n".encode()
    )

    assert found.contacts == [ContactInput("+4915110000000", "Jos\u00e9", {"city": "K\u00f6ln"})]
    assert found.warnings == []


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolons_and_tabs_separate_columns_too(delimiter: str) -> None:
    text = delimiter.join(["phone", "name", "city"]) + "\n"
    text += delimiter.join(["+4915110000000", "Ana, Lee", "Berlin"]) + "\n"

    found = read_contacts_file(text.encode())

    assert found.contacts == [ContactInput("+4915110000000", "Ana, Lee", {"city": "Berlin"})]


def test_a_latin1_csv_without_an_encoding_is_refused_saying_how_to_fix_it() -> None:
    error = refusal("phone,name\n+4915110000000,Jos\u00e9\n".encode("latin-1"))

    assert error.field == "contacts"
    assert str(error) == (
        "the file is not UTF-8 text (line 2 has the byte 0xe9): "
        'save it as "CSV UTF-8" from the spreadsheet, or give its encoding with encoding '
        "(e.g. cp1252 or latin-1)"
    )


def test_the_refusal_names_the_option_as_the_caller_spells_it() -> None:
    options = OptionNames(phone_column="--phone-column", encoding="--encoding")
    with pytest.raises(ContactsFileError) as raised:
        read_contacts_file(b"phone\n\xff\n", options=options)

    assert "give its encoding with --encoding" in str(raised.value)


def test_a_latin1_csv_with_its_encoding_declared_is_read() -> None:
    data = "phone;name\n+4915110000000;Jos\u00e9 M\u00fcller\n".encode("latin-1")

    found = read_contacts_file(data, encoding="latin-1")

    assert found.contacts == [ContactInput("+4915110000000", "Jos\u00e9 M\u00fcller")]


def test_a_wrong_declared_encoding_is_refused_naming_it() -> None:
    error = refusal("phone,name\n+4915110000000,Jos\u00e9\n".encode("latin-1"), encoding="ascii")

    assert str(error) == (
        "the file is not ascii text (line 2 has the byte 0xe9); give the encoding it was saved in"
    )


@pytest.mark.parametrize("encoding", ["klingon", "hex", "rot13", "utf\x008"])
def test_an_unknown_encoding_is_its_own_error(encoding: str) -> None:
    error = refusal(b"phone\n+4915110000000\n", encoding=encoding)

    assert error.field == "encoding"
    assert "is not a text encoding Python knows (e.g. cp1252, latin-1)" in str(error)


def test_a_utf16_csv_with_its_byte_order_mark_is_read_without_asking() -> None:
    data = "phone\tname\r\n+4915110000000\t\u0141ukasz\r\n".encode("utf-16")

    found = read_contacts_file(data)

    assert found.contacts == [ContactInput("+4915110000000", "\u0141ukasz")]


def test_empty_rows_are_skipped_and_each_contact_keeps_its_line() -> None:
    text = '\nphone,name\n+4915110000000,Ana\n\n , \n+4915110000001,"Bo\nBo"\n+4915110000002,\n'

    found = read_contacts_file(text.encode())

    assert [c.name for c in found.contacts] == ["Ana", "Bo\nBo", None]
    assert found.lines == [3, 6, 8]
    assert [found.place(i) for i in range(3)] == ["line 3", "line 6", "line 8"]


def test_an_empty_cell_leaves_the_variable_to_the_defaults() -> None:
    found = read_contacts_file(b"phone,city,code\n+4915110000000,  ,A1\n")

    assert found.contacts[0].variables == {"code": "A1"}


def test_a_row_longer_than_the_header_is_refused_with_a_hint() -> None:
    error = refusal(b"phone,name\n+4915110000000,Smith, Bob\n")

    assert str(error) == (
        "line 2 has 3 cells but the header row has 2: quote a cell that holds a ','"
    )


def test_a_trailing_empty_cell_past_the_header_is_no_error() -> None:
    found = read_contacts_file(b"phone,name\n+4915110000000,Ana,\n")

    assert found.contacts == [ContactInput("+4915110000000", "Ana")]


def test_a_stray_quote_is_refused_naming_its_line() -> None:
    error = refusal(b'phone,name\n+4915110000000,"Ana" Lee\n')

    assert str(error) == "line 2: ',' expected after '\"'"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty: it needs a header row with a phone column"),
        (b" \n\n", "the file is empty: it needs a header row with a phone column"),
        (b"phone,name\n\n", "the file has a header row but no contacts"),
    ],
)
def test_a_file_without_contacts_is_refused(data: bytes, reason: str) -> None:
    assert str(refusal(data)) == reason


# -- column names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("First Name", "first_name"),
        ("E-mail", "e_mail"),
        ("  PHONE ", "phone"),
        ("Tel. No.", "tel_no"),
        ("first - name", "first_name"),
        ("Promo code (2026)", "promo_code_2026"),
        ("Stra\u00dfe", "strae"),
        ("\u00c4rztin", "arztin"),
        ("Price \u20ac", "price"),
        ("snake_case", "snake_case"),
        ("#", ""),
    ],
)
def test_a_header_is_normalised_to_a_variable_name(title: str, name: str) -> None:
    assert normalised_column(title) == name


def test_columns_are_matched_ignoring_case_and_spaces() -> None:
    data = b"E-Mail,First Name,PHONE,Name\nana@example.com,Ana,+4915110000000,Ana Lee\n"

    found = read_contacts_file(data)

    assert found.contacts == [
        ContactInput(
            "+4915110000000", "Ana Lee", {"e_mail": "ana@example.com", "first_name": "Ana"}
        )
    ]
    assert found.warnings == []


def test_phone_column_names_another_column_matched_the_same_way() -> None:
    data = b"Name,Mobile Number,phone\nAna,+4915110000000,landline\n"

    found = read_contacts_file(data, phone_column="mobile-number")

    assert found.contacts == [ContactInput("+4915110000000", "Ana", {"phone": "landline"})]


def test_a_missing_phone_column_is_refused_listing_the_columns() -> None:
    error = refusal(b"name,tel\nAna,+4915110000000\n")

    assert error.field == "contacts"
    assert str(error) == (
        "the header row has no phone column (its columns: name, tel); "
        "name one 'phone', or pick it with phone_column"
    )


def test_a_phone_column_that_is_not_there_is_refused_naming_the_option() -> None:
    error = refusal(b"name,tel\nAna,+4915110000000\n", phone_column="Mobile")

    assert error.field == "phone_column"
    assert str(error) == "the header row has no column 'Mobile' (its columns: name, tel)"


def test_two_columns_of_one_name_keep_the_first_and_warn() -> None:
    data = b"phone,First Name,first_name,Phone\n+4915110000000,Ana,Bo,+4915110000009\n"

    found = read_contacts_file(data)

    assert found.contacts == [ContactInput("+4915110000000", None, {"first_name": "Ana"})]
    assert found.warnings == [
        (
            "column 3 'first_name' is ignored: column 2 'First Name' has the same name "
            "(first_name) and is used"
        ),
        "column 4 'Phone' is ignored: column 1 'phone' has the same name (phone) and is used",
    ]


def test_a_column_that_cannot_be_a_variable_is_ignored_with_a_warning() -> None:
    data = b"phone,2nd line,***,code\n+4915110000000,x,y,A1\n"

    found = read_contacts_file(data)

    assert found.contacts == [ContactInput("+4915110000000", None, {"code": "A1"})]
    assert found.warnings == [
        (
            "column 2 '2nd line' is ignored: '2nd_line' cannot be a template variable "
            "(a letter first, at most 64 characters)"
        ),
        "column 3 '***' is ignored: its name has no letters or digits",
    ]


def test_a_column_without_a_name_warns_only_when_it_holds_data() -> None:
    quiet = read_contacts_file(b"phone,,name,\n+4915110000000,,Ana,\n")
    noisy = read_contacts_file(b"phone,,name\n+4915110000000,,Ana\n+4915110000001,x,Bo\n")

    assert quiet.warnings == []
    assert noisy.warnings == [
        "column 2 has no name in the header row and is ignored (line 3 has data in it)"
    ]
    assert [c.variables for c in noisy.contacts] == [{}, {}]


# -- XLSX -----------------------------------------------------------------------------------


def test_an_xlsx_workbook_is_read_from_its_first_sheet_with_cells_as_text() -> None:
    visit = datetime(2026, 3, 1, 9, 30)  # noqa: DTZ001 - Excel's times have no zone
    data = xlsx(
        ["Phone", "Name", "Birthday", "Visit", "Amount", "Member", "Code"],
        [4915110000000, "Ana", date(1990, 5, 17), visit, 12.5, True, 7],
        [4915110000001.0, None, None, None, 3.0, False, "007"],
        other_sheet=True,
    )

    found = read_contacts_file(data)

    assert found.contacts == [
        ContactInput(
            "4915110000000",
            "Ana",
            {
                "birthday": "1990-05-17",
                "visit": "2026-03-01T09:30:00",
                "amount": "12.5",
                "member": "TRUE",
                "code": "7",
            },
        ),
        ContactInput("4915110000001", None, {"amount": "3", "member": "FALSE", "code": "007"}),
    ]
    assert found.unit == "row"
    assert found.lines == [2, 3]


def test_an_xlsx_is_known_by_its_content_and_numbers_rows_as_the_sheet_does() -> None:
    data = xlsx(
        ["Mobile", "First Name"],
        ["+4915110000000", "Ana"],
        [None, None],
        ["+4915110000001", "Bo", "stray"],
        first_row=3,
    )

    found = read_contacts_file(data, phone_column="MOBILE", encoding="latin-1")

    assert [c.variables for c in found.contacts] == [{"first_name": "Ana"}, {"first_name": "Bo"}]
    assert [found.place(i) for i in range(2)] == ["row 4", "row 6"]
    assert found.warnings == [
        "column 3 has no name in the header row and is ignored (row 6 has data in it)"
    ]


def test_what_openpyxl_drops_from_a_workbook_warns_nobody() -> None:
    # A defined name for a sheet that is not there: openpyxl warns and drops it.
    data = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx(["phone"], ["+4915110000000"]))) as source,
        zipfile.ZipFile(data, "w") as target,
    ):
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/workbook.xml":
                stale = b'<definedName name="x" localSheetId="5">Sheet!$A$1</definedName>'
                body = body.replace(
                    b"<definedNames />", b"<definedNames>" + stale + b"</definedNames>"
                )
            target.writestr(item, body)

    found = read_contacts_file(data.getvalue())  # filterwarnings = error: a warning would fail

    assert found.contacts == [ContactInput("+4915110000000")]


def test_an_xlsx_without_a_phone_column_is_refused_like_a_csv() -> None:
    error = refusal(xlsx(["name", "tel"], ["Ana", "+4915110000000"]))

    assert str(error).startswith("the header row has no phone column (its columns: name, tel)")


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("contacts.csv", "phone\n+4915110000000\n")

    error = refusal(archive.getvalue())

    assert str(error) == (
        "the file is a zip archive but not an XLSX workbook that can be read; "
        "save it as .xlsx or as CSV UTF-8"
    )


def test_a_damaged_workbook_is_refused() -> None:
    data = xlsx(["phone"], ["+4915110000000"])

    assert str(refusal(data[: len(data) // 2])) == (
        "the file starts like an XLSX workbook but is damaged"
    )


def test_an_old_xls_workbook_is_refused_saying_what_to_save_instead() -> None:
    error = refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)

    assert str(error) == "an old Excel .xls workbook: save it as .xlsx or as CSV UTF-8"


def test_a_workbook_that_unpacks_too_large_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(contacts_workbook, "MAX_UNPACKED", 1024)

    error = refusal(xlsx(["phone"], ["+4915110000000"]))

    assert str(error) == "the workbook unpacks to over 0 MiB; save the contacts as CSV UTF-8"


def test_the_header_row_is_read_as_written_from_csv_and_xlsx() -> None:
    workbook = xlsx(["Mobile", " First Name "], ["+4915130000001", "Ana"])

    assert header_of(b"\n\nMobile;First Name\n+49151;Ana\n") == ["Mobile", "First Name"]
    assert header_of(workbook) == ["Mobile", "First Name"]
    assert header_of(b"\xff\xfe\x00broken", encoding="no-such-codec") == []


def test_a_workbook_is_read_past_a_batch_of_rows_numbered_as_the_sheet_numbers_them() -> None:
    rows = [(4915110000000 + i, f"Name {i}") for i in range(2500)]
    workbook = xlsx(["Phone", "Name"], *rows, first_row=3)

    found = read_contacts_file(workbook)

    assert len(found.contacts) == 2500
    assert found.contacts[2499] == ContactInput("4915110002499", "Name 2499")
    assert (found.lines[0], found.lines[-1]) == (4, 2503)


def test_a_file_on_disk_is_checked_once_and_read_again_on_each_iteration(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"phone;name\n\n+4915110000000;Ana\n+4915110000001;Bo\n")

    rows = open_contacts_file(path)

    assert (len(rows), rows.place(1), rows.warnings) == (2, "line 4", [])
    assert (
        list(rows)
        == list(rows)
        == [
            ContactInput("+4915110000000", "Ana"),
            ContactInput("+4915110000001", "Bo"),
        ]
    )


def test_a_bad_byte_far_into_a_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    good = "".join(f"+49151{10000000 + i},Nam\u00e9\n" for i in range(20_000))
    path.write_bytes(b"phone,name\n" + good.encode() + b"+4915199999999,Jos\xe9\n")

    with pytest.raises(ContactsFileError) as raised:
        open_contacts_file(path)

    assert "(line 20002 has the byte 0xe9)" in str(raised.value)
