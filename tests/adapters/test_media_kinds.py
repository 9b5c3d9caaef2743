"""Media kinds: told from the bytes, stored and loaded with their kind, each within its limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.media import FileMediaStore, MediaTooLargeError, UnsupportedMediaError
from adapters.media_kinds import sniff
from app.ports import MediaKind
from tests.adapters.media_samples import DOCX, PDF, PNG, REFUSED, TAKEN


@pytest.mark.parametrize(
    ("data", "kind", "mimetype", "extension"), TAKEN, ids=[t[3] + "-" + t[2] for t in TAKEN]
)
def test_each_type_is_told_from_its_bytes(
    data: bytes, kind: str, mimetype: str, extension: str
) -> None:
    found = sniff(data)

    assert (found.kind.value, found.mimetype, found.extension) == (kind, mimetype, extension)


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_other_bytes_are_refused_naming_what_is_taken(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError, match="a voice note"):
        sniff(data)


@pytest.mark.parametrize(
    ("data", "kind", "mimetype", "extension"), TAKEN, ids=[t[3] + "-" + t[2] for t in TAKEN]
)
def test_every_kind_is_stored_and_loaded_with_its_kind(
    tmp_path: Path, data: bytes, kind: str, mimetype: str, extension: str
) -> None:
    store = FileMediaStore(tmp_path / "media")

    stored = store.save(data)
    loaded = store.load(stored.id)

    assert (stored.kind, stored.mimetype) == (kind, mimetype)
    assert (loaded.kind.value, loaded.mimetype, loaded.data) == (kind, mimetype, data)
    assert loaded.filename.endswith(f".{extension}")


def test_each_kind_has_its_own_size_limit(tmp_path: Path) -> None:
    store = FileMediaStore(
        tmp_path / "media", {MediaKind.IMAGE: len(PNG), MediaKind.DOCUMENT: len(PDF) - 1}
    )

    store.save(PNG)
    with pytest.raises(MediaTooLargeError) as refused:
        store.save(PDF)

    assert (refused.value.kind, refused.value.limit) == (MediaKind.DOCUMENT, len(PDF) - 1)
    assert "CAMPAIGNS_MAX_DOCUMENT_BYTES" in str(refused.value)
    assert [p.suffix for p in (tmp_path / "media").iterdir()] == [".png"]


def test_a_document_keeps_its_name_cleaned_and_with_its_true_extension(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "media")

    stored = store.save(DOCX, '..\\\\evil/"Price list"\x07 2026.pdf')
    loaded = store.load(stored.id)

    assert stored.filename == loaded.filename == "Price list 2026.docx"


def test_an_image_is_sent_under_a_name_made_from_its_id(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "media")

    stored = store.save(PNG, "holiday.png")

    assert stored.filename is None
    assert store.load(stored.id).filename == f"{stored.id[:16]}.png"


@pytest.mark.parametrize("data", [PDF, DOCX], ids=["pdf", "docx"])
def test_asking_for_an_image_still_means_an_image(data: bytes) -> None:
    from adapters.media import NotAnImageError, sniff_image

    assert sniff_image(PNG) == ("image/png", "png")
    with pytest.raises(NotAnImageError, match="not a PNG, JPEG, GIF or WebP image"):
        sniff_image(data)
