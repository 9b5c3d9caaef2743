"""/openapi.json, generated from the route table and the JSON schemas of the pydantic models."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from importlib import metadata
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from adapters.http_api.errors import PROBLEM_CONTENT_TYPE
from adapters.http_api.routes import Body, Endpoint
from adapters.http_api.schemas import SESSION_NAME_PATTERN, Problem

_REF: Final = "#/components/schemas/{model}"
_PATH_PARAMETER: Final = re.compile(r"{(\w+)}")
_MULTIPART_ENCODINGS: Final = {
    "campaign": {"contentType": "application/json"},
    "contacts": {
        "contentType": "text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    },
    "file": {
        "contentType": (
            "image/png, image/jpeg, image/gif, image/webp, application/pdf, "
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document, "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, "
            "application/vnd.openxmlformats-officedocument.presentationml.presentation, "
            "application/vnd.oasis.opendocument.text, "
            "application/vnd.oasis.opendocument.spreadsheet, "
            "application/vnd.oasis.opendocument.presentation, application/zip, video/mp4, "
            "video/webm, video/3gpp, audio/ogg, audio/mpeg, audio/mp4, audio/amr"
        )
    },
}


def _version() -> str:
    try:
        return metadata.version("waha-campaigns")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _models(endpoints: Iterable[Endpoint]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for endpoint in endpoints:
        for body in endpoint.responses.values():
            if isinstance(body, type):
                found[body, "serialization"] = None
        for body in endpoint.requests.values():
            if isinstance(body, type):
                found[body, "validation"] = None
        if endpoint.query is not None:
            found[endpoint.query, "validation"] = None
    return list(found)


class _Schemas:
    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        refs, definitions = models_json_schema(_models(endpoints), ref_template=_REF)
        self.refs = refs
        self.components: dict[str, Any] = definitions.get("$defs", {})

    def of(self, body: Body, mode: JsonSchemaMode) -> dict[str, Any]:
        if isinstance(body, type):
            return dict(self.refs[body, mode])
        return dict(body)

    def query_parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        ref = self.refs[model, "validation"]["$ref"]
        schema = self.components[ref.rsplit("/", 1)[-1]]
        required = set(schema.get("required", ()))
        parameters = []
        for name, prop in schema.get("properties", {}).items():
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k != "description"},
            }
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
        return parameters


def problem_statuses(endpoint: Endpoint) -> list[int]:
    """Return every error status `endpoint` can answer: its own, and those of what it reads.

    A body can be malformed (400), too large (413) or of another type (415); a query string
    can be invalid (422); a campaign id can name nothing (404); a token can be wrong (401).
    Any can fail (500), or find a SQLite store locked past its busy timeout (503).
    """
    statuses = {*endpoint.problems, 500, 503}
    if not endpoint.public:
        statuses.add(401)
    if endpoint.requests:
        statuses |= {400, 413, 415}
    if endpoint.query is not None:
        statuses.add(422)
    if _PATH_PARAMETER.search(endpoint.path):
        statuses.add(404)
    return sorted(statuses)


# Path parameters are ids (UUIDs) unless named here.
_UUID: Final[Mapping[str, Any]] = {"type": "string", "format": "uuid"}
_PATH_SCHEMAS: Final[Mapping[str, Mapping[str, Any]]] = {
    "session": {"type": "string", "pattern": SESSION_NAME_PATTERN},
    "phone": {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "International, e.g. +4915112345678",
    },
}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _operation(endpoint: Endpoint, schemas: _Schemas) -> dict[str, Any]:
    content = {
        media: {"schema": schemas.of(body, "serialization")}
        for media, body in endpoint.responses.items()
    }
    responses: dict[str, Any] = {}
    for status in (endpoint.status, *endpoint.also):
        responses[str(status)] = {"description": endpoint.summary, "content": content}
    responses.update({str(status): _problem(status) for status in problem_statuses(endpoint)})
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "responses": responses,
    }
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": dict(_PATH_SCHEMAS.get(name, _UUID)),
        }
        for name in _PATH_PARAMETER.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += schemas.query_parameters(endpoint.query)
    parameters += [{**header, "in": "header"} for header in endpoint.headers]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.requests:
        operation["requestBody"] = {
            "required": endpoint.body_required or endpoint.status == HTTPStatus.CREATED,
            "content": {
                media: _request_content(media, body, schemas.of(body, "validation"))
                for media, body in endpoint.requests.items()
            },
        }
    if endpoint.public:
        operation["security"] = []
    return operation


def _request_content(media: str, body: Body, schema: Mapping[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": dict(schema)}
    if media == "multipart/form-data" and isinstance(body, type):
        content["encoding"] = {
            name: encoding
            for name, encoding in _MULTIPART_ENCODINGS.items()
            if name in body.model_fields
        }
    return content


def openapi_document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of `endpoints`."""
    endpoints = list(endpoints)
    schemas = _Schemas(endpoints)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "waha-campaigns",
            "version": _version(),
            "description": (
                "Event-sourced WhatsApp campaigns over WAHA. Every route but /healthz and "
                "/webhooks/waha needs Authorization: Bearer <CAMPAIGNS_API_TOKEN>. Errors are "
                "application/problem+json (RFC 9457)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
