"""The first bytes of each media type the service takes, and of some it refuses."""

from __future__ import annotations

import io
import zipfile
from typing import Final


def zipped(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


PAD: Final = b"\x00" * 32
PNG: Final = b"\x89PNG\r\n\x1a\n" + PAD
PDF: Final = b"%PDF-1.7\n" + PAD
DOCX: Final = zipped(("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>"))
MP4: Final = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + PAD
OGG_OPUS: Final = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + PAD

# Each: the bytes, then the kind, MIME type and extension they are taken as.
TAKEN: Final = [
    (PNG, "image", "image/png", "png"),
    (b"\xff\xd8\xff\xe0" + PAD, "image", "image/jpeg", "jpg"),
    (b"GIF89a" + PAD, "image", "image/gif", "gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + PAD, "image", "image/webp", "webp"),
    (PDF, "document", "application/pdf", "pdf"),
    (
        DOCX,
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    (
        zipped(("xl/workbook.xml", b"<workbook/>")),
        "document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    (
        zipped(("ppt/presentation.xml", b"<p/>")),
        "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
    (
        zipped(("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<o/>")),
        "document",
        "application/vnd.oasis.opendocument.text",
        "odt",
    ),
    (zipped(("notes.txt", b"hello")), "document", "application/zip", "zip"),
    (MP4, "video", "video/mp4", "mp4"),
    (b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00" + PAD, "video", "video/3gpp", "3gp"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + PAD, "video", "video/webm", "webm"),
    (OGG_OPUS, "voice", "audio/ogg; codecs=opus", "ogg"),
    (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis" + PAD, "voice", "audio/ogg", "ogg"),
    (b"ID3\x04\x00\x00" + PAD, "voice", "audio/mpeg", "mp3"),
    (b"\xff\xfb\x90\x64" + PAD, "voice", "audio/mpeg", "mp3"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + PAD, "voice", "audio/mp4", "m4a"),
    (b"#!AMR\n" + PAD, "voice", "audio/amr", "amr"),
]

REFUSED: Final = {
    "a Windows program": b"MZ\x90\x00" + PAD,
    "QuickTime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00" + PAD,
    "Matroska that is not WebM": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + PAD,
    "AAC in ADTS": b"\xff\xf1\x50\x80" + PAD,
    "a zip cut short": b"PK\x03\x04" + PAD,
    "nothing": b"",
}
