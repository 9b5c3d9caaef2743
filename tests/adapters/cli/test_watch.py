"""`watch`: progress until the campaign completes or pauses; the sleep is injected, never real."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import aiohttp
import pytest

from adapters.cli import main
from adapters.cli.output import Style
from adapters.cli.service_client import ServiceClient
from adapters.cli.watch import progress_line, time_left, watch_campaign
from tests.adapters.cli.conftest import Service, cli
from tests.adapters.cli.fake_service import TOKEN, a_view
from tests.fakes.system import InstantSleeper, ManualClock

PAUSE = {
    "reason": "session_not_working",
    "detail": "session STOPPED",
    "at": "2026-11-28T09:30:00+00:00",
    "index": 2,
}


def script(service: Service, *views: dict[str, object]) -> str:
    campaign_id = str(uuid.uuid4())
    service.fake.scripts[campaign_id] = [{**v, "id": campaign_id} for v in views]
    return campaign_id


async def test_watch_prints_a_line_per_change_and_exits_0_on_completion(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = script(
        service,
        a_view(sent=1),
        a_view(sent=1),
        a_view(sent=2, failed=1),
        a_view(status="Completed", sent=3, failed=1, completed_at="2026-11-28T10:00:00+00:00"),
    )

    code = await cli(
        "watch", campaign_id, "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(lines) == 4
    assert "Running  1/4  sent 1  failed 0  skipped 0  in doubt 0" in lines[0]
    assert "Running  3/4  sent 2  failed 1" in lines[1]
    assert "Completed  4/4" in lines[2]
    assert lines[3] == "completed on 2026-11-28 10:00:00Z"


async def test_watch_exits_1_with_the_reason_when_the_campaign_waits_for_an_operator(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    withheld = PAUSE | {"resumes_by_itself": False}
    campaign_id = script(
        service, a_view(sent=1), a_view(status="Paused", sent=2, next_index=2, pause=withheld)
    )

    code = await cli(
        "watch", campaign_id, "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    assert code == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "paused at contact 3 of 4 (index 2) since 2026-11-28 09:30:00Z: "
        "session_not_working (session STOPPED)"
    )


async def test_watch_follows_a_pause_that_lifts_by_itself_through_to_the_end(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    window = {
        "reason": "outside_window",
        "detail": "sends 09:00-18:00",
        "at": "2026-11-28T18:00:00+00:00",
        "index": 2,
        "resume_at": "2026-11-29T09:00:00+00:00",
        "resumes_by_itself": True,
    }
    campaign_id = script(
        service,
        a_view(sent=2, next_index=2),
        a_view(status="Paused", sent=2, next_index=2, pause=window),
        a_view(status="Paused", sent=2, next_index=2, pause=window),
        a_view(status="Running", sent=3, next_index=3),
        a_view(status="Completed", sent=4, next_index=4, completed_at="2026-11-29T09:05:00+00:00"),
    )

    code = await cli(
        "watch", campaign_id, "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert (
        lines.count(
            "paused at contact 3 of 4 (index 2) since 2026-11-28 18:00:00Z: outside_window "
            "(sends 09:00-18:00); resumes by itself at 2026-11-29 09:00:00Z; still watching"
        )
        == 1
    )
    assert lines[-1] == "completed on 2026-11-29 09:05:00Z"


@pytest.mark.parametrize(
    ("reason", "options", "follows"),
    [
        ("session_not_working", {}, True),
        ("session_not_working", {"auto_resume": False}, False),
        ("shutdown", {"auto_resume": False}, True),
        ("daily_cap", {}, False),  # a timed pause without its moment cannot lift
        ("manual", {}, False),
        ("too_many_failures", {}, False),
    ],
)
async def test_a_service_that_does_not_say_whether_a_pause_lifts_is_judged_by_the_reason(
    service: Service, reason: str, options: dict[str, object], follows: bool
) -> None:
    pause = {"reason": reason, "detail": "", "at": "2026-11-28T09:30:00+00:00", "index": 2}
    paused = a_view(status="Paused", sent=2, next_index=2, pause=pause, options=options)
    campaign_id = script(service, paused, a_view(status="Completed", sent=4, next_index=4))

    code = await cli(
        "watch", campaign_id, "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    assert code == (0 if follows else 1)


async def test_watch_with_exit_on_pause_ends_at_any_pause(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    lifts = PAUSE | {"resumes_by_itself": True}
    campaign_id = script(
        service,
        a_view(status="Paused", sent=2, next_index=2, pause=lifts),
        a_view(status="Completed", sent=4, next_index=4),
    )

    code = await cli(
        "watch",
        campaign_id,
        "--exit-on-pause",
        "--interval",
        "0",
        "--url",
        service.url,
        "--token",
        TOKEN,
    )

    assert code == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("paused at contact 3 of 4")


async def test_watch_as_json_prints_the_campaign_once_per_change(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = script(
        service, a_view(sent=1), a_view(sent=1), a_view(status="Completed", sent=4)
    )

    code = await cli(
        "watch", campaign_id, "--json", "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    views = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(v["status"], v["sent"]) for v in views] == [("Running", 1), ("Completed", 4)]


async def test_watch_of_an_unknown_campaign_is_not_found(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(uuid.uuid4())

    assert await cli("watch", missing, "--url", service.url, "--token", TOKEN) == 4
    assert capsys.readouterr().err == f"waha-campaigns: no campaign with id {missing}\n"


async def test_watch_on_a_terminal_redraws_a_progress_bar_and_waits_between_polls(
    service: Service,
) -> None:
    campaign_id = script(
        service,
        a_view(status="Scheduled", started_at=None),
        a_view(sent=1),
        a_view(sent=3),
        a_view(status="Cancelled", sent=3, cancelled={"reason": "stop", "index": 3, "at": None}),
    )
    clock = ManualClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    sleeper = InstantSleeper(clock)
    out = io.StringIO()

    async with aiohttp.ClientSession() as session:
        code = await watch_campaign(
            ServiceClient(session, service.url, TOKEN),
            uuid.UUID(campaign_id),
            interval=60,
            sleeper=sleeper,
            clock=clock,
            out=out,
            interactive=True,
        )

    frames = out.getvalue().split("\r")
    assert code == 1
    assert sleeper.waits == [60, 60, 60]
    assert "starts 2026-11-28 09:00:00Z" in frames[1]
    assert "[#######.......................]  1/4" in frames[2]
    assert "[######################........]  3/4" in frames[3]
    # Three contacts in the two minutes since the first poll.
    assert "1.5/min" in frames[3]
    assert "\x1b[36mRunning\x1b[0m" in frames[3]
    assert frames[-1].endswith("\ncancelled at contact 4 of 4 (index 3) on -: stop\n")


def test_time_left_is_the_remaining_waits_at_the_mean_pacing() -> None:
    view = a_view(sent=1, pacing={"min_seconds": 30, "max_seconds": 60})

    assert time_left(view) == 2 * 45.0
    assert "~1m 30s left" in progress_line(view, None, Style(enabled=False), bar=False)


def test_no_pacing_means_no_estimate() -> None:
    assert time_left(a_view(pacing=None)) is None


async def test_watch_of_a_campaign_with_an_endless_pacing_says_so(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    endless = {"min_seconds": 1e308, "max_seconds": 1e308}
    campaign_id = script(
        service,
        a_view(sent=1, pacing=endless),
        a_view(status="Completed", sent=4, pacing=endless, completed_at=None),
    )

    code = await cli(
        "watch", campaign_id, "--interval", "0", "--url", service.url, "--token", TOKEN
    )

    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert "~over 100 years left" in captured.out.splitlines()[0]


def test_the_bar_stays_whole_when_the_service_counts_more_than_the_total() -> None:
    view = a_view(sent=9, total=4)

    line = progress_line(view, None, Style(enabled=False), bar=True)

    assert "[" + "#" * 30 + "]  9/4" in line


def test_a_view_with_counts_that_are_not_numbers_still_gives_a_line() -> None:
    view = a_view(sent="many", total=None, pacing={"min_seconds": "x", "max_seconds": None})

    line = progress_line(view, None, Style(enabled=False), bar=True)

    assert "0/0" in line
    assert time_left(view) is None


@pytest.mark.parametrize("interval", ["nan", "inf", "-1", "soon"])
def test_an_interval_that_is_not_a_finite_number_of_seconds_is_a_usage_error(
    interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["watch", str(uuid.uuid4()), "--interval", interval])

    assert exit_.value.code == 2
    assert "argument --interval: not a number of seconds (0 or more)" in capsys.readouterr().err
