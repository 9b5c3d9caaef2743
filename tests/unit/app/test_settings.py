"""Settings from the environment: defaults, one clear error per bad value, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings

SECRET = "s3cr3t-Value-42"


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = load_settings({})

    assert settings.campaigns_database_url == DEFAULT_DATABASE_URL
    assert settings.waha_url == "http://127.0.0.1:3000"
    assert settings.waha_api_key is None
    assert (settings.waha_timeout_seconds, settings.waha_connect_timeout_seconds) == (30.0, 5.0)
    assert (settings.campaigns_host, settings.campaigns_port) == ("127.0.0.1", 8080)
    assert settings.campaigns_media_dir == Path("./var/media")
    assert settings.campaigns_default_region is None
    assert settings.campaigns_snapshot_interval == 100
    assert settings.campaigns_log_format == "text"


def test_values_come_from_the_environment_variables() -> None:
    settings = load_settings(
        {
            "CAMPAIGNS_DATABASE_URL": "postgresql://campaigns@db:5432/campaigns",
            "WAHA_URL": "https://waha.example/",
            "CAMPAIGNS_PORT": "9090",
            "CAMPAIGNS_DEFAULT_REGION": "de",
            "CAMPAIGNS_SNAPSHOT_INTERVAL": "500",
            "UNRELATED": "ignored",
        }
    )

    assert settings.campaigns_database_url == "postgresql://campaigns@db:5432/campaigns"
    assert settings.waha_url == "https://waha.example"
    assert settings.campaigns_port == 9090
    assert settings.campaigns_default_region == "DE"
    assert settings.campaigns_snapshot_interval == 500


def test_overrides_win_over_the_environment() -> None:
    settings = load_settings({"CAMPAIGNS_PORT": "9090"}, campaigns_port=7070)

    assert settings.campaigns_port == 7070


def test_without_a_mapping_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGNS_PORT", "9191")

    assert load_settings().campaigns_port == 9191


@pytest.mark.parametrize("name", ["WAHA_API_KEY", "CAMPAIGNS_API_TOKEN", "WAHA_WEBHOOK_HMAC_KEY"])
def test_an_empty_secret_counts_as_unset(name: str) -> None:
    settings = load_settings({name: ""})

    assert getattr(settings, name.lower()) is None


def test_an_empty_region_counts_as_unset() -> None:
    assert load_settings({"CAMPAIGNS_DEFAULT_REGION": ""}).campaigns_default_region is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WAHA_URL", "ftp://waha"),
        ("WAHA_URL", "waha:3000"),
        ("WAHA_TIMEOUT_SECONDS", "5"),
        ("WAHA_TIMEOUT_SECONDS", "soon"),
        ("WAHA_CONNECT_TIMEOUT_SECONDS", "0"),
        ("CAMPAIGNS_PORT", "http"),
        ("CAMPAIGNS_PORT", "65536"),
        ("CAMPAIGNS_PORT", "-1"),
        ("CAMPAIGNS_DEFAULT_REGION", "XX"),
        ("CAMPAIGNS_DEFAULT_REGION", "Germany"),
        ("CAMPAIGNS_DATABASE_URL", "mysql://campaigns@db/campaigns"),
        ("CAMPAIGNS_SNAPSHOT_INTERVAL", "1"),
        ("CAMPAIGNS_MAX_UPLOAD_BYTES", "100"),
        ("CAMPAIGNS_LOG_FORMAT", "xml"),
    ],
)
def test_an_invalid_setting_raises_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})

    assert str(raised.value).startswith(f"invalid setting {name}:")


@pytest.mark.parametrize("secret", ["WAHA_API_KEY", "CAMPAIGNS_API_TOKEN", "WAHA_WEBHOOK_HMAC_KEY"])
def test_a_secret_never_appears_in_an_error(secret: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({secret: SECRET, "CAMPAIGNS_PORT": "not-a-port"})

    assert SECRET not in str(raised.value)
    assert SECRET not in repr(raised.value)


@pytest.mark.parametrize("secret", ["WAHA_API_KEY", "CAMPAIGNS_API_TOKEN", "WAHA_WEBHOOK_HMAC_KEY"])
def test_a_secret_never_appears_in_the_settings_repr_but_stays_usable(secret: str) -> None:
    settings = load_settings({secret: SECRET})

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    value = getattr(settings, secret.lower())
    assert value is not None
    assert value.get_secret_value() == SECRET


def test_a_database_password_never_appears_in_an_error() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"CAMPAIGNS_DATABASE_URL": f"mysql://campaigns:{SECRET}@db/campaigns"})

    assert SECRET not in str(raised.value)


def test_a_database_password_never_appears_in_the_settings_repr() -> None:
    settings = load_settings(
        {"CAMPAIGNS_DATABASE_URL": f"postgresql://campaigns:{SECRET}@db:5432/campaigns"}
    )

    assert SECRET not in repr(settings)
