"""Images for campaigns, stored under the media folder by the hash of their bytes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.ports import ImagePayload

# Types WhatsApp shows as images, told apart by their first bytes, never by a file name.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
_MEDIA_ID = re.compile(r"[0-9a-f]{64}")
# Uploads in progress: a name no media id glob ("<sha256>.*") can match.
_TEMP_PREFIX = ".upload-"
_TEMP_SUFFIX = ".tmp"


class NotAnImageError(ValueError):
    """Bytes that are not a PNG, JPEG, GIF or WebP image."""


@dataclass(frozen=True)
class StoredMedia:
    """An image in the store: its id is its sha256."""

    id: str
    sha256: str
    mimetype: str
    size: int


def sniff_image(data: bytes) -> tuple[str, str]:
    """Return (mimetype, extension) from the image's first bytes, or raise NotAnImageError."""
    for signature, mimetype, extension in _SIGNATURES:
        if data.startswith(signature):
            return mimetype, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise NotAnImageError("the file is not a PNG, JPEG, GIF or WebP image")


class FileMediaStore:
    """Content-addressed images in one folder; paths never come from a request."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def check_writable(self) -> None:
        """Create the folder if needed and write a file in it; raise OSError if it cannot be."""
        self._folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(
            dir=self._folder, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX
        )
        os.close(descriptor)
        Path(name).unlink()

    def save(self, data: bytes) -> StoredMedia:
        """Store the image (idempotently, also when the same image arrives twice at once)."""
        mimetype, extension = sniff_image(data)
        sha256 = hashlib.sha256(data).hexdigest()
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{sha256}.{extension}"
        if not path.exists():
            self._write(path, data)
        return StoredMedia(id=sha256, sha256=sha256, mimetype=mimetype, size=len(data))

    def _write(self, path: Path, data: bytes) -> None:
        # A temporary file of this upload's own: concurrent uploads of one image never share
        # it, and os.replace is atomic, so a reader never sees half an image. Same name, same
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
                # same image already: that is success.
                temporary.unlink()
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise

    def describe(self, media_id: str) -> StoredMedia:
        """Return what the stored image is, or raise KeyError."""
        data = self._read(media_id)
        mimetype, _ = sniff_image(data)
        return StoredMedia(id=media_id, sha256=media_id, mimetype=mimetype, size=len(data))

    def load(self, media_id: str) -> ImagePayload:
        """Return the stored image, or raise KeyError."""
        data = self._read(media_id)
        mimetype, extension = sniff_image(data)
        return ImagePayload(data=data, mimetype=mimetype, filename=f"{media_id[:16]}.{extension}")

    def _read(self, media_id: str) -> bytes:
        if not _MEDIA_ID.fullmatch(media_id):
            raise KeyError(media_id)
        for path in self._folder.glob(f"{media_id}.*"):
            if path.suffix != ".partial":  # left by versions that wrote through one name
                return path.read_bytes()
        raise KeyError(media_id)
