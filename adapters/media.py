"""Media for campaigns, stored under the media folder by the hash of their bytes.

Images, documents, videos and voice notes: each file's kind comes from its bytes
(adapters/media_kinds.py), and each kind has its own size limit (CAMPAIGNS_MAX_*_BYTES).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote

from adapters.media_kinds import (
    SUPPORTED,
    MediaType,
    NotAnImageError,
    UnsupportedMediaError,
    sniff,
)
from app.ports import MediaKind, MediaPayload

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED",
    "FileMediaStore",
    "MediaTooLargeError",
    "NotAnImageError",
    "StoredMedia",
    "UnsupportedMediaError",
    "sniff_image",
]

_MEDIA_ID = re.compile(r"[0-9a-f]{64}")
# Uploads in progress: a name no media id glob ("<sha256>.*") can match.
_TEMP_PREFIX = ".upload-"
_TEMP_SUFFIX = ".tmp"
# Beside a file, the name it was uploaded with (what a document is called in the chat).
_NAME_SUFFIX: Final = ".filename"
_SKIPPED_SUFFIXES: Final = frozenset({".partial", _NAME_SUFFIX})
_MAX_NAME: Final = 120
_MIB: Final = 1024 * 1024
# WhatsApp's own limits (images 5 MB, videos and audio 16 MB); documents up to what WAHA's
# 50 MB JSON body holds once encoded in base64. CAMPAIGNS_MAX_UPLOAD_BYTES caps every upload.
DEFAULT_LIMITS: Final = MappingProxyType(
    {
        MediaKind.IMAGE: 5 * _MIB,
        MediaKind.DOCUMENT: 30 * _MIB,
        MediaKind.VIDEO: 16 * _MIB,
        MediaKind.VOICE: 16 * _MIB,
    }
)
LIMIT_SETTINGS: Final = MappingProxyType(
    {kind: f"CAMPAIGNS_MAX_{kind.value.upper()}_BYTES" for kind in MediaKind}
)


class MediaTooLargeError(ValueError):
    """A file over its kind's size limit."""

    def __init__(self, kind: MediaKind, size: int, limit: int) -> None:
        super().__init__(
            f"the {kind.value} is {size} bytes, over the {limit} bytes allowed for a "
            f"{kind.value} ({LIMIT_SETTINGS[kind]})"
        )
        self.kind = kind
        self.limit = limit


@dataclass(frozen=True)
class StoredMedia:
    """A media file in the store: its id is its sha256; `kind` says how it is sent.

    `filename` is the name a document was uploaded with (None for other kinds).
    """

    id: str
    sha256: str
    mimetype: str
    size: int
    kind: str = MediaKind.IMAGE.value
    filename: str | None = None


def sniff_image(data: bytes) -> tuple[str, str]:
    """Return (mimetype, extension) of an image, or raise NotAnImageError (for any other kind)."""
    try:
        found = sniff(data)
    except UnsupportedMediaError:
        found = None
    if found is None or found.kind is not MediaKind.IMAGE:
        raise NotAnImageError("the file is not a PNG, JPEG, GIF or WebP image")
    return found.mimetype, found.extension


def clean_filename(given: str | None, extension: str) -> str | None:
    """Return an uploaded file's name as recipients may see it, with the true extension."""
    if not given:
        return None
    base = re.split(r"[\\/]", unquote(given))[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C" and c not in '"<>|:*?')
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base.strip(" .")
    if not stem:
        return None
    return f"{stem[: _MAX_NAME - len(extension) - 1]}.{extension}"


class FileMediaStore:
    """Content-addressed media in one folder; paths never come from a request."""

    def __init__(self, folder: Path, limits: Mapping[MediaKind, int] | None = None) -> None:
        self._folder = folder
        self._limits = {**DEFAULT_LIMITS, **(limits or {})}

    def limit(self, kind: MediaKind) -> int:
        """Return the largest file of `kind` taken, in bytes."""
        return self._limits[kind]

    def check_writable(self) -> None:
        """Create the folder if needed and write a file in it; raise OSError if it cannot be."""
        self._folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(
            dir=self._folder, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX
        )
        os.close(descriptor)
        Path(name).unlink()

    def save(self, data: bytes, filename: str | None = None) -> StoredMedia:
        """Store the file (idempotently, also when the same file arrives twice at once).

        Raises UnsupportedMediaError for bytes of no kind, MediaTooLargeError over the kind's
        limit; nothing is stored then. A document keeps its `filename` (the last one given
        wins): the chat shows it. Other kinds are sent under a name made from their id.
        """
        found = sniff(data)
        if len(data) > self._limits[found.kind]:
            raise MediaTooLargeError(found.kind, len(data), self._limits[found.kind])
        sha256 = hashlib.sha256(data).hexdigest()
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{sha256}.{found.extension}"
        if not path.exists():
            self._write(path, data)
        name = clean_filename(filename, found.extension)
        if found.kind is MediaKind.DOCUMENT and name is not None and name != self._filename(sha256):
            self._write(self._folder / f"{sha256}{_NAME_SUFFIX}", name.encode())
        return self._stored(sha256, found, len(data))

    def _write(self, path: Path, data: bytes) -> None:
        # A temporary file of this upload's own: concurrent uploads of one file never share
        # it, and os.replace is atomic, so a reader never sees half a file. Same name, same
        # bytes: whichever upload replaces last, the file is right.
        descriptor, name = tempfile.mkstemp(
            dir=self._folder, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX
        )
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            try:
                temporary.replace(path)
            except OSError:
                if not path.exists():
                    raise
                # Where a stored file cannot be replaced (in use, on Windows), it is the
                # same file already: that is success.
                temporary.unlink()
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise

    def describe(self, media_id: str) -> StoredMedia:
        """Return what the stored file is, or raise KeyError."""
        data = self._read(media_id)
        return self._stored(media_id, sniff(data), len(data))

    def load(self, media_id: str) -> MediaPayload:
        """Return the stored file with its kind, or raise KeyError."""
        data = self._read(media_id)
        found = sniff(data)
        filename = self._filename(media_id) or f"{media_id[:16]}.{found.extension}"
        return MediaPayload(data=data, mimetype=found.mimetype, filename=filename, kind=found.kind)

    def _stored(self, media_id: str, found: MediaType, size: int) -> StoredMedia:
        return StoredMedia(
            id=media_id,
            sha256=media_id,
            mimetype=found.mimetype,
            size=size,
            kind=found.kind.value,
            filename=self._filename(media_id),
        )

    def _filename(self, media_id: str) -> str | None:
        try:
            return (self._folder / f"{media_id}{_NAME_SUFFIX}").read_text() or None
        except (OSError, UnicodeDecodeError):
            return None

    def _read(self, media_id: str) -> bytes:
        if not _MEDIA_ID.fullmatch(media_id):
            raise KeyError(media_id)
        for path in self._folder.glob(f"{media_id}.*"):
            # .partial: left by versions that wrote through one name; .filename: a name.
            if path.suffix not in _SKIPPED_SUFFIXES:
                try:
                    return path.read_bytes()
                except FileNotFoundError:
                    continue
        raise KeyError(media_id)
