"""The API token `serve` makes when CAMPAIGNS_API_TOKEN is unset: made once, kept by the store.

The file is readable by its owner only (0600). `serve` reuses it at every start, and the CLI
reads it when given no token, run from the same folder with the same CAMPAIGNS_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

# Where the token of a store that is no file (PostgreSQL, memory://) is kept.
TOKEN_FOLDER: Final = Path("var")
SUFFIX: Final = ".api-token"
_OWNER_ONLY: Final = 0o600
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")


class TokenFileError(Exception):
    """The token file cannot be read or written; the message names it, never the token."""


def token_file(url: str) -> Path:
    """Return where the generated token of the store at `url` is kept.

    sqlite:///path -> path + ".api-token", beside the database; postgresql://host:port/db ->
    var/postgresql-host-port-db.api-token; memory:// -> var/memory.api-token (relative to
    the folder the service is started in).
    """
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        return database.with_name(database.name + SUFFIX)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        try:
            port = parts.port or 5432
        except ValueError:
            port = 5432
        dbname = unquote(parts.path.lstrip("/"))
        name = _UNSAFE.sub("_", f"postgresql-{parts.hostname or ''}-{port}-{dbname}")
        return TOKEN_FOLDER / (name + SUFFIX)
    return TOKEN_FOLDER / ("memory" + SUFFIX)


def read_token(path: Path) -> str | None:
    """Return the token kept at `path`, or None when there is no usable one."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def kept_token(url: str) -> tuple[str, Path, bool]:
    """Return the token kept for the store at `url`, its file, and whether it was made now.

    A missing token is generated and written with mode 0600, exclusively: of two services
    starting at once on one store, both end up with the same token.
    """
    path = token_file(url)
    token = read_token(path)
    if token is not None:
        _owner_only(path)
        return token, path, False
    if path.parent == TOKEN_FOLDER:
        _make_folder(path.parent)
    token = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _OWNER_ONLY)
    except FileExistsError:  # another service wrote it first (or it is empty): read it again
        again = read_token(path)
        if again is None:
            raise TokenFileError(f"the API token file {path} is empty or unreadable") from None
        return again, path, False
    except OSError as error:
        raise TokenFileError(f"cannot write the API token file {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token, path, True


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror
        raise TokenFileError(f"cannot create {folder} for the API token: {reason}") from None


def _owner_only(path: Path) -> None:
    # A token file others can read is no secret: narrow it, as it was made.
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(_OWNER_ONLY)
