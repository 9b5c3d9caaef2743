"""Maps CAMPAIGNS_DATABASE_URL onto the eventsourcing library's own persistence settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from psycopg.conninfo import make_conninfo

from app.settings import DEFAULT_DATABASE_URL, redact_url

# A small LRU of aggregates: the runner reloads its campaign before every command, and with
# fast-forwarding on, a cached load reads only the events recorded since (by any process).
AGGREGATE_CACHE_SIZE = "256"


# The default store's folder (./var) is made when missing; any other must exist, so that a
# typo in a path is refused instead of starting an empty store.
DEFAULT_FOLDER: Final = Path(DEFAULT_DATABASE_URL.removeprefix("sqlite:///")).parent
_MISSING_DATABASE: Final = re.compile(r'database "[^"]*" does not exist')


class DatabaseUrlError(ValueError):
    """A database URL this service cannot use; the message never includes a password."""


class StoreUnavailableError(Exception):
    """The store's database does not exist or cannot be reached; the message says what to do."""


def persistence_environment(url: str, *, create_dirs: bool = True) -> dict[str, str]:
    """Return the library's environment for `url`: sqlite:///path, postgresql://…, memory://.

    A SQLite file's folder must exist, but for the default one (./var), made if `create_dirs`;
    without `create_dirs`, the file itself must exist.
    """
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
    if not create_dirs:
        if not path.exists():
            raise DatabaseUrlError(f"the SQLite database {path} does not exist")
    elif path.parent == DEFAULT_FOLDER:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise DatabaseUrlError(
            f"the folder {path.parent} of the SQLite database does not exist: "
            "create it, or correct the path"
        )
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


def check_postgres(env: dict[str, str]) -> None:
    """Connect once to the PostgreSQL of `env`; raise StoreUnavailableError naming the problem.

    The library's pool would retry for its whole connect timeout, then say only that it
    could not get a connection: a database that does not exist is named at once, with the
    command that creates it.
    """
    dbname, host, port = env["POSTGRES_DBNAME"], env["POSTGRES_HOST"], env["POSTGRES_PORT"]
    user = env["POSTGRES_USER"]
    try:
        psycopg.connect(
            dbname=dbname,
            host=host,
            port=port,
            user=user,
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(float(env.get("POSTGRES_CONNECT_TIMEOUT", "5"))),
        ).close()
    except psycopg.OperationalError as error:
        if _MISSING_DATABASE.search(str(error)):
            raise StoreUnavailableError(
                f'the PostgreSQL database "{dbname}" does not exist on {host}:{port}: create it '
                f"with `createdb -h {host} -p {port} -U {user} {dbname}` "
                f'(or CREATE DATABASE "{dbname}"; in psql)'
            ) from None
        said = " ".join(str(error).split()) or type(error).__name__
        where = f"{host}:{port}"
        raise StoreUnavailableError(f"cannot connect to PostgreSQL at {where}: {said}") from None


def check_store(url: str) -> None:
    """Refuse a store that cannot work, in one line: a bad URL or folder, a missing database.

    Makes the default SQLite folder (./var) when missing. Raises DatabaseUrlError for the URL,
    StoreUnavailableError for the database.
    """
    env = persistence_environment(url)
    if "POSTGRES_DBNAME" in env:
        check_postgres(env)
