"""One middleware turns every failure into application/problem+json (RFC 9457), never a trace."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from eventsourcing.persistence import ConnectionUnavailableError
from pydantic import ValidationError

from adapters.media import MediaTooLargeError, UnsupportedMediaError
from app.errors import CampaignNotFoundError, ConcurrentUpdateError, InvalidCampaignError
from app.idempotency import IdempotencyConflictError
from domain.campaign import AlreadyRetriedError, AttemptInFlightError
from domain.errors import DomainError, IllegalTransitionError

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:waha-campaigns:problem:"
_MAX_ECHOED_CHARS: Final = 200
_MAX_KEY_CHARS: Final = 64
# What pydantic appends to the location of a dict key that failed validation.
_KEY_MARK: Final = "[key]"
log = logging.getLogger("waha_campaigns.http")
# CAMPAIGNS_MAX_UPLOAD_BYTES, kept on the app so that every 413 names the same limit.
UPLOAD_LIMIT: Final = web.AppKey("upload_limit", int)
# SQLite's SQLITE_BUSY ("database is locked"); its extended codes keep it in their low byte.
_SQLITE_BUSY: Final = 5


class ProblemError(Exception):
    """A problem a handler reports; the middleware renders it."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str | None = None,
        errors: Sequence[Mapping[str, object]] | None = None,
        headers: Mapping[str, str] | None = None,
        **members: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = dict(headers or {})
        self.members = members

    def response(self) -> web.Response:
        """Return the problem as a response."""
        body: dict[str, Any] = {
            "type": _TYPE_PREFIX + self.kind if self.kind else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = [dict(error) for error in self.errors]
        body.update(self.members)
        return web.Response(
            status=self.status,
            text=json.dumps(body, default=str),
            content_type=PROBLEM_CONTENT_TYPE,
            headers=self.headers,
        )


def invalid_input(detail: str, errors: Sequence[Mapping[str, object]]) -> ProblemError:
    """Return the 422 problem for input that names its bad fields."""
    return ProblemError(422, "Invalid input", detail, kind="invalid-input", errors=errors)


def too_large(limit: int) -> ProblemError:
    """Return the 413 problem for a body, a form part or a whole request over `limit` bytes."""
    return ProblemError(
        413,
        "Request entity too large",
        f"the body is over {limit} bytes (CAMPAIGNS_MAX_UPLOAD_BYTES)",
        kind="too-large",
        max_bytes=limit,
    )


def bad_request(detail: str, kind: str) -> ProblemError:
    """Return the 400 problem for a body that cannot be read as what it claims to be."""
    return ProblemError(400, "Bad request", detail, kind=kind)


def not_found(detail: str) -> ProblemError:
    """Return the 404 problem for an unknown (or malformed) campaign id."""
    return ProblemError(404, "Not found", detail, kind="not-found")


def field_name(location: Sequence[int | str], prefix: str = "") -> str:
    """Return a pydantic location as `contacts[2].phone`; a bad key as `message.defaults.<key>`."""
    name = prefix
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part != _KEY_MARK:
            # Keys come from the request: long ones are cut, as every echoed value is.
            name = f"{name}.{part[:_MAX_KEY_CHARS]}" if name else part[:_MAX_KEY_CHARS]
    return name


def _echoable(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def validation_problem(error: ValidationError, *, prefix: str = "") -> ProblemError:
    """Return the problem for a pydantic error: 400 for a body that is not JSON, else 422."""
    if any(item["type"] == "json_invalid" for item in error.errors()):
        return bad_request("the body is not valid JSON", "bad-json")
    problems: list[dict[str, object]] = []
    for item in error.errors(include_url=False):
        problem: dict[str, object] = {
            "field": field_name(item["loc"], prefix) or "body",
            "reason": item["msg"],
        }
        # Missing fields carry their whole parent as input: echo scalars only, and short.
        value = item.get("input")
        if item["type"] != "missing" and _echoable(value):
            problem["value"] = value[:_MAX_ECHOED_CHARS] if isinstance(value, str) else value
        problems.append(problem)
    return invalid_input("the request is not valid", problems)


def _http_problem(error: web.HTTPException) -> ProblemError:
    default = f"{error.status}: {error.reason}"
    detail = error.text if error.text and error.text != default else error.reason
    if error.status == web.HTTPNotFound.status_code and detail == error.reason:
        detail = "no such resource"
    headers = {k: v for k, v in error.headers.items() if k in {"Allow", "Retry-After"}}
    return ProblemError(error.status, error.reason, detail or error.reason, headers=headers)


def _media_or_request_problem(error: Exception) -> ProblemError | None:
    match error:
        case UnsupportedMediaError():
            # The type keeps the name it had when images were the only media kind.
            return ProblemError(415, "Unsupported media type", str(error), kind="not-an-image")
        case MediaTooLargeError():
            return ProblemError(
                413,
                "Request entity too large",
                str(error),
                kind="too-large",
                max_bytes=error.limit,
                media_kind=error.kind.value,
            )
        case IdempotencyConflictError():
            return ProblemError(
                409,
                "Idempotency-Key reused",
                str(error),
                kind="idempotency-conflict",
                campaign_id=str(error.campaign_id),
            )
        case AlreadyRetriedError():
            return ProblemError(
                409,
                "Retried already",
                str(error),
                kind="retried-already",
                campaign_id=str(error.retried_as),
            )
    return None


def store_busy(error: BaseException) -> bool:
    """Whether `error` says the store is busy rather than broken.

    SQLite's "database is locked" (raw or as the library wraps it), or the library's pool
    waiting past its timeout for a connection (its one writer, on SQLite). The first is
    raised once the connection's busy timeout (SQLITE_LOCK_TIMEOUT, 5 s) has passed with
    another connection holding the write lock: the store is busy, not broken.
    """
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        if isinstance(found, ConnectionUnavailableError):
            return True  # the library's pool gave up waiting for its connection: as busy
        if isinstance(found, sqlite3.OperationalError):
            code = getattr(found, "sqlite_errorcode", None)  # only on errors SQLite reported
            return isinstance(code, int) and code & 0xFF == _SQLITE_BUSY
        seen.add(id(found))
        found = found.__cause__
    return False


def _store_busy_problem() -> ProblemError:
    """Return the 503 problem for a store that stayed locked past its busy timeout."""
    return ProblemError(
        503,
        "Service unavailable",
        "the store is busy with other writes; try again shortly",
        kind="store-busy",
        headers={"Retry-After": "1"},
    )


def problem_for(error: Exception) -> ProblemError | None:  # noqa: C901, PLR0911, PLR0912 - one per kind
    """Return the problem an application, domain or validation error means; None if unknown."""
    found = _media_or_request_problem(error)
    if found is not None:
        return found
    if store_busy(error):
        return _store_busy_problem()
    match error:
        case ProblemError():
            return error
        case ValidationError():
            return validation_problem(error)
        case InvalidCampaignError():
            return invalid_input(str(error), error.problems)
        case CampaignNotFoundError():
            return not_found(str(error))
        case IllegalTransitionError():
            # The message names the state ("cannot pause a campaign that is Completed").
            return ProblemError(
                409,
                "Not allowed in the campaign's state",
                str(error),
                kind="illegal-transition",
                campaign_status=error.status,
            )
        case AttemptInFlightError() | ConcurrentUpdateError():
            return ProblemError(
                409,
                "Busy: retry shortly",
                str(error),
                kind="retry",
                headers={"Retry-After": "1"},
            )
        case DomainError():
            return invalid_input(str(error), [])
        case web.HTTPException() if error.status >= web.HTTPBadRequest.status_code:
            return _http_problem(error)
        case OverflowError():
            # A number or date too large for the clock, the store or arithmetic: the input's.
            return invalid_input("a number or date in the request is out of range", [])
        case RecursionError():
            return bad_request("the request is nested too deeply", "too-deep")
        case web.RequestPayloadError() | HttpProcessingError():
            # The body stopped short of its length, or its Content-Encoding does not decode.
            return bad_request(
                "the body cannot be read: it is cut short or its Content-Encoding is broken",
                "unreadable-body",
            )
    return None


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as a problem; log unexpected ones, answer 500 without details."""
    try:
        return await handler(request)
    except Exception as error:  # the edge: everything becomes a problem document
        problem = problem_for(error)
        limit = request.app.get(UPLOAD_LIMIT)
        if isinstance(error, web.HTTPRequestEntityTooLarge) and limit is not None:
            # aiohttp's own bound on a whole request: the same problem as any body too large.
            problem = too_large(limit)
        if problem is not None:
            if store_busy(error):
                # Lock contention the operator should see, in one line (no trace, no query).
                log.warning("store busy answering %s %s: 503", request.method, request.path)
            elif isinstance(error, OverflowError | RecursionError):
                # A bound the edge does not check yet: one line to find it by, not a trace.
                log.warning(
                    "%s answering %s %s: %s",
                    type(error).__name__,
                    request.method,
                    request.path,
                    error,
                )
            return problem.response()
        if isinstance(error, web.HTTPException):
            raise  # redirects and other non-errors pass through
        # The path, never the query or headers: they may carry a token.
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return ProblemError(
            500, "Internal server error", "the service failed; it is logged", kind="internal"
        ).response()
