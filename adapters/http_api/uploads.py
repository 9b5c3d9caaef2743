"""Reading request bodies within CAMPAIGNS_MAX_UPLOAD_BYTES: JSON, and multipart forms.

A form's file part can be spooled to a temporary file as it arrives, so a contacts file of
a million rows never sits in memory whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader
from pydantic import BaseModel, ValidationError

from adapters.http_api.errors import (
    UPLOAD_LIMIT,
    ProblemError,
    bad_request,
    invalid_input,
    too_large,
    validation_problem,
)
from app.blocking import off_loop

M = TypeVar("M", bound=BaseModel)
_CHUNK: Final = 64 * 1024
# A spooled part is written to its file this many bytes at a time, off the event loop.
_SPOOL_WRITE: Final = 1024 * 1024
# Room for a multipart envelope (boundaries, part headers) around CAMPAIGNS_MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD: Final = 64 * 1024
# Bodies up to this size validate in microseconds; larger ones are validated in a thread.
INLINE_JSON_BYTES: Final = 64 * 1024
_MALFORMED_FORM: Final = (
    "the multipart/form-data body is malformed or cut short: each part needs a "
    "Content-Disposition header, a blank line, its bytes, then a boundary, and the body ends "
    "with the closing boundary"
)


@dataclass(frozen=True)
class SpooledFile:
    """A form's file part, written to a temporary file as it arrived: where, its size, sha256."""

    path: Path
    size: int
    sha256: bytes


@dataclass(frozen=True)
class SpooledForm:
    """A form's parts: its fields in memory, its files spooled to temporary files."""

    fields: dict[str, bytes]
    files: dict[str, SpooledFile]


def unsupported(expected: str) -> ProblemError:
    """Return the 415 problem for a body of the wrong content type."""
    return ProblemError(
        415, "Unsupported media type", f"send the body as {expected}", kind="unsupported-type"
    )


def _validated(model: type[M], raw: bytes | str) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        # Built here too: a problem naming 100,000 bad rows is no quick thing either.
        raise validation_problem(error) from None


async def validate_json(model: type[M], raw: bytes | str) -> M:
    """Return `raw` as `model`, or raise its problem; a large body is validated off the loop."""
    if len(raw) <= INLINE_JSON_BYTES:
        return _validated(model, raw)
    return await off_loop(_validated, model, raw)


async def read_body(request: web.Request) -> bytes:
    """Return the whole body, at most CAMPAIGNS_MAX_UPLOAD_BYTES (413 beyond, as any body).

    aiohttp's client_max_size stops a body a little over the limit (it leaves room for a
    multipart envelope); this is the limit itself.
    """
    limit = request.app[UPLOAD_LIMIT]
    raw = await request.read()
    if len(raw) > limit:
        raise too_large(limit)
    return raw


async def read_json(request: web.Request, model: type[M]) -> M:
    """Return the JSON body as `model`: 415 for another type, 413 over the upload limit."""
    if request.content_type != "application/json":
        raise unsupported("application/json")
    return await validate_json(model, await read_body(request))


async def _read_part(part: BodyPartReader, budget: int, limit: int) -> bytes:
    chunks = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        chunks += chunk
        if len(chunks) > budget:
            raise too_large(limit)
    return bytes(chunks)


async def _spool_part(part: BodyPartReader, path: Path, budget: int, limit: int) -> SpooledFile:
    digest = hashlib.sha256()
    size = 0
    pending = bytearray()
    with await off_loop(path.open, "wb") as file:
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > budget:
                raise too_large(limit)
            digest.update(chunk)
            pending += chunk
            if len(pending) >= _SPOOL_WRITE:
                await off_loop(file.write, bytes(pending))
                pending.clear()
        await off_loop(file.write, bytes(pending))
    return SpooledFile(path, size, digest.digest())


async def _parts(
    reader: MultipartReader, fields: Collection[str]
) -> AsyncIterator[tuple[str, BodyPartReader]]:
    """Yield each part of the form with its name; refuse a part not named in `fields`, or twice."""
    seen: set[str] = set()
    while (part := await reader.next()) is not None:
        name = part.name if isinstance(part, BodyPartReader) else None
        if isinstance(part, BodyPartReader) and name is None:
            # RFC 7578: every part names its field. aiohttp warns of an unreadable
            # Content-Disposition and reads on; where warnings are errors, it raises instead.
            raise bad_request(_MALFORMED_FORM, "bad-multipart")
        if not isinstance(part, BodyPartReader) or name is None or name not in fields:
            raise invalid_input(
                "the form has an unexpected field",
                [{"field": name or "?", "reason": "expected only " + ", ".join(sorted(fields))}],
            )
        if name in seen:
            raise invalid_input(
                "the form repeats a field", [{"field": name, "reason": "give it once"}]
            )
        seen.add(name)
        yield name, part


async def _multipart(request: web.Request, limit: int) -> MultipartReader:
    if request.content_type != "multipart/form-data":
        raise unsupported("multipart/form-data")
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)
    try:
        return await request.multipart()
    except ValueError:  # aiohttp: "boundary missed", a boundary over 70 characters, ...
        raise bad_request(
            "multipart/form-data needs a boundary parameter of 1 to 70 characters",
            "bad-multipart",
        ) from None


@contextlib.contextmanager
def _form_errors() -> Iterator[None]:
    try:
        yield
    except (ValueError, HttpProcessingError, BadContentDispositionHeader):
        # aiohttp's parser says "Reading after EOF", "Could not find starting boundary", or
        # names a part's header line it cannot read: all mean a body that is not a form.
        raise bad_request(_MALFORMED_FORM, "bad-multipart") from None


async def read_form(
    request: web.Request,
    fields: Collection[str],
    limit: int,
    filenames: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """Return the named fields of a multipart/form-data body, reading at most `limit` bytes.

    `filenames`, when given, is filled with the filename each file part was sent with.

    aiohttp's client_max_size does not cover a streamed multipart body, so parts are read
    in chunks against the limit, and a declared length over it is refused before reading.
    A body aiohttp cannot split into parts (no boundary, a part cut short, a header line it
    cannot parse) is a 400, never a 500.
    """
    reader = await _multipart(request, limit)
    found: dict[str, bytes] = {}
    used = 0
    with _form_errors():
        async for name, part in _parts(reader, fields):
            data = await _read_part(part, limit - used, limit)
            used += len(data)
            found[name] = data
            if filenames is not None and part.filename:
                filenames[name] = part.filename
    return found


@contextlib.asynccontextmanager
async def spooled_form(
    request: web.Request, fields: Collection[str], files: Collection[str], limit: int
) -> AsyncIterator[SpooledForm]:
    """Yield the named parts of a multipart/form-data body, at most `limit` bytes in all.

    The parts named in `files` are written to temporary files as they arrive (never held
    whole; deleted on leaving), the others of `fields` are read into memory. Refused as
    read_form refuses.
    """
    reader = await _multipart(request, limit)
    folder = Path(await off_loop(tempfile.mkdtemp, prefix="waha-campaigns-upload-"))
    try:
        form = SpooledForm({}, {})
        used = 0
        with _form_errors():
            async for name, part in _parts(reader, {*fields, *files}):
                if name in files:
                    spooled = await _spool_part(part, folder / name, limit - used, limit)
                    used += spooled.size
                    form.files[name] = spooled
                else:
                    data = await _read_part(part, limit - used, limit)
                    used += len(data)
                    form.fields[name] = data
        yield form
    finally:
        await off_loop(shutil.rmtree, folder, ignore_errors=True)
