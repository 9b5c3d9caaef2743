"""Settings parsed once from the environment; secrets stay SecretStr everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.opt_out import DEFAULT_OPT_OUT_KEYWORDS

DEFAULT_DATABASE_URL = "sqlite:///./var/campaigns.sqlite3"


# scheme://user:password@host… — everything between the first ':' after the user and the
# last '@' is the password, even when it holds characters that should have been escaped.
_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/@]*:)(?P<password>.*)@(?P<tail>[^@]*)$")


def redact_url(url: str) -> str:
    """Return `url` with any password replaced by ***, however it was written."""
    match = _PASSWORD.match(url)
    if match is None:
        return url
    return f"{match['head']}***@{match['tail']}"


class SettingsError(Exception):
    """A setting that stops the service from starting; the message names it."""


class Settings(BaseSettings):
    """Every setting of the service; names are the environment variables, lower-cased."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    campaigns_database_url: str = DEFAULT_DATABASE_URL
    waha_url: str = "http://127.0.0.1:3000"
    waha_api_key: SecretStr | None = None
    waha_timeout_seconds: float = Field(default=30.0, gt=5.0)
    waha_connect_timeout_seconds: float = Field(default=5.0, gt=0.0)
    campaigns_api_token: SecretStr | None = None
    waha_webhook_hmac_key: SecretStr | None = None
    campaigns_host: str = "127.0.0.1"
    campaigns_port: int = Field(default=8080, ge=0, le=65535)
    campaigns_media_dir: Path = Path("./var/media")
    campaigns_default_region: str | None = None
    campaigns_snapshot_interval: int = Field(default=100, ge=2)
    campaigns_max_upload_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Per kind of media (POST /media): WhatsApp's own limits for images, videos and audio;
    # documents up to what WAHA's 50 MB JSON body holds in base64. Uploads stay within
    # CAMPAIGNS_MAX_UPLOAD_BYTES whatever these say.
    campaigns_max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    campaigns_max_document_bytes: int = Field(default=30 * 1024 * 1024, ge=1)
    campaigns_max_video_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    campaigns_max_voice_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    # Notifications of pauses, completions and cancellations: a signed JSON POST here.
    campaigns_notify_url: str | None = None
    campaigns_notify_hmac_key: SecretStr | None = None
    campaigns_log_format: Literal["text", "json"] = "text"
    # Kept so existing configurations still start: since send lanes, ownership is held by a
    # lease (below), not guessed from a quiet log, so this no longer has any effect.
    campaigns_takeover_after_seconds: float = Field(default=30.0, ge=1.0)
    # On PostgreSQL, how long a lane's lease lasts without renewal: a process that died or
    # stalled loses its lanes after this (renewed every third of it while alive).
    campaigns_lease_seconds: float = Field(default=6.0, ge=2.0, le=300.0)
    # Replies whose whole text (trimmed, any case) is one of these put the sender on the
    # opt-out list: comma-separated.
    campaigns_opt_out_keywords: str = ",".join(DEFAULT_OPT_OUT_KEYWORDS)

    @property
    def opt_out_keywords(self) -> tuple[str, ...]:
        """The opt-out keywords, as given (compared trimmed and case-folded)."""
        return tuple(k.strip() for k in self.campaigns_opt_out_keywords.split(",") if k.strip())

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A database URL may carry a password: never show it in a repr or a log line.
        for name, value in super().__repr_args__():
            if name == "campaigns_database_url" and isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value

    @field_validator("campaigns_opt_out_keywords")
    @classmethod
    def _some_keyword(cls, value: str) -> str:
        words = [k.strip() for k in value.split(",") if k.strip()]
        if any(len(k) > 64 for k in words):  # noqa: PLR2004 - a word, not a sentence
            raise ValueError("each keyword is at most 64 characters")
        return value

    @field_validator("waha_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("campaigns_notify_url")
    @classmethod
    def _notify_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("campaigns_database_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
            raise ValueError("must start with sqlite:///, postgresql:// or memory://")
        return value

    @field_validator("campaigns_default_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region code such as DE or BR")
        return region

    @field_validator(
        "waha_api_key", "campaigns_api_token", "waha_webhook_hmac_key", "campaigns_notify_hmac_key"
    )
    @classmethod
    def _empty_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or value.get_secret_value() == "" else value


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Return the settings from `environ` (default: the process environment) and overrides.

    Raises SettingsError with one line naming the first bad setting; never echoes its value,
    which may be a secret.
    """
    try:
        if environ is None:
            return Settings(**overrides)  # type: ignore[arg-type]
        values = {k.lower(): v for k, v in environ.items() if k.lower() in Settings.model_fields}
        return Settings.model_validate({**values, **overrides})
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
