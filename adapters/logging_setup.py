"""Process logging: one JSON object a line (CAMPAIGNS_LOG_FORMAT=json) or text; secrets masked."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final, TextIO
from urllib.parse import unquote, urlsplit
from uuid import UUID

from pydantic import SecretStr

from app.settings import Settings
from domain.numbering import contact_words

# The campaign a piece of work is about; tasks copy it, so a run started by a request keeps it.
CAMPAIGN_ID: ContextVar[str | None] = ContextVar("campaign_id", default=None)
MASK: Final = "***"
# The lanes' prefix, "[campaign <id> | contact <n> of <total> (index <i>)]", counts contacts
# from 1 for people and names the 0-based index; older lines said "contact <n>/<total>".
_RUNNER_PREFIX: Final = re.compile(
    r"\[campaign (?P<id>[0-9a-f-]{36}) \| contact (?P<n>\d+)(?:/| of )(?P<total>\d+)"
)
_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
# Shorter secrets are masked only as whole tokens: as substrings they would mask plain words.
MIN_SUBSTRING_SECRET: Final = 8


class CampaignContextFilter(logging.Filter):
    """Give each record `campaign_id` and `contact_index` where they are known, else None.

    In order: `extra={"campaign_id": ..., "contact_index": ...}`, the context of the request
    or run, then the first UUID argument and the lanes' "[campaign … | contact n of …]" prefix.
    `contact_total` (the campaign's number of contacts) is set too where the prefix says it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the record's campaign_id and contact_index; never drop it."""
        campaign_id = getattr(record, "campaign_id", None) or CAMPAIGN_ID.get()
        contact_index = getattr(record, "contact_index", None)
        contact_total = getattr(record, "contact_total", None)
        args = record.args if isinstance(record.args, tuple) else ()
        if campaign_id is None:
            campaign_id = next((str(a) for a in args if isinstance(a, UUID)), None)
        if contact_index is None and isinstance(record.msg, str) and "[campaign" in record.msg:
            found = _RUNNER_PREFIX.search(record.getMessage())
            if found is not None:
                campaign_id = campaign_id or found["id"]
                contact_index = int(found["n"]) - 1
                contact_total = contact_total or int(found["total"])
        record.campaign_id = None if campaign_id is None else str(campaign_id)
        record.contact_index = contact_index
        record.contact_total = contact_total
        return True


class SecretMask:
    """Replaces secrets in text: long ones wherever they occur, short ones only as whole tokens.

    A secret under MIN_SUBSTRING_SECRET characters would also match inside ordinary words
    (a one-letter token would turn every "t" into the mask), so it is masked only where it
    stands alone: not next to a letter, digit or "_".
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        patterns = [
            re.escape(s) if len(s) >= MIN_SUBSTRING_SECRET else rf"(?<!\w){re.escape(s)}(?!\w)"
            for s in ordered
        ]
        self._pattern = re.compile("|".join(patterns)) if patterns else None

    def __call__(self, text: str) -> str:
        """Return `text` with every secret replaced by the mask."""
        return text if self._pattern is None else self._pattern.sub(MASK, text)


class _Masking(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.mask = SecretMask(secrets)


class TextFormatter(_Masking):
    """Human-readable lines, with the campaign and contact when known; secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(secrets, _TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one masked line (plus its traceback, if any)."""
        campaign_id = getattr(record, "campaign_id", None)
        contact_index = getattr(record, "contact_index", None)
        contact_total = getattr(record, "contact_total", None)
        context = f" [campaign {campaign_id}" if campaign_id else ""
        if context and isinstance(contact_index, int):
            # People count from 1 (with the total when known); the index is the data's.
            total = contact_total if isinstance(contact_total, int) else None
            context += f" {contact_words(contact_index, total)}"
        record.context = context + "]" if context else ""
        return self.mask(super().format(record))


class JsonFormatter(_Masking):
    """One JSON object a line: time, level, logger, message, campaign_id, contact_index, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one masked JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "campaign_id": getattr(record, "campaign_id", None),
            "contact_index": getattr(record, "contact_index", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Masked before encoding: JSON escapes quotes, backslashes and non-ASCII, after which
        # a secret containing them would no longer be found in the line.
        return json.dumps({key: self._masked(value) for key, value in entry.items()})

    def _masked(self, value: object) -> object:
        if value is None or isinstance(value, int | float):
            return value
        return self.mask(str(value))


@contextlib.contextmanager
def campaign_context(campaign_id: UUID) -> Iterator[None]:
    """Tag log records within (and tasks started within, which copy it) with the campaign."""
    token = CAMPAIGN_ID.set(str(campaign_id))
    try:
        yield
    finally:
        CAMPAIGN_ID.reset(token)


def secrets_of(settings: Settings) -> list[str]:
    """Return every secret value in the settings, URL passwords included (both forms)."""
    values = [
        secret.get_secret_value()
        for secret in (
            settings.waha_api_key,
            settings.campaigns_api_token,
            settings.waha_webhook_hmac_key,
            settings.campaigns_notify_hmac_key,
        )
        if isinstance(secret, SecretStr)
    ]
    for url in (settings.campaigns_database_url, settings.campaigns_notify_url or ""):
        values.extend(_url_passwords(url))
    return values


def _url_passwords(url: str) -> list[str]:
    password = urlsplit(url).password
    if not password:
        return []
    # As written in the URL and as the driver uses it (and may echo it in an error).
    return list({password, unquote(password)})


def configure_logging(
    settings: Settings, *, stream: TextIO | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send every log record to `stream` (stderr) in the configured format; return the handler.

    Replaces the handlers on the root logger, so calling it twice does not log twice.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    secrets = secrets_of(settings)
    formatter = (
        JsonFormatter(secrets)
        if settings.campaigns_log_format == "json"
        else TextFormatter(secrets)
    )
    handler.setFormatter(formatter)
    handler.addFilter(CampaignContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
