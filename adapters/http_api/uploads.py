"""Reading request bodies within CAMPAIGNS_MAX_UPLOAD_BYTES: JSON, and multipart form fields."""

from __future__ import annotations

from collections.abc import Collection
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
# Room for a multipart envelope (boundaries, part headers) around CAMPAIGNS_MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD: Final = 64 * 1024
# Bodies up to this size validate in microseconds; larger ones are validated in a thread.
INLINE_JSON_BYTES: Final = 64 * 1024
_MALFORMED_FORM: Final = (
    "the multipart/form-data body is malformed or cut short: each part needs a "
    "Content-Disposition header, a blank line, its bytes, then a boundary, and the body ends "
    "with the closing boundary"
)


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


async def _read_fields(
    reader: MultipartReader,
    fields: Collection[str],
    limit: int,
    filenames: dict[str, str] | None = None,
) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    used = 0
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
        if name in found:
            raise invalid_input(
                "the form repeats a field", [{"field": name, "reason": "give it once"}]
            )
        data = await _read_part(part, limit - used, limit)
        used += len(data)
        found[name] = data
        if filenames is not None and part.filename:
            filenames[name] = part.filename
    return found


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
    if request.content_type != "multipart/form-data":
        raise unsupported("multipart/form-data")
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)
    try:
        reader = await request.multipart()
    except ValueError:  # aiohttp: "boundary missed", a boundary over 70 characters, ...
        raise bad_request(
            "multipart/form-data needs a boundary parameter of 1 to 70 characters",
            "bad-multipart",
        ) from None
    try:
        return await _read_fields(reader, fields, limit, filenames)
    except (ValueError, HttpProcessingError, BadContentDispositionHeader):
        # aiohttp's parser says "Reading after EOF", "Could not find starting boundary", or
        # names a part's header line it cannot read: all mean a body that is not a form.
        raise bad_request(_MALFORMED_FORM, "bad-multipart") from None
