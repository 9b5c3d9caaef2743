"""FileMediaStore: content-addressed images, safe under concurrent uploads of the same image."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.media import FileMediaStore, NotAnImageError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096
DIGEST = hashlib.sha256(PNG).hexdigest()
UPLOADS = 32


def test_an_image_is_stored_under_its_sha256(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "media")

    stored = store.save(PNG)

    assert (stored.id, stored.mimetype, stored.size) == (DIGEST, "image/png", len(PNG))
    assert [p.name for p in (tmp_path / "media").iterdir()] == [f"{DIGEST}.png"]
    assert store.load(DIGEST).data == PNG


@pytest.mark.parametrize("attempt", range(10))
def test_concurrent_uploads_of_the_same_image_all_succeed(tmp_path: Path, attempt: int) -> None:
    store = FileMediaStore(tmp_path / "media")
    start = threading.Barrier(UPLOADS)

    def upload() -> str:
        start.wait()
        return store.save(PNG).id

    with ThreadPoolExecutor(UPLOADS) as pool:
        ids = list(pool.map(lambda _: upload(), range(UPLOADS)))

    assert ids == [DIGEST] * UPLOADS
    assert [p.name for p in (tmp_path / "media").iterdir()] == [f"{DIGEST}.png"]
    assert store.describe(DIGEST).size == len(PNG)


def test_uploading_an_image_already_stored_keeps_it(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "media")
    store.save(PNG)

    again = store.save(PNG)

    assert again.id == DIGEST
    assert [p.name for p in (tmp_path / "media").iterdir()] == [f"{DIGEST}.png"]


def test_an_upload_in_progress_is_never_read_as_the_image(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / f".upload-{DIGEST}.png.tmp").write_bytes(PNG)
    store = FileMediaStore(folder)

    with pytest.raises(KeyError):
        store.describe(DIGEST)


@pytest.mark.parametrize(
    "media_id", [f"{DIGEST}\n", DIGEST.upper(), DIGEST[:-1], "../" + DIGEST[3:], "*"]
)
def test_only_a_whole_sha256_names_an_image(tmp_path: Path, media_id: str) -> None:
    store = FileMediaStore(tmp_path / "media")
    store.save(PNG)

    with pytest.raises(KeyError):
        store.load(media_id)


def test_a_file_of_no_media_kind_is_not_stored(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "media")

    with pytest.raises(NotAnImageError):
        store.save(b"MZ\x90\x00 a Windows program")

    assert not (tmp_path / "media").exists()


def test_a_writable_folder_is_created_and_left_empty(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "var" / "media")

    store.check_writable()

    assert list((tmp_path / "var" / "media").iterdir()) == []


def test_a_folder_that_cannot_be_created_is_an_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder's parent should be")
    store = FileMediaStore(blocker / "media")

    with pytest.raises(OSError, match="Not a directory"):
        store.check_writable()
