"""Images for campaigns, stored under the media folder by the hash of their bytes."""

from __future__ import annotations

import hashlib
import re
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
_MEDIA_ID = re.compile(r"^[0-9a-f]{64}$")


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

    def save(self, data: bytes) -> StoredMedia:
        """Store the image (idempotently) and return what it is."""
        mimetype, extension = sniff_image(data)
        sha256 = hashlib.sha256(data).hexdigest()
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{sha256}.{extension}"
        if not path.exists():
            partial = path.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: a reader never sees half an image
        return StoredMedia(id=sha256, sha256=sha256, mimetype=mimetype, size=len(data))

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
        if not _MEDIA_ID.match(media_id):
            raise KeyError(media_id)
        for path in self._folder.glob(f"{media_id}.*"):
            if path.suffix != ".partial":
                return path.read_bytes()
        raise KeyError(media_id)
