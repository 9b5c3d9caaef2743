"""The WAHA simulator answers every recorded request as the real WAHA 2024.10.8 did.

Each sample in shared/waha/captured-2024.10.8 holds a request and the real answer. We put the
simulator in the state that WAHA was in, replay the request, and compare the status code and
the body's shape: the same keys all the way down, the same JSON types, and the same literal
values where a client branches on them (error texts, statuses). Every sample is either replayed
here or listed with the reason it is not, so a new sample cannot be silently ignored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDictProxy
from pytest_aiohttp import AiohttpClient, AiohttpServer

from adapters.waha_simulator import (
    SIMULATOR_KEY,
    SimulatorConfig,
    WahaSimulator,
    make_simulator_app,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "waha" / "captured-2024.10.8"
# The same release asked for what 2026.4.3 added (client-supplied message ids): it has none.
ID_SAMPLES = SAMPLES.parent / "captured-2024.10.8-message-ids"
RECORDED_KEY = "test-key-123"
# Values a client branches on: these must match literally, not just in type.
LITERAL_KEYS = frozenset(
    {"statusCode", "message", "error", "status", "expected", "session", "name"}
)
WEBHOOK_LITERAL_KEYS = frozenset({"event", "session", "engine", "status", "name", "metadata"})

needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the recorded WAHA answers are not at {SAMPLES}"
)


def recorded(stem: str, samples: Path = SAMPLES) -> Any:
    return json.loads((samples / f"{stem}.json").read_text())


# The states the real WAHA was in while it was recorded (Core 2024.10.8: only 'default').


def default_never_started(sim: WahaSimulator) -> None:
    sim.add_session("default")


def default_starting(sim: WahaSimulator) -> None:
    sim.add_session("default", status="STARTING")


def default_stopped_after_running(sim: WahaSimulator) -> None:
    sim.add_session("default", status="STARTING")
    sim.set_status("default", "STOPPED")


def default_starting_with_webhook_config(sim: WahaSimulator) -> None:
    config = recorded("07a_start_deprecated_with_webhook_hmac")["request"]["body"]["config"]
    sim.add_session("default", status="STARTING", config=config)


@dataclass(frozen=True)
class State:
    """How to put the simulator where the real WAHA was."""

    prepare: Callable[[WahaSimulator], None]
    # None where the request went out without the key: this release never enforced one.
    api_key: str | None = RECORDED_KEY


REPLAYED: dict[str, State] = {
    "01a_list_sessions_all_before": State(default_never_started),
    "01b_list_sessions_before": State(default_never_started),
    "01c_get_default_before_start": State(default_never_started),
    "01d_sendText_before_start": State(default_never_started),
    "01g_list_sessions_all_while_starting": State(default_starting),
    "01i_start_newapi_already_started": State(default_starting),
    "01k_get_default_after_stop": State(default_stopped_after_running),
    "01l_list_sessions_all_after_stop": State(default_stopped_after_running),
    "01m_list_sessions_after_stop": State(default_stopped_after_running),
    "01n_sendText_after_stop": State(default_stopped_after_running),
    "02_sendText_not_working": State(default_starting),
    "03_sendImage_not_working": State(default_starting),
    "04a_get_unknown_session": State(default_starting),
    "04b_sendText_unknown_session": State(default_starting),
    "05a_list_sessions_no_key": State(default_starting, api_key=None),
    "05b_list_sessions_wrong_key": State(default_starting, api_key=None),
    "05c_sendText_no_key": State(default_starting, api_key=None),
    "06_check_exists_not_working": State(default_starting),
    "07b_get_default_with_config": State(default_starting_with_webhook_config),
    "07c_stop_newapi": State(default_starting_with_webhook_config),
    "08c_sendText_invalid_body": State(default_starting),
    "09a_version": State(default_starting),
    "09b_ping_no_key": State(default_starting),
    "09d_get_me_stopped": State(default_stopped_after_running),
    "09e_create_newapi_default_exists": State(default_stopped_after_running),
    "09f_start_newapi_unknown": State(default_stopped_after_running),
    "09g_list_sessions_bad_all": State(default_starting),
}

# Replayed with message ids off (`--no-message-ids`), as that release answered.
REPLAYED_WITHOUT_MESSAGE_IDS: dict[str, State] = {
    "10a_sendText_with_client_id_while_starting": State(default_starting),
    "10b_get_message_by_id_unsupported": State(default_starting),
    "10c_new_message_id_unsupported": State(default_starting),
}

# Samples that are not one request and its answer, checked by the tests named here.
TIMELINE_TEST = "test_a_started_session_reads_like_the_recorded_timeline"
WEBHOOK_TEST = "test_session_status_webhook_carries_the_recorded_envelope"
CHECKED_ELSEWHERE: dict[str, str] = {
    "01f_status_timeline": TIMELINE_TEST,
    "07d_webhook_session_status_hmac_config": WEBHOOK_TEST,
    "07x_webhook_global_session_status_step1": WEBHOOK_TEST,
    "webhooks_step1_global": WEBHOOK_TEST,
    "webhooks_step7_session_and_global": WEBHOOK_TEST,
}

NOT_SIMULATED: dict[str, str] = {
    "01e_start_deprecated": "deprecated POST /api/sessions/start; we use /api/sessions/{s}/start",
    "01h_start_deprecated_again_already_started": "deprecated POST /api/sessions/start",
    "01j_stop_deprecated": "deprecated POST /api/sessions/stop",
    "01o_stop_deprecated_again_idempotent": "deprecated POST /api/sessions/stop",
    "07a_start_deprecated_with_webhook_hmac": "deprecated POST /api/sessions/start (its config "
    "is replayed through 07b and 07c)",
    "08a_screenshot_while_starting": "screenshots are not simulated: no browser, no WhatsApp",
    "08b_auth_qr_while_starting": "QR pairing is not simulated: sessions reach WORKING by control",
    "09c_health": "GET /health was a Plus-only feature in this release; not simulated",
}


def sample_stems(samples: Path = SAMPLES) -> list[str]:
    suffixes = {".json", ".jsonl"}
    return sorted(path.stem for path in samples.iterdir() if path.suffix in suffixes)


def json_type(value: Any) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (type(None), "null"),
        (bool, "boolean"),
        ((int, float), "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ]
    return next(name for kind, name in kinds if isinstance(value, kind))


def assert_same_shape(actual: Any, expected: Any, where: str = "body") -> None:
    """Same JSON types and keys recursively; literal values under LITERAL_KEYS."""
    assert json_type(actual) == json_type(expected), f"{where}: {actual!r} vs {expected!r}"
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), f"{where}: keys differ"
        for key, value in expected.items():
            if key in LITERAL_KEYS:
                assert actual[key] == value, f"{where}.{key}"
            assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: length differs"
        for index, (mine, theirs) in enumerate(zip(actual, expected, strict=True)):
            assert_same_shape(mine, theirs, f"{where}[{index}]")


def assert_has_shape(actual: Any, expected: Any, where: str = "body") -> None:
    """Every recorded key is there with the same JSON type (the newer envelope adds keys)."""
    assert json_type(actual) == json_type(expected), f"{where}: {actual!r} vs {expected!r}"
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{where}: {key} missing"
            if key in WEBHOOK_LITERAL_KEYS:
                assert actual[key] == value, f"{where}.{key}"
            assert_has_shape(actual[key], value, f"{where}.{key}")


@needs_samples
def test_every_sample_is_replayed_or_excused() -> None:
    accounted = {*REPLAYED, *CHECKED_ELSEWHERE, *NOT_SIMULATED}
    stems = set(sample_stems())

    assert stems - accounted == set(), "new samples: replay them or say why not"
    assert accounted - stems == set(), "these samples are gone: drop them here"
    assert set(REPLAYED).isdisjoint(NOT_SIMULATED)


@needs_samples
def test_every_message_id_sample_is_replayed() -> None:
    assert set(sample_stems(ID_SAMPLES)) == set(REPLAYED_WITHOUT_MESSAGE_IDS)


async def replay(
    aiohttp_client: AiohttpClient,
    stem: str,
    *,
    state: State | None = None,
    samples: Path = SAMPLES,
    message_ids: bool = True,
) -> tuple[int, str, Any]:
    state = state or REPLAYED[stem]
    config = SimulatorConfig(
        api_key=state.api_key,
        sessions=(),
        not_working_wait=0,  # the real one waited 5 s: the answer is the same, only later
        starting_seconds=None,
        only_default_session=True,
        message_ids=message_ids,
    )
    app = make_simulator_app(config)
    state.prepare(app[SIMULATOR_KEY])
    client = await aiohttp_client(app)
    request = recorded(stem, samples)["request"]
    async with client.request(
        request["method"], request["path"], headers=request["headers"], json=request["body"]
    ) as answer:
        text = await answer.text()
        return answer.status, answer.headers.get("Content-Type", ""), json.loads(text or '""')


@needs_samples
@pytest.mark.parametrize("stem", sorted(REPLAYED))
async def test_simulator_answers_like_the_recorded_waha(
    aiohttp_client: AiohttpClient, stem: str
) -> None:
    real = recorded(stem)["response"]

    status, content_type, body = await replay(aiohttp_client, stem)

    assert status == real["status"]
    assert_same_shape(body, real["body"])
    assert content_type == real["headers"]["Content-Type"]


@needs_samples
@pytest.mark.parametrize("stem", sorted(REPLAYED_WITHOUT_MESSAGE_IDS))
async def test_without_message_ids_the_simulator_answers_like_the_recorded_waha(
    aiohttp_client: AiohttpClient, stem: str
) -> None:
    real = recorded(stem, ID_SAMPLES)["response"]

    status, content_type, body = await replay(
        aiohttp_client,
        stem,
        state=REPLAYED_WITHOUT_MESSAGE_IDS[stem],
        samples=ID_SAMPLES,
        message_ids=False,
    )

    assert status == real["status"]
    assert_same_shape(body, real["body"])
    assert content_type == real["headers"]["Content-Type"]


@needs_samples
async def test_a_started_session_reads_like_the_recorded_timeline(
    aiohttp_client: AiohttpClient,
) -> None:
    timeline = recorded("01f_status_timeline")
    app = make_simulator_app(SimulatorConfig(sessions=(), starting_seconds=None))
    app[SIMULATOR_KEY].add_session("default")
    client = await aiohttp_client(app)

    started = await client.post("/api/sessions/default/start")
    polled = await client.get("/api/sessions/default")

    assert started.status == 201
    assert_same_shape(await polled.json(), timeline["transitions"][0]["body"])
    assert {poll["status"] for poll in timeline["polls"]} == {"STARTING"}


class Receiver:
    """A webhook receiver that keeps what arrives."""

    def __init__(self) -> None:
        self.deliveries: asyncio.Queue[tuple[CIMultiDictProxy[str], bytes]] = asyncio.Queue()

    async def receive(self, request: web.Request) -> web.Response:
        self.deliveries.put_nowait((request.headers, await request.read()))
        return web.Response()


def recorded_deliveries(stem: str) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Yield (headers, body) of each webhook delivery a sample file holds."""
    path = SAMPLES / f"{stem}.json"
    if path.exists():
        pending: list[Any] = [json.loads(path.read_text())]
    else:
        lines = (SAMPLES / f"{stem}.jsonl").read_text().splitlines()
        pending = [json.loads(line) for line in lines if line.strip()]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict) and "headers" in item and "method" in item:
            body = item["body"] if "body" in item else json.loads(item["body_text"])
            yield item["headers"], body
        elif isinstance(item, dict):
            pending.extend(item.values())


def webhook_stems() -> list[str]:
    return sorted(stem for stem, test in CHECKED_ELSEWHERE.items() if test == WEBHOOK_TEST)


@needs_samples
@pytest.mark.parametrize("stem", webhook_stems())
async def test_session_status_webhook_carries_the_recorded_envelope(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, stem: str
) -> None:
    # WAHA re-sent the same STARTING event every 2 s: one of each kind is enough.
    kinds = {
        (body["payload"]["status"], json.dumps(body.get("metadata"))): (headers, body)
        for headers, body in recorded_deliveries(stem)
    }
    assert kinds, f"{stem} holds no webhook delivery"
    for headers, body in kinds.values():
        receiver = Receiver()
        receiving = web.Application()
        receiving.router.add_post("/hook", receiver.receive)
        server = await aiohttp_server(receiving)
        config = SimulatorConfig(sessions=(), webhook_url=str(server.make_url("/hook")))
        app = make_simulator_app(config)
        sim = app[SIMULATOR_KEY]
        metadata = body.get("metadata")
        sim.add_session("default", config=None if metadata is None else {"metadata": metadata})
        await aiohttp_client(app)

        sim.set_status("default", "STARTING")
        if body["payload"]["status"] != "STARTING":
            sim.set_status("default", body["payload"]["status"])
        await sim.settle()

        while True:
            mine_headers, raw = receiver.deliveries.get_nowait()
            mine = json.loads(raw)
            if mine["payload"]["status"] == body["payload"]["status"]:
                break
        assert_has_shape(mine, body)
        assert mine_headers["Content-Type"] == headers["Content-Type"]
        assert mine_headers["User-Agent"] == headers["User-Agent"]
