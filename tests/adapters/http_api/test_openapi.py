"""/openapi.json: a valid OpenAPI 3.1 document that covers every route and matches the answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema
from openapi_spec_validator import validate

from adapters.http_api.routes import ENDPOINTS
from tests.adapters.http_api.conftest import PNG, Client, create, finish_runs
from tests.adapters.http_api.test_uploads import image_form
from tests.fakes.system import ManualClock


async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    found: dict[str, Any] = await response.json()
    return found


def check(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    """Validate `body` against the schema the document gives for this answer."""
    responses = doc["paths"][path][method]["responses"][str(status)]
    content = responses["content"]
    schema = next(iter(content.values()))["schema"]
    validator = jsonschema.Draft202012Validator(
        {**schema, "components": doc["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(body)


async def test_the_document_is_valid_openapi(client: Client) -> None:
    validate(await document(client))


async def test_the_document_covers_every_route(client: Client) -> None:
    doc = await document(client)

    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(e.method, e.path) for e in ENDPOINTS}
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert "security" not in doc["paths"]["/campaigns"]["get"]


async def test_the_contacts_file_form_is_documented(client: Client) -> None:
    doc = await document(client)

    content = doc["paths"]["/campaigns"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert content["multipart/form-data"]["encoding"]["contacts"] == {
        "contentType": "text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    }
    fields = doc["components"]["schemas"]["CampaignIn"]["properties"]
    assert {"phone_column", "encoding"} <= fields.keys()
    created = doc["components"]["schemas"]["CampaignCreatedOut"]
    assert "warnings" in created["required"]


async def test_answers_match_their_documented_schemas(client: Client, clock: ManualClock) -> None:
    doc = await document(client)
    created = await create(client, scheduled_for=(clock.now() + timedelta(days=1)).isoformat())
    check(doc, "/campaigns", "post", 201, created)
    done = await create(client, name="now")
    await finish_runs(client)
    one = f"/campaigns/{done['id']}"

    check(doc, "/campaigns", "get", 200, await (await client.get("/campaigns")).json())
    check(doc, "/campaigns/{campaign_id}", "get", 200, await (await client.get(one)).json())
    events = await (await client.get(f"{one}/events")).json()
    check(doc, "/campaigns/{campaign_id}/events", "get", 200, events)
    contacts = await (await client.get(f"{one}/contacts")).json()
    check(doc, "/campaigns/{campaign_id}/contacts", "get", 200, contacts)
    check(doc, "/events", "get", 200, await (await client.get("/events")).json())
    media = await (await client.post("/media", data=image_form(PNG))).json()
    check(doc, "/media", "post", 201, media)
    cancelled = await (await client.post(f"/campaigns/{created['id']}/cancel")).json()
    check(doc, "/campaigns/{campaign_id}/cancel", "post", 200, cancelled)
    check(doc, "/healthz", "get", 200, await (await client.get("/healthz")).json())


async def test_problems_match_their_documented_schema(client: Client) -> None:
    doc = await document(client)
    response = await client.post("/campaigns", json={"contacts": []})

    check(doc, "/campaigns", "post", 422, await response.json())


async def test_required_fields_and_non_empty_texts_are_marked(client: Client) -> None:
    schemas = (await document(client))["components"]["schemas"]

    campaign = schemas["CampaignIn"]
    assert {"name", "message", "contacts"} <= set(campaign["required"])
    assert campaign["properties"]["name"]["minLength"] == 1
    assert campaign["properties"]["contacts"]["minItems"] == 1
    assert "text" in schemas["MessageIn"]["required"]
    assert schemas["MessageIn"]["properties"]["text"]["minLength"] == 1


async def test_the_form_parts_are_named_and_typed(client: Client) -> None:
    doc = await document(client)
    schemas = doc["components"]["schemas"]

    upload = schemas["CampaignUpload"]
    assert set(upload["required"]) == {"campaign", "contacts"}
    assert upload["properties"]["campaign"]["$ref"].endswith("/CampaignFields")
    assert upload["properties"]["contacts"]["format"] == "binary"
    assert upload["additionalProperties"] is False
    media = schemas["MediaUpload"]
    assert media["required"] == ["file"]
    assert media["properties"]["file"]["format"] == "binary"
    encoding = doc["paths"]["/media"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert encoding["encoding"]["file"]["contentType"].startswith("image/png")


async def test_every_body_too_large_is_documented_with_its_limit(client: Client) -> None:
    doc = await document(client)

    for path, method in (("/campaigns", "post"), ("/media", "post"), ("/webhooks/waha", "post")):
        assert "413" in doc["paths"][path][method]["responses"]
    assert "max_bytes" in doc["components"]["schemas"]["Problem"]["properties"]
