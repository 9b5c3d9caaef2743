"""A small client of the running service's HTTP API, and its failures at the command edge."""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
from yarl import URL

from adapters.cli.arguments import ExitCode, service_token, service_url
from adapters.cli.output import fail, reader_left

Problem = Mapping[str, Any]


class ServiceError(Exception):
    """A request that failed; `code` is the exit status, `problems` the service's field errors."""

    def __init__(self, message: str, code: ExitCode, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.problems = list(problems)


class ServiceClient:
    """The few calls the operator commands make, over one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str | None) -> None:
        self._session = session
        self._base_url = base_url
        self._headers = {"Accept": "application/json"}
        self._has_token = bool(token)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    async def create_campaign(
        self,
        body: Mapping[str, Any],
        *,
        contacts: Path | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Schedule a campaign (once per idempotency key, when given); return its view.

        With `contacts`, `body` is the form's `campaign` part and the file is uploaded with
        it, streamed from disk; without, `body` is the whole JSON body, contacts included.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        if contacts is None:
            return await self._json("POST", "/campaigns", json=body, headers=headers)
        with contacts.open("rb") as file:
            form = _campaign_form(body, contacts, file)
            return await self._json("POST", "/campaigns", data=form, headers=headers)

    async def preview_campaign(
        self, body: Mapping[str, Any], *, contacts: Path, limit: int
    ) -> dict[str, Any]:
        """Return what creating the campaign of `body` and the file `contacts` would do."""
        with contacts.open("rb") as file:
            form = _campaign_form(body, contacts, file)
            params = {"limit": str(limit)}
            return await self._json("POST", "/campaigns/preview", data=form, params=params)

    async def upload_media(
        self, content: bytes, filename: str, content_type: str
    ) -> dict[str, Any]:
        """Upload a media file; return {id, sha256, mimetype, size, kind, filename}."""
        form = aiohttp.FormData()
        form.add_field("file", content, filename=filename, content_type=content_type)
        return await self._json("POST", "/media", data=form)

    async def campaigns(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Return one page of campaigns: {items, next_cursor}."""
        query = {"status": status, "limit": limit, "cursor": cursor}
        params = {k: str(v) for k, v in query.items() if v is not None}
        return await self._json("GET", "/campaigns", params=params)

    async def campaign(self, campaign_id: object) -> dict[str, Any]:
        """Return a campaign's view."""
        return await self._json("GET", f"/campaigns/{campaign_id}")

    async def edit_campaign(
        self, campaign_id: object, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a Scheduled campaign; return its view with `changed` and `warnings`."""
        return await self._json("PATCH", f"/campaigns/{campaign_id}", json=changes)

    async def retry_campaign(self, campaign_id: object, body: Mapping[str, Any]) -> dict[str, Any]:
        """Schedule a retry of a campaign's failed (or in-doubt) contacts; return its view."""
        return await self._json("POST", f"/campaigns/{campaign_id}/retry", json=body)

    async def command(
        self, campaign_id: object, command: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Pause, resume or cancel a campaign; return its new view."""
        return await self._json("POST", f"/campaigns/{campaign_id}/{command}", json=body)

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Make any request of the API (json=, params=, headers=); return its JSON object."""
        return await self._json(method, path, **kwargs)

    async def _json(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        url = self._base_url + path
        try:
            async with self._session.request(
                method, url, headers={**self._headers, **(headers or {})}, **kwargs
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            raise ServiceError(
                f"the service at {self._base_url} is unreachable: {reason}", ExitCode.UNAVAILABLE
            ) from None
        payload = _decoded(body)
        if status >= 400:  # noqa: PLR2004 - HTTP errors
            raise _problem_error(status, payload, has_token=self._has_token)
        if not isinstance(payload, dict):
            raise ServiceError(
                f"the service answered {method} {path} with something other than a JSON object",
                ExitCode.UNAVAILABLE,
            )
        return payload


def _campaign_form(body: Mapping[str, Any], path: Path, file: BinaryIO) -> aiohttp.FormData:
    # aiohttp sends an open file in chunks as the request goes: the file is never read whole.
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(body), content_type="application/json")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    form.add_field("contacts", file, filename=path.name, content_type=kind)
    return form


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _problem_error(status: int, payload: Any, *, has_token: bool) -> ServiceError:
    problem: Problem = payload if isinstance(payload, dict) else {}
    said = problem.get("detail") or problem.get("title") or f"HTTP {status}"
    listed = problem.get("errors")
    errors = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    if status == 401 and not has_token:  # noqa: PLR2004 - unauthorized
        return ServiceError(
            "no API token given (use --token or CAMPAIGNS_API_TOKEN)", ExitCode.USAGE
        )
    if status in {401, 403}:
        return ServiceError(
            f"the service refused the token ({status}): set --token or CAMPAIGNS_API_TOKEN",
            ExitCode.USAGE,
        )
    if status == 404:  # noqa: PLR2004 - not found
        return ServiceError(str(said), ExitCode.NOT_FOUND)
    if status >= 500:  # noqa: PLR2004 - the service's own failure
        return ServiceError(f"the service failed ({status}): {said}", ExitCode.UNAVAILABLE)
    return ServiceError(str(said), ExitCode.USAGE, errors)


def problem_line(problem: Problem) -> str:
    """Return one field error of the service for people: field, value and reason."""
    value = f" {problem['value']!r}" if problem.get("value") not in {None, ""} else ""
    return f"{problem.get('field', '?')}{value}: {problem.get('reason', 'invalid')}"


def url_problem(url: str) -> str | None:
    """Return why `url` cannot name the service, or None if it can."""
    if not url.startswith(("http://", "https://")):
        return "the service URL must start with http:// or https://"
    try:
        parsed = URL(url)
        host, _ = parsed.host, parsed.port
    except ValueError as error:  # yarl names the flaw: "Port out of range 0-65535", ...
        return f"the service URL cannot be read ({error})"
    return None if host else "the service URL names no host"


def run_with_service(
    args: argparse.Namespace,
    action: Callable[[ServiceClient], Awaitable[int]],
    *,
    describe: Callable[[Problem], str] = problem_line,
) -> int:
    """Run `action` with a client of the service named by the arguments; map failures."""
    url = service_url(args)
    flaw = url_problem(url)
    if flaw is not None:
        return fail(f"{flaw}: {url}", ExitCode.USAGE)

    async def with_session() -> int:
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            return await action(ServiceClient(session, url, service_token(args)))

    try:
        return asyncio.run(with_session())
    except BrokenPipeError:
        return reader_left()
    except ServiceError as error:
        for problem in error.problems:
            print(f"  {describe(problem)}", file=sys.stderr)
        return fail(str(error), error.code)
