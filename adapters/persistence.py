"""Maps CAMPAIGNS_DATABASE_URL onto the eventsourcing library's own persistence settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from psycopg.conninfo import make_conninfo

from app.settings import redact_url

# A small LRU of aggregates: the runner reloads its campaign before every command, and with
# fast-forwarding on, a cached load reads only the events recorded since (by any process).
AGGREGATE_CACHE_SIZE = "256"


class DatabaseUrlError(ValueError):
    """A database URL this service cannot use; the message never includes a password."""


def persistence_environment(url: str, *, create_dirs: bool = True) -> dict[str, str]:
    """Return the library's environment for `url`: sqlite:///path, postgresql://…, memory://."""
    base = {"AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE}
    if url.startswith("memory://"):
        return {**base, "PERSISTENCE_MODULE": "eventsourcing.popo"}
    if url.startswith("sqlite:///"):
        return {**base, **_sqlite(url.removeprefix("sqlite:///"), create_dirs=create_dirs)}
    if url.startswith(("postgresql://", "postgres://")):
        return {**base, **_postgres(url)}
    raise DatabaseUrlError("CAMPAIGNS_DATABASE_URL must start with sqlite:///, postgresql://")


def _sqlite(path_text: str, *, create_dirs: bool) -> dict[str, str]:
    if not path_text:
        raise DatabaseUrlError("CAMPAIGNS_DATABASE_URL names no SQLite file")
    path = Path(path_text)
    if create_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise DatabaseUrlError(f"the SQLite database {path} does not exist")
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def _postgres(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    try:
        port = parts.port or 5432
    except ValueError:
        # urllib's message would quote the port text, which may be part of a password.
        raise DatabaseUrlError(
            "CAMPAIGNS_DATABASE_URL has an invalid port (escape / @ : in a password as %2F %40 %3A)"
        ) from None
    if not parts.hostname or not dbname:
        raise DatabaseUrlError(
            "CAMPAIGNS_DATABASE_URL must name a host and a database: postgresql://user@host/db"
        )
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }
    schema = parse_qs(parts.query).get("schema")
    if schema:
        env["POSTGRES_SCHEMA"] = schema[0]
    return env


def redacted(url: str) -> str:
    """Return `url` with any password replaced, for logs and error messages."""
    return redact_url(url)


def postgres_conninfo(url: str) -> str:
    """Return libpq connection text for a postgresql:// URL; ?schema= becomes the search_path."""
    env = _postgres(url)
    options = {}
    if "POSTGRES_SCHEMA" in env:
        options["options"] = f"-c search_path={env['POSTGRES_SCHEMA']}"
    return make_conninfo(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        **options,
    )
