"""What a media file is, told from its first bytes, never from its name or a client's word.

Each kind is sent through its own WAHA endpoint: images (sendImage), documents (sendFile:
PDF, Office and OpenDocument files, zip archives), videos (sendVideo: MP4, WebM, 3GP) and
voice notes (sendVoice: OGG/Opus, MP3, M4A, AMR).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Final

from app.ports import MediaKind


class UnsupportedMediaError(ValueError):
    """Bytes that are none of the media kinds this service sends."""


# The name the error had when images were the only kind; kept for existing callers.
NotAnImageError = UnsupportedMediaError

SUPPORTED: Final = (
    "an image (PNG, JPEG, GIF, WebP), a document (PDF, DOCX, XLSX, PPTX, ODT, ODS, ODP, ZIP), "
    "a video (MP4, WebM, 3GP) or a voice note (OGG/Opus, MP3, M4A, AMR)"
)


@dataclass(frozen=True)
class MediaType:
    """What a file is: its kind, its MIME type and the extension it is stored under."""

    kind: MediaKind
    mimetype: str
    extension: str


_PREFIXES: Final[tuple[tuple[bytes, MediaType], ...]] = (
    (b"\x89PNG\r\n\x1a\n", MediaType(MediaKind.IMAGE, "image/png", "png")),
    (b"\xff\xd8\xff", MediaType(MediaKind.IMAGE, "image/jpeg", "jpg")),
    (b"GIF87a", MediaType(MediaKind.IMAGE, "image/gif", "gif")),
    (b"GIF89a", MediaType(MediaKind.IMAGE, "image/gif", "gif")),
    (b"%PDF-", MediaType(MediaKind.DOCUMENT, "application/pdf", "pdf")),
    (b"#!AMR-WB\n", MediaType(MediaKind.VOICE, "audio/amr-wb", "awb")),
    (b"#!AMR\n", MediaType(MediaKind.VOICE, "audio/amr", "amr")),
    (b"ID3", MediaType(MediaKind.VOICE, "audio/mpeg", "mp3")),
)
_ZIP: Final = b"PK\x03\x04"
# Office Open XML: the part every file of the type has.
_OOXML: Final = (
    (
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    (
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    (
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
)
_OPENDOCUMENT: Final = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
# ISO base media files (MP4 and kin) by their major brand; all others are MP4 video.
_AUDIO_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"F4A "})
_QUICKTIME: Final = b"qt  "
_EBML: Final = b"\x1a\x45\xdf\xa3"
_HEAD: Final = 64


def sniff(data: bytes) -> MediaType:
    """Return what the bytes are, or raise UnsupportedMediaError naming what is taken."""
    for prefix, found in _PREFIXES:
        if data.startswith(prefix):
            return found
    found_type = (
        _riff(data) or _iso_media(data) or _matroska(data) or _ogg(data) or _mpeg_audio(data)
    )
    if found_type is None and data.startswith(_ZIP):
        found_type = _zip(data)
    if found_type is None:
        raise UnsupportedMediaError(f"the file is not {SUPPORTED}")
    return found_type


def _riff(data: bytes) -> MediaType | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MediaType(MediaKind.IMAGE, "image/webp", "webp")
    return None


def _iso_media(data: bytes) -> MediaType | None:
    if data[4:8] != b"ftyp":
        return None
    brand = data[8:12]
    if brand in _AUDIO_BRANDS:
        return MediaType(MediaKind.VOICE, "audio/mp4", "m4a")
    if brand.startswith((b"3gp", b"3g2")):
        return MediaType(MediaKind.VIDEO, "video/3gpp", "3gp")
    if brand == _QUICKTIME:
        return None  # QuickTime (.mov) is not one WhatsApp plays: export it as MP4
    return MediaType(MediaKind.VIDEO, "video/mp4", "mp4")


def _matroska(data: bytes) -> MediaType | None:
    # WebM is Matroska whose DocType, near the start, says "webm"; other Matroska is refused.
    if data.startswith(_EBML) and b"webm" in data[:_HEAD]:
        return MediaType(MediaKind.VIDEO, "video/webm", "webm")
    return None


def _ogg(data: bytes) -> MediaType | None:
    if not data.startswith(b"OggS"):
        return None
    if b"OpusHead" in data[:_HEAD]:
        return MediaType(MediaKind.VOICE, "audio/ogg; codecs=opus", "ogg")
    return MediaType(MediaKind.VOICE, "audio/ogg", "ogg")


def _mpeg_audio(data: bytes) -> MediaType | None:
    # An MP3 without tags starts with a frame: 11 sync bits, then a layer that is not 0
    # (layer bits 00 with the sync is AAC in ADTS, which is not taken).
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:  # noqa: PLR2004
        return MediaType(MediaKind.VOICE, "audio/mpeg", "mp3")
    return None


def _zip(data: bytes) -> MediaType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            declared = ""
            # OpenDocument names its type in a small first entry; a large one is not that.
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= _HEAD * 2:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, EOFError) as error:
        raise UnsupportedMediaError(
            f"the file looks like a zip archive but cannot be read ({error}); send {SUPPORTED}"
        ) from None
    for part, mimetype, extension in _OOXML:
        if part in names:
            return MediaType(MediaKind.DOCUMENT, mimetype, extension)
    if declared in _OPENDOCUMENT:
        return MediaType(MediaKind.DOCUMENT, declared, _OPENDOCUMENT[declared])
    return MediaType(MediaKind.DOCUMENT, "application/zip", "zip")
