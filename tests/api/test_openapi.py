"""The OpenAPI 3 document and its Swagger UI, served from this app (no CDN)."""

import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

PAYMENT_PATHS = {
    "/api/v1/auth/token": {"post"},
    "/api/v1/accounts": {"get"},
    "/api/v1/payments": {"get", "post"},
    "/api/v1/payments/{payment_id}": {"get"},
    "/api/v1/payments/{payment_id}/approve": {"post"},
    "/api/v1/payments/{payment_id}/reject": {"post"},
    "/api/v1/payments/{payment_id}/cancel": {"post"},
    "/api/v1/payments/{payment_id}/events": {"get"},
}
COMMANDS = [path for path, methods in PAYMENT_PATHS.items() if "post" in methods]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_3_document(schema):
    # then
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_is_served_as_yaml_by_default(client):
    # when
    response = client.get("/api/v1/schema")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_describes_every_payments_endpoint(schema):
    # then
    for path, methods in PAYMENT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= schema["paths"][path].keys(), path


@pytest.mark.parametrize("path", [p for p in COMMANDS if "auth" not in p])
def test_every_command_documents_the_idempotency_key_header(schema, path):
    # when
    parameters = schema["paths"][path]["post"]["parameters"]

    # then
    [header] = [p for p in parameters if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header"
    assert header["schema"]["type"] == "string"
    assert "replays" in header["description"]


@pytest.mark.parametrize("path", [p for p in COMMANDS if "auth" not in p])
def test_every_command_documents_its_problem_responses(schema, path):
    # when
    responses = schema["paths"][path]["post"]["responses"]

    # then
    for status in ("400", "401", "403", "404", "409", "415", "422", "429"):
        [content] = responses[status]["content"].values()
        assert content["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_problem_schema_has_the_rfc_9457_members(schema):
    # when
    problem = schema["components"]["schemas"]["Problem"]

    # then
    assert {"type", "title", "status", "detail"} <= problem["properties"].keys()
    assert problem["properties"]["status"]["type"] == "integer"


def test_amounts_are_documented_as_integers(schema):
    # when
    components = schema["components"]["schemas"]

    # then
    assert components["PaymentSubmitRequest"]["properties"]["amount"]["type"] == (
        "integer"
    )
    assert components["Payment"]["properties"]["amount"]["type"] == "integer"


def test_the_list_documents_its_status_filter_and_cursor(schema):
    # when
    parameters = {
        p["name"]: p for p in schema["paths"]["/api/v1/payments"]["get"]["parameters"]
    }

    # then
    assert set(parameters["status"]["schema"]["enum"]) == {
        "pending_approval",
        "approved",
        "rejected",
        "cancelled",
        "released",
        "settled",
    }
    assert parameters["cursor"]["in"] == "query"
    assert parameters["page_size"]["schema"]["type"] == "integer"
    assert "400" in schema["paths"]["/api/v1/payments"]["get"]["responses"]


@pytest.mark.parametrize(
    ("path", "members"),
    [
        ("/api/v1/payments", {"next", "previous", "results"}),
        ("/api/v1/accounts", {"results"}),
        ("/api/v1/payments/{payment_id}/events", {"results"}),
    ],
)
def test_list_responses_are_documented_as_the_objects_they_are(schema, path, members):
    # when
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]
    ref = content["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

    # then
    assert body["type"] == "object"
    assert body["properties"].keys() == members
    assert body["properties"]["results"]["type"] == "array"


def test_token_and_session_auth_are_documented(schema):
    # when
    schemes = schema["components"]["securitySchemes"]

    # then
    assert schemes["tokenAuth"]["name"] == "Authorization"
    assert schemes["cookieAuth"]["in"] == "cookie"


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'<(?:script|link|img)\b[^>]*?(?:src|href)="([^"]+)"', html)


def test_the_docs_page_uses_only_local_assets(client):
    # when
    response = client.get("/api/v1/docs")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = _asset_urls(html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    assert any(url.endswith("swagger-ui.css") for url in assets)
    assert all(url.startswith("/") and not url.startswith("//") for url in assets)
    assert not re.search(r"https?://", html)
    assert 'url: "/api/v1/schema"' in html


def test_the_docs_assets_ship_with_the_app(client):
    # given
    html = client.get("/api/v1/docs").content.decode()

    # when
    missing = [
        url
        for url in _asset_urls(html)
        if not finders.find(url.removeprefix("/static/"))
    ]

    # then
    assert missing == []
