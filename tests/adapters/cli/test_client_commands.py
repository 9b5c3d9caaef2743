"""`create`, `list`, `show`, `pause`, `resume` and `cancel` against a fake of the service."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from tests.adapters.cli.conftest import Service, cli
from tests.adapters.cli.fake_service import TOKEN, a_view
from tests.builders import xlsx

CSV = "phone,name,city\n+4915110000000,Ana,Berlin\n+4915110000001,,\n+4915110000000,Ana again,\n"


@pytest.fixture
def contacts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "spring.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def service_args(service: Service) -> list[str]:
    return ["--url", service.url, "--token", TOKEN]


# -- create -----------------------------------------------------------------------------------


async def test_create_sends_the_contacts_and_template_and_prints_the_id(
    service: Service, contacts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli(
        "create",
        str(contacts_csv),
        "--text",
        "Hi {name} in {city}",
        "--default",
        "city=your town",
        "--session",
        "sales",
        "--at",
        "2026-12-01T09:30:00+01:00",
        "--pacing",
        "20-40",
        "--check-numbers",
        "--typing",
        "--no-auto-resume",
        "--max-failures",
        "3",
        *service_args(service),
    )

    captured = capsys.readouterr()
    (created,) = service.fake.campaigns.values()
    assert code == 0
    assert captured.out == f"{created['id']}\n"
    assert captured.err == f"dropped {contacts_csv} line 4: same number as line 2\n"
    body = service.fake.received[0][2]
    assert body == {
        "name": "spring",
        "session": "sales",
        "message": {"text": "Hi {name} in {city}", "defaults": {"city": "your town"}},
        "contacts": [
            {"phone": "+4915110000000", "name": "Ana", "variables": {"city": "Berlin"}},
            {"phone": "+4915110000001"},
            {"phone": "+4915110000000", "name": "Ana again"},
        ],
        "scheduled_for": "2026-12-01T09:30:00+01:00",
        "pacing": {"min_seconds": 20.0, "max_seconds": 40.0},
        "options": {
            "auto_resume": False,
            "check_numbers": True,
            "simulate_typing": True,
            "max_consecutive_failures": 3,
        },
    }


async def test_create_uploads_the_file_as_it_is_with_its_reading_options(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    data = "Mobile;Name\n+4915110000000;Jos\u00e9\n".encode("cp1252")
    path.write_bytes(data)

    code = await cli(
        "create",
        str(path),
        "--phone-column",
        "mobile",
        "--encoding",
        "cp1252",
        "--text",
        "Hi",
        *service_args(service),
    )

    assert code == 0, capsys.readouterr().err
    assert service.fake.uploads == [("export.csv", data)]
    body = service.fake.received[0][2]
    assert (body["phone_column"], body["encoding"]) == ("mobile", "cp1252")


async def test_create_counts_the_duplicates_past_those_the_service_lists(
    service: Service, contacts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.fake.created_extra = {"duplicates_total": 1501}

    code = await cli("create", str(contacts_csv), "--text", "Hi", *service_args(service))

    assert code == 0
    assert capsys.readouterr().err.splitlines() == [
        f"dropped {contacts_csv} line 4: same number as line 2",
        f"dropped 1500 more rows of {contacts_csv} with a number given before",
    ]


async def test_create_reads_semicolons_and_a_byte_order_mark(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("\ufeffName;Phone\nAna;+4915110000000\n", encoding="utf-8")

    code = await cli("create", str(path), "--text", "Hi", "--name", "X", *service_args(service))

    assert code == 0

    body = service.fake.received[0][2]
    assert body["contacts"] == [{"phone": "+4915110000000", "name": "Ana"}]
    assert body["scheduled_for"] is None
    assert "pacing" not in body


async def test_a_csv_without_a_phone_column_is_one_clear_line(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("name,tel\nAna,+4915110000000\n", encoding="utf-8")

    code = await cli("create", str(path), "--text", "Hi", *service_args(service))

    assert code == 2
    assert capsys.readouterr().err == (
        f"waha-campaigns: {path}: the header row has no phone column (its columns: name, tel); "
        "name one 'phone', or pick it with --phone-column\n"
    )
    assert service.fake.received == []


async def test_a_line_break_other_than_cr_or_lf_stays_inside_its_cell(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "names.csv"
    text = "phone,name,note\n+4915110000000,Ana\u2028Bob,a\x85b\n+4915110000001,Cy\x0cDee,\x1c\n"
    path.write_text(text, encoding="utf-8")

    code = await cli("create", str(path), "--text", "Hi", *service_args(service))

    assert code == 0, capsys.readouterr().err
    assert service.fake.received[0][2]["contacts"] == [
        {"phone": "+4915110000000", "name": "Ana\u2028Bob", "variables": {"note": "a\x85b"}},
        {"phone": "+4915110000001", "name": "Cy\x0cDee"},
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "phone,name\n+4915110000000,Ana\n+4915110000001,Smith, Bob\n",
            ": line 3 has 3 cells but the header row has 2: quote a cell that holds a ','",
        ),
        ('phone,name\n+4915110000000,"Ana" Lee\n', ": line 2: ',' expected after '\"'"),
        ("phone,name\n", ": the file has a header row but no contacts"),
        (
            "phone,name\n+4915110000000,Jos\udce9\n",
            (
                ": the file is not UTF-8 text (line 2 has the byte 0xe9): save it as "
                '"CSV UTF-8" from the spreadsheet, or give its encoding with --encoding '
                "(e.g. cp1252 or latin-1)"
            ),
        ),
    ],
)
async def test_a_csv_the_service_would_refuse_is_refused_naming_the_line(
    service: Service,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    problem: str,
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))

    code = await cli("create", str(path), "--text", "Hi", *service_args(service))

    assert code == 2
    assert capsys.readouterr().err == f"waha-campaigns: {path}{problem}\n"
    assert service.fake.received == []


async def test_create_takes_contacts_as_an_option_and_spreadsheet_column_names(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Phone;First Name;E-mail;first_name;;\n+4915110000000;Ana;ana@example.com;Bo;;x\n",
        encoding="utf-8",
    )

    code = await cli(
        "create", "--contacts", str(path), "--text", "Hi {first_name}", *service_args(service)
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert service.fake.received[0][2]["contacts"] == [
        {"phone": "+4915110000000", "variables": {"first_name": "Ana", "e_mail": "ana@example.com"}}
    ]
    assert captured.err.splitlines() == [
        (
            f"{path}: column 4 'first_name' is ignored: column 2 'First Name' has the same name "
            "(first_name) and is used"
        ),
        f"{path}: column 6 has no name in the header row and is ignored (line 2 has data in it)",
    ]


async def test_create_reads_an_xlsx_workbook_naming_its_phone_column(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(
        xlsx(
            ["Name", "Mobile", "Member since"],
            ["Ana", 4915110000000, 2019],
            ["Bo", 4915110000001.0, None],
            ["Ana again", "+49 151 10000000", None],
        )
    )

    code = await cli(
        "create", str(path), "--phone-column", "mobile", "--text", "Hi", *service_args(service)
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    body = service.fake.received[0][2]
    assert body["name"] == "contacts"
    assert body["contacts"] == [
        {"phone": "4915110000000", "name": "Ana", "variables": {"member_since": "2019"}},
        {"phone": "4915110000001", "name": "Bo"},
        {"phone": "+49 151 10000000", "name": "Ana again"},
    ]
    assert captured.err == f"dropped {path} row 4: same number as row 2\n"


async def test_a_latin1_csv_is_read_with_its_encoding(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("phone;name\n+4915110000000;Jos\u00e9\n".encode("cp1252"))

    code = await cli(
        "create", str(path), "--encoding", "cp1252", "--text", "Hi", *service_args(service)
    )

    assert code == 0, capsys.readouterr().err
    assert service.fake.received[0][2]["contacts"] == [
        {"phone": "+4915110000000", "name": "Jos\u00e9"}
    ]


async def test_an_unknown_encoding_is_one_clear_line(
    service: Service, contacts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli(
        "create", str(contacts_csv), "--encoding", "klingon", "--text", "Hi", *service_args(service)
    )

    assert code == 2
    assert capsys.readouterr().err == (
        f"waha-campaigns: {contacts_csv}: 'klingon' is not a text encoding Python knows "
        "(e.g. cp1252, latin-1)\n"
    )
    assert service.fake.received == []


def test_the_contacts_file_is_given_once(
    contacts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.cli import main

    with pytest.raises(SystemExit) as twice:
        main(["create", str(contacts_csv), "--contacts", str(contacts_csv), "--text", "Hi"])
    assert twice.value.code == 2
    assert "not allowed with argument FILE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as never:
        main(["create", "--text", "Hi"])
    assert never.value.code == 2
    assert "one of the arguments FILE --contacts is required" in capsys.readouterr().err


async def test_a_missing_csv_is_an_input_error(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone.csv"

    assert await cli("create", str(missing), "--text", "Hi", *service_args(service)) == 2
    assert capsys.readouterr().err == (
        f"waha-campaigns: cannot read {missing}: No such file or directory\n"
    )


async def test_the_services_validation_problems_are_printed_one_per_line(
    service: Service, contacts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.fake.reject_contacts = [
        {"field": "contacts[1].phone", "value": "+4915110000001", "reason": "too short"},
        {"field": "message.text", "reason": "must not be empty"},
    ]

    code = await cli("create", str(contacts_csv), "--text", "Hi", *service_args(service))

    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"  {contacts_csv} line 3, phone '+4915110000001': too short",
        "  message.text: must not be empty",
        "waha-campaigns: 1 contact(s)",
    ]


async def test_create_with_an_image_uploads_it_first(
    service: Service, contacts_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "offer.png"
    image.write_bytes(b"\x89PNG")

    code = await cli(
        "create", str(contacts_csv), "--text", "Look", "--image", str(image), *service_args(service)
    )

    assert code == 0
    assert service.fake.media == [("offer.png", "image/png", b"\x89PNG")]
    assert service.fake.received[0][2]["message"] == {"text": "Look", "media_id": "media-1"}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--pacing", "60-30"),
        ("--pacing", "fast"),
        ("--pacing", "30-1e400"),
        ("--pacing", "inf"),
        ("--at", "2026-12-01T09:30:00"),
        ("--timeout", "inf"),
        ("--timeout", "0"),
        ("--max-failures", "99999999999999999999999"),
    ],
)
def test_bad_template_options_are_usage_errors(
    contacts_csv: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["create", str(contacts_csv), "--text", "Hi", option, value])

    assert exit_.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


# -- list and show ----------------------------------------------------------------------------


async def test_list_prints_a_table(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    running = service.fake.add(a_view(name="Spring", sent=2, failed=1))
    paused = service.fake.add(a_view(name="Autumn", status="Paused"))

    assert await cli("list", *service_args(service)) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "STATUS", "DONE"]
    assert lines[1].split()[:6] == [running["id"], "Spring", "Running", "3/4", "2", "1"]
    assert lines[2].split()[:3] == [paused["id"], "Autumn", "Paused"]


async def test_list_filters_by_status_and_pages(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    views = [service.fake.add(a_view(status="Paused")) for _ in range(3)]
    service.fake.add(a_view())

    assert await cli("list", "--status", "Paused", "--limit", "2", *service_args(service)) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert captured.err == "more: waha-campaigns list --cursor 2\n"

    every_page = ["--limit", "2", "--all", "--json"]
    assert await cli("list", "--status", "Paused", *every_page, *service_args(service)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["id"] for v in listed["items"]] == [v["id"] for v in views]
    assert listed["next_cursor"] is None


async def test_a_service_that_pages_in_a_circle_ends_list_all_with_one_line(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    service.fake.add(a_view())
    service.fake.stuck_cursor = "7"

    assert await cli("list", "--all", *service_args(service)) == 3
    err = capsys.readouterr().err
    assert err == "waha-campaigns: the service sent the page cursor 7 twice\n"


async def test_show_prints_the_campaign_and_why_it_stopped(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    view = service.fake.add(
        a_view(
            status="Paused",
            sent=2,
            next_index=2,
            pause={
                "reason": "session_not_working",
                "detail": "session STOPPED",
                "at": "2026-11-28T09:30:00+00:00",
                "index": 2,
            },
        )
    )

    assert await cli("show", view["id"], *service_args(service)) == 0

    out = capsys.readouterr().out
    assert "status     Paused" in out
    assert "progress   2 of 4 handled: 2 sent, 0 failed, 0 skipped, 0 in doubt" in out
    assert (
        "stopped    paused at contact 3 of 4 (index 2) since 2026-11-28 09:30:00Z: "
        "session_not_working (session STOPPED)" in out
    )


async def test_show_prints_how_many_sent_messages_were_delivered_and_read(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    view = service.fake.add(a_view(status="Completed", sent=4, next_index=4, delivered=3, read=1))

    assert await cli("show", view["id"], *service_args(service)) == 0

    out = capsys.readouterr().out
    assert "delivery   3 of 4 sent delivered, 1 read (from WhatsApp's receipts)" in out
    assert "next       none left: all 4 handled" in out


async def test_show_as_json_is_the_services_view(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    view = service.fake.add(a_view())

    assert await cli("show", view["id"], "--json", *service_args(service)) == 0
    assert json.loads(capsys.readouterr().out) == view


async def test_show_of_an_unknown_campaign_is_not_found(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "3f2b8c1e-6d4a-4e7b-9a51-0c2d8e7f6a15"

    assert await cli("show", missing, *service_args(service)) == 4
    assert capsys.readouterr().err == f"waha-campaigns: no campaign with id {missing}\n"


def test_a_malformed_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["show", "not-an-id"])

    assert exit_.value.code == 2
    assert "not a campaign id: 'not-an-id'" in capsys.readouterr().err


# -- pause, resume, cancel --------------------------------------------------------------------


async def test_pause_then_resume(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    view = service.fake.add(a_view(next_index=1, sent=1))

    assert await cli("pause", view["id"], *service_args(service)) == 0
    assert capsys.readouterr().out == (
        f"paused Spring sale ({view['id']}): paused at contact 2 of 4 (index 1) since "
        "2026-11-28 10:00:00Z: manual\n"
    )
    assert await cli("resume", view["id"], *service_args(service)) == 0
    assert capsys.readouterr().out == (
        f"resumed Spring sale ({view['id']}): Running, next contact 2 of 4 (index 1)\n"
    )


async def test_a_command_the_state_does_not_allow_is_refused(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    view = service.fake.add(a_view(status="Completed"))

    assert await cli("pause", view["id"], *service_args(service)) == 2
    assert capsys.readouterr().err == "waha-campaigns: cannot pause a Completed campaign\n"


async def test_cancel_sends_the_reason(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    view = service.fake.add(a_view(next_index=3))

    code = await cli("cancel", view["id"], "--reason", "wrong list", *service_args(service))

    assert code == 0
    assert service.fake.received[-1][2] == {"reason": "wrong list"}
    assert (
        "cancelled at contact 4 of 4 (index 3) on 2026-11-28 10:00:00Z: wrong list"
        in capsys.readouterr().out
    )


# -- reaching the service ---------------------------------------------------------------------


async def test_the_token_comes_from_the_environment(
    service: Service, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGNS_URL", service.url)
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)

    assert await cli("list") == 0


async def test_a_refused_token_is_one_line_without_the_token(
    service: Service, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAMPAIGNS_API_TOKEN", raising=False)

    assert await cli("list", "--url", service.url, "--token", "wrong-token") == 2

    captured = capsys.readouterr()
    assert captured.err == (
        "waha-campaigns: the service refused the token (401): set --token or CAMPAIGNS_API_TOKEN\n"
    )
    assert "wrong-token" not in captured.err + captured.out


async def test_an_unreachable_service_is_one_line(
    unused_tcp_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"

    assert await cli("list", "--url", url, "--token", TOKEN) == 3

    err = capsys.readouterr().err
    assert err.startswith(f"waha-campaigns: the service at {url} is unreachable: ")
    assert len(err.splitlines()) == 1


async def test_a_service_url_without_a_scheme_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await cli("list", "--url", "localhost:8080") == 2
    assert "must start with http:// or https://" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "flaw"),
    [
        ("http://[::1", "the service URL cannot be read (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999", "the service URL cannot be read (Port out of range 0-65535)"),
        ("http:///campaigns", "the service URL names no host"),
    ],
)
async def test_a_service_url_that_names_no_reachable_place_is_a_usage_error(
    url: str, flaw: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("show", str(uuid.uuid4()), "--url", url) == 2
    assert capsys.readouterr().err == f"waha-campaigns: {flaw}: {url}\n"


class ClosedPipe(io.StringIO):
    """Standard output whose reader has gone, like `waha-campaigns list | head -1`."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_reader_that_stops_reading_ends_a_listing_quietly(
    service: Service, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service.fake.add(a_view())
    monkeypatch.setattr("sys.stdout", ClosedPipe())

    assert await cli("list", *service_args(service)) == 0
    assert capsys.readouterr().err == ""
