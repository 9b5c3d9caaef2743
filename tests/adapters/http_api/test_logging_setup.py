"""Structured logging: JSON lines with the campaign and contact, text otherwise, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from adapters.logging_setup import (
    CAMPAIGN_ID,
    CampaignContextFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    secrets_of,
)
from tests.adapters.http_api.conftest import HMAC_KEY, SECRETS, TOKEN, WAHA_KEY, make_settings

CAMPAIGN = UUID("6f1c2b8e-3a4d-4e5f-8a9b-0c1d2e3f4a5b")


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("waha_campaigns.runner", logging.INFO, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    CampaignContextFilter().filter(made)
    return made


def as_json(made: logging.LogRecord, secrets: tuple[str, ...] = ()) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(JsonFormatter(secrets).format(made))
    return loaded


def test_a_json_line_names_the_campaign_and_contact_of_the_runner_prefix() -> None:
    line = as_json(record("[campaign %s | contact %d/%d] sent", CAMPAIGN, 3, 10))

    assert line["campaign_id"] == str(CAMPAIGN)
    assert line["contact_index"] == 2
    assert line["message"] == f"[campaign {CAMPAIGN} | contact 3/10] sent"
    assert line["level"] == "INFO"
    assert line["logger"] == "waha_campaigns.runner"


def test_explicit_fields_win() -> None:
    line = as_json(record("paused", campaign_id="abc", contact_index=4))

    assert (line["campaign_id"], line["contact_index"]) == ("abc", 4)


def test_a_uuid_argument_is_taken_as_the_campaign() -> None:
    line = as_json(record("campaign %s completed", CAMPAIGN))

    assert line["campaign_id"] == str(CAMPAIGN)
    assert line["contact_index"] is None


def test_the_request_context_names_the_campaign() -> None:
    token = CAMPAIGN_ID.set(str(CAMPAIGN))
    try:
        line = as_json(record("something happened"))
    finally:
        CAMPAIGN_ID.reset(token)

    assert line["campaign_id"] == str(CAMPAIGN)


def test_fields_are_null_when_unknown() -> None:
    line = as_json(record("started"))

    assert (line["campaign_id"], line["contact_index"]) == (None, None)


def test_secrets_are_masked_in_both_formats() -> None:
    made = record("key %s token %s", WAHA_KEY, TOKEN)

    assert WAHA_KEY not in json.dumps(as_json(made, SECRETS))
    text = TextFormatter(SECRETS).format(made)
    assert WAHA_KEY not in text
    assert TOKEN not in text
    assert "key *** token ***" in text


def test_the_text_format_shows_the_campaign_and_contact() -> None:
    text = TextFormatter().format(record("[campaign %s | contact %d/%d] sent", CAMPAIGN, 1, 2))

    assert f"[campaign {CAMPAIGN} contact 1 of 2 (index 0)]" in text


def test_the_lanes_prefix_names_the_contact_from_1_and_its_index() -> None:
    made = record("[campaign %s | contact %d of %d (index %d)] sent", CAMPAIGN, 4, 15, 3)

    line = as_json(made)
    text = TextFormatter().format(made)

    assert (line["campaign_id"], line["contact_index"]) == (str(CAMPAIGN), 3)
    assert f"[campaign {CAMPAIGN} contact 4 of 15 (index 3)]:" in text


def test_the_settings_secrets_include_the_database_password(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, campaigns_database_url="postgresql://app:pg-pass-91@db.internal/campaigns"
    )

    assert set(secrets_of(settings)) == {TOKEN, WAHA_KEY, HMAC_KEY, "pg-pass-91"}


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_configured_json_logging_writes_one_object_a_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(tmp_path, campaigns_log_format="json"), stream=stream)

    logging.getLogger("waha_campaigns.test").info("hello %s with %s", CAMPAIGN, HMAC_KEY)
    logging.getLogger("waha_campaigns.test").warning("second")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["campaign_id"] == str(CAMPAIGN)
    assert HMAC_KEY not in lines[0]
    assert json.loads(lines[1])["level"] == "WARNING"


@pytest.mark.parametrize(
    "secret", ['quote"and\\backslash-91', "pässwörd-ünïcode-91", "tab\there-and-newline\n-91"]
)
def test_a_json_line_masks_secrets_that_json_would_escape(secret: str) -> None:
    made = record("connecting with %s failed", secret)

    line = JsonFormatter([secret]).format(made)

    assert secret not in json.loads(line)["message"]
    assert json.loads(line)["message"] == "connecting with *** failed"


def reject(secret: str) -> None:
    raise ValueError(f"rejected {secret}")


def test_a_json_line_masks_secrets_in_the_exception_too() -> None:
    secret = 'key"with-quote-91'
    try:
        reject(secret)
    except ValueError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    exception = json.loads(JsonFormatter([secret]).format(made))["exception"]

    assert secret not in exception
    assert "rejected ***" in exception


def test_the_percent_decoded_database_password_is_a_secret_too(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, campaigns_database_url="postgresql://app:p%40ss%2Fword-91@db.internal/c"
    )

    assert {"p%40ss%2Fword-91", "p@ss/word-91"} <= set(secrets_of(settings))
    text = TextFormatter(secrets_of(settings)).format(record("auth failed for p@ss/word-91"))
    assert "p@ss/word-91" not in text


def test_a_short_secret_is_masked_only_as_a_whole_token() -> None:
    formatter = TextFormatter(["t"])

    text = formatter.format(record("the token is t, or 't' (not this_t)"))

    assert "the token is ***, or '***' (not this_t)" in text


def test_a_short_secret_in_a_json_line_leaves_words_alone() -> None:
    line = json.loads(JsonFormatter(["ab1"]).format(record("ab1 is not in abc or tab1")))

    assert line["message"] == "*** is not in abc or tab1"
    assert line["level"] == "INFO"
