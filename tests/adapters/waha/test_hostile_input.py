"""Whatever bytes arrive as a webhook or a WAHA answer, only the wire's own errors come out."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.waha import wire
from app.ports import GatewayError, GatewayRejectedError

SAMPLES = Path(__file__).parents[2] / "samples" / "waha"
RECEIVED_AT = datetime(2026, 11, 28, 18, 10, 25, tzinfo=UTC)
CHAT = "11111111111@c.us"
SERIALIZED = f"true_{CHAT}_3EB0C0FFEE"
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INTEGER = "1" + "0" * 400
KNOWN_EVENTS = ("session.status", "message.ack", "message.any", "message")
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ack_webhook(ack: str, *, envelope: str = "") -> bytes:
    """A message.ack webhook whose `ack` (and envelope extras) are raw JSON text."""
    return (
        f'{{"event":"message.ack","session":"default"{envelope},"payload":'
        f'{{"id":"{SERIALIZED}","fromMe":true,"to":"{CHAT}","ack":{ack}}}}}'
    ).encode()


def status_webhook(**fields: Any) -> bytes:
    document: dict[str, Any] = {
        "event": "session.status",
        "session": "default",
        "payload": {"name": "default", "status": "WORKING"},
    }
    document.update(fields)
    return json.dumps(document).encode()


# Examples -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ack", ["NaN", "Infinity", "-Infinity", "2.5", '"3"', "true", "null", "[]", "{}"]
)
def test_an_ack_that_is_not_a_finite_integer_is_malformed(ack: str) -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(ack_webhook(ack), received_at=RECEIVED_AT)


@pytest.mark.parametrize("ack", ["7", "-2", HUGE_INTEGER, "1e300"])
def test_an_integer_ack_waha_does_not_define_is_ignored(ack: str) -> None:
    body = ack_webhook(ack, envelope=',"id":"evt_01"')

    assert wire.parse_webhook(body, received_at=RECEIVED_AT) == wire.IgnoredWebhook(
        "message.ack", "evt_01"
    )


def test_an_integral_float_ack_counts_as_its_integer() -> None:
    hook = wire.parse_webhook(ack_webhook("2.0"), received_at=RECEIVED_AT)

    assert isinstance(hook, wire.MessageAckWebhook)
    assert (hook.fact.ack, hook.fact.ack_name) == (2, "DEVICE")


@pytest.mark.parametrize(
    "timestamp", ["1e400", "-1e400", "NaN", "Infinity", HUGE_INTEGER, f"-{HUGE_INTEGER}"]
)
def test_an_envelope_timestamp_out_of_any_calendar_is_malformed(timestamp: str) -> None:
    body = ack_webhook("3", envelope=f',"timestamp":{timestamp}')

    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body, received_at=RECEIVED_AT)


@pytest.mark.parametrize("timestamp", ['"1795889471000"', "true", "[]", "{}"])
def test_an_envelope_timestamp_that_is_not_a_number_is_malformed(timestamp: str) -> None:
    body = ack_webhook("3", envelope=f',"timestamp":{timestamp}')

    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body, received_at=RECEIVED_AT)


def test_a_null_envelope_timestamp_reads_as_the_old_envelope_without_one() -> None:
    hook = wire.parse_webhook(
        ack_webhook("3", envelope=',"timestamp":null'), received_at=RECEIVED_AT
    )

    assert isinstance(hook, wire.MessageAckWebhook)
    assert hook.event_time is None


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"event":"message.ack","session":"default","payload":' + DEEP + b"}",
        b'{"event":"presence.update","payload":' + DEEP + b"}",
    ],
)
def test_a_body_nested_too_deeply_is_malformed(body: bytes) -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body, received_at=RECEIVED_AT)


@pytest.mark.parametrize("document", [[], 1, 1.5, "x", None, True, [{"event": "message.ack"}]])
def test_a_body_that_is_not_an_object_is_malformed(document: Any) -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(json.dumps(document).encode(), received_at=RECEIVED_AT)


@pytest.mark.parametrize("payload", [[], "WORKING", 1, None, True])
@pytest.mark.parametrize("event", KNOWN_EVENTS)
def test_a_known_event_whose_payload_is_not_an_object_is_malformed(
    event: str, payload: Any
) -> None:
    body = json.dumps({"event": event, "session": "default", "payload": payload}).encode()

    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body, received_at=RECEIVED_AT)


@pytest.mark.parametrize(
    "fields",
    [
        {"event": 42},
        {"event": None},
        {"event": ["session.status"]},
        {"session": 42},
        {"session": ""},
        {"session": {"name": "default"}},
        {"session": "default\u0000"},
        {"session": "\ud800"},
        {"payload": {"name": "default", "status": 42}},
        {"payload": {"name": "default", "status": ""}},
        {"payload": {"name": "default", "status": "WORK\nING"}},
        {"payload": {"name": "default", "status": "\udfff"}},
    ],
)
def test_a_wrongly_typed_or_unprintable_field_is_malformed(fields: dict[str, Any]) -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(status_webhook(**fields), received_at=RECEIVED_AT)


@pytest.mark.parametrize(
    "payload",
    [
        {"id": 42, "fromMe": True, "ack": 3},
        {"id": {"_serialized": 7}, "fromMe": True, "ack": 3},
        {"id": ["true", CHAT, "3EB0"], "fromMe": True, "ack": 3},
        {"id": "true__3EB0C0FFEE", "fromMe": True, "ack": 3},
        {"id": "true_1@c.us_3EB0\ud800", "fromMe": True, "ack": 3},
    ],
)
def test_an_ack_without_a_readable_message_or_chat_is_malformed(payload: dict[str, Any]) -> None:
    body = json.dumps({"event": "message.ack", "session": "default", "payload": payload})

    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body.encode(), received_at=RECEIVED_AT)


def test_wrongly_typed_optional_fields_are_read_as_absent() -> None:
    body = json.dumps(
        {
            "event": "message.any",
            "session": "default",
            "id": 17,
            "me": "nobody",
            "payload": {"id": SERIALIZED, "fromMe": "yes", "from": 42, "source": ["api"]},
        }
    ).encode()

    hook = wire.parse_webhook(body, received_at=RECEIVED_AT)

    assert hook == wire.MessageAnyWebhook(
        session="default",
        message_id="3EB0C0FFEE",
        chat_id=CHAT,
        from_me=False,
        source=None,
        observed_at=RECEIVED_AT,
        event_id=None,
        event_time=None,
    )


def test_an_unknown_events_payload_is_never_read() -> None:
    body = b'{"event":"presence.update","session":42,"payload":NaN,"timestamp":"soon"}'

    assert wire.parse_webhook(body, received_at=RECEIVED_AT) == wire.IgnoredWebhook(
        "presence.update", None
    )


# Fuzzing ------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()  # NaN and ±Infinity included: Python's json writes and reads them
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

# Values that broke a parser once, or that json reads though no sane WAHA would send them.
edge_values: st.SearchStrategy[Any] = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        10**400,
        -(10**400),
        1e300,
        2.5,
        -1,
        "",
        "\ud800",
        "\u0000",
        True,
        None,
        [],
        {},
    ]
)
SAMPLE_WEBHOOKS = tuple(
    json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    for name in (
        "webhook_new_session_status.json",
        "webhook_new_session_status_limits.json",
        "webhook_new_message_ack.json",
        "webhook_new_message_any.json",
        "webhook_new_message.json",
    )
)
REMOVED = object()


def key_paths(document: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Return the path of every member of every object in `document`."""
    if not isinstance(document, dict):
        return []
    found = []
    for key, value in document.items():
        found.append((*prefix, key))
        found.extend(key_paths(value, (*prefix, key)))
    return found


def mutated(document: dict[str, Any], changes: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """Return a copy of `document` with the value at each path replaced (or removed)."""
    changed: dict[str, Any] = copy.deepcopy(document)
    for path, value in changes.items():
        parent: Any = changed
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue  # an earlier change replaced an enclosing object
        if value is REMOVED:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(value)  # drawn values may be shared objects
    return changed


# Each draw is a valid webhook with up to three members changed, so the parser gets deep enough
# to meet every odd value; a fully random document rarely gets past the envelope.
mutated_webhooks = st.sampled_from(SAMPLE_WEBHOOKS).flatmap(
    lambda document: st.builds(
        mutated,
        st.just(document),
        st.dictionaries(
            st.sampled_from(key_paths(document)),
            edge_values | json_values | st.just(REMOVED),
            min_size=1,
            max_size=3,
        ),
    )
)


def _parses_or_refuses(body: bytes) -> None:
    try:
        hook = wire.parse_webhook(body, received_at=RECEIVED_AT)
    except wire.MalformedWebhookError:
        return
    assert isinstance(
        hook,
        wire.SessionStatusWebhook
        | wire.MessageAckWebhook
        | wire.MessageAnyWebhook
        | wire.MessageWebhook
        | wire.IgnoredWebhook,
    )
    if isinstance(hook, wire.MessageAckWebhook):
        assert hook.fact.ack in wire.ACK_NAMES
    if isinstance(hook, wire.MessageWebhook):
        hook.fact.body.encode("utf-8")  # storable: no lone surrogate got through


@FUZZ
@given(st.binary())
def test_any_bytes_parse_or_raise_only_the_malformed_webhook_error(body: bytes) -> None:
    _parses_or_refuses(body)


@FUZZ
@given(json_values)
def test_any_json_value_parses_or_raises_only_the_malformed_webhook_error(document: Any) -> None:
    _parses_or_refuses(json.dumps(document).encode())


@FUZZ
@given(mutated_webhooks)
def test_any_change_to_a_valid_webhook_parses_or_raises_only_the_malformed_webhook_error(
    document: dict[str, Any],
) -> None:
    _parses_or_refuses(json.dumps(document).encode())


# Replies ------------------------------------------------------------------------------------

answers = st.binary() | json_values.map(lambda value: json.dumps(value).encode())


@FUZZ
@given(answers, st.sampled_from([200, 201, 302, 400, 401, 404, 413, 422, 429, 500, 502]))
def test_any_answer_is_read_or_refused_with_a_gateway_error_only(body: bytes, status: int) -> None:
    for request in (
        wire.send_text_request("default", CHAT, "hi"),
        wire.find_message_request("default", "3EB0C0FFEE"),
        wire.new_message_id_request("default"),
    ):
        error = wire.error_for_reply(request, status, body)
        assert error is None or isinstance(error, GatewayError)
    assert wire.parse_send_receipt(CHAT, body).chat_id == CHAT
    assert isinstance(wire.is_message_not_found(status, body), bool)
    for read in (
        lambda: wire.parse_session_status("default", body, observed_at=RECEIVED_AT),
        lambda: wire.parse_check_exists(body),
        lambda: wire.parse_own_messages(CHAT, body, since=RECEIVED_AT),
        lambda: wire.parse_found_message(body),
        lambda: wire.parse_new_message_id(body),
    ):
        with contextlib.suppress(GatewayError):
            read()


def test_a_send_answer_nested_too_deeply_is_a_receipt_without_an_id() -> None:
    assert wire.parse_send_receipt(CHAT, DEEP).message_id is None


def test_an_error_answer_nested_too_deeply_is_still_classified() -> None:
    error = wire.error_for_reply(wire.send_text_request("default", CHAT, "hi"), 400, DEEP)

    assert isinstance(error, GatewayRejectedError)
    assert error.status == 400
