"""The OpenAPI document's names are the ones a generated client shows its callers.

openapi-python-client turns each operationId into a function and each component
into a class, so these names are part of the API: stable, and chosen by hand.
"""

import re

import pytest

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")

# The promise to callers: a client generated today and one generated tomorrow
# call the same functions. Change a name only with a new API version.
OPERATION_IDS = {
    ("post", "/api/v1/auth/token"): "token_obtain",
    ("get", "/api/v1/accounts"): "accounts_list",
    ("get", "/api/v1/payments"): "payments_list",
    ("post", "/api/v1/payments"): "payments_submit",
    ("get", "/api/v1/payments/{payment_id}"): "payments_retrieve",
    ("post", "/api/v1/payments/{payment_id}/approve"): "payments_approve",
    ("post", "/api/v1/payments/{payment_id}/reject"): "payments_reject",
    ("post", "/api/v1/payments/{payment_id}/cancel"): "payments_cancel",
    ("get", "/api/v1/payments/{payment_id}/events"): "payment_events_list",
    ("get", "/api/v1/ledger/accounts"): "ledger_accounts_list",
    ("get", "/api/v1/ledger/entries"): "ledger_entries_list",
    ("get", "/api/v1/notifications"): "notifications_list",
    ("get", "/api/v1/reconciliation/expectations"): "reconciliation_expectations_list",
    ("get", "/api/v1/consumers"): "consumers_list",
    ("get", "/api/v1/relay"): "relay_retrieve",
    ("get", "/api/v1/asyncapi.json"): "asyncapi_retrieve",
    ("get", "/api/v1/problems/{code}"): "problem_types_retrieve",
    ("post", "/api/v1/consumers/{name}/pause"): "consumers_pause",
    ("post", "/api/v1/consumers/{name}/reads"): "consumers_reads_set",
    (
        "post",
        "/api/v1/settlement-files/{file_id}/reprocess",
    ): "settlement_files_reprocess",
    ("post", "/api/v1/consumers/{name}/resume"): "consumers_resume",
    (
        "post",
        "/api/v1/consumers/{name}/dead-letters/redrive",
    ): "consumers_dead_letters_redrive",
    ("post", "/api/v1/relay/pause"): "relay_pause",
    ("post", "/api/v1/relay/resume"): "relay_resume",
    ("post", "/api/v1/events/{event_id}/redeliver"): "events_redeliver",
    (
        "post",
        "/api/v1/payments/{payment_id}/deliver-reversed",
    ): "payments_deliver_reversed",
    ("post", "/api/v1/event-versions/{event_type}"): "event_versions_switch",
    ("get", "/api/v1/settlement-files"): "settlement_files_list",
    ("post", "/api/v1/settlement-files"): "settlement_files_receive",
    ("get", "/api/v1/settlement-files/{file_id}"): "settlement_files_retrieve",
    ("get", "/api/v1/settlement-files/{file_id}/lines"): "settlement_file_lines_list",
    ("get", "/api/v1/settlement-lines"): "settlement_lines_list",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _component(schema, body: dict) -> dict:
    ref = body.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else body


def _is_list(schema, operation) -> bool:
    """A list answers an array, or an object whose `results` is one."""
    content = operation["responses"].get("200", {}).get("content", {})
    if "application/json" not in content:
        return False
    body = _component(schema, content["application/json"]["schema"])
    results = body.get("properties", {}).get("results", {})
    return body.get("type") == "array" or results.get("type") == "array"


def test_every_operation_has_the_id_callers_were_promised(schema):
    # when
    ids = {(method, path): o["operationId"] for method, path, o in _operations(schema)}

    # then
    assert ids == OPERATION_IDS


def test_operation_ids_are_unique_snake_case_words(schema):
    # when
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]

    # then
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not SNAKE_CASE.fullmatch(i)] == []
    # drf-spectacular's way out of a collision: payments_retrieve_2
    assert [i for i in ids if re.search(r"_\d+$", i)] == []
    # ...and the verbs it guesses for an APIView: *_create, *_retrieve
    assert [i for i in ids if i.endswith("_create")] == []


def test_lists_are_named_lists(schema):
    # when
    lists = [
        (path, operation["operationId"])
        for method, path, operation in _operations(schema)
        if method == "get" and _is_list(schema, operation)
    ]

    # then
    assert {path for path, _ in lists} >= {"/api/v1/accounts", "/api/v1/payments"}
    assert [i for _, i in lists if not i.endswith("_list") or "retrieve" in i] == []


def test_component_names_say_what_they_hold(schema):
    # when
    names = set(schema["components"]["schemas"])

    # then
    assert [n for n in names if "RequestRequest" in n] == []
    assert {"Problem", "TokenObtainRequest", "Token", "LedgerAccount"} <= names
    # Generic names a client would have to guess the meaning of.
    assert names.isdisjoint({"Account", "KindEnum", "StateEnum"})


def test_every_success_body_is_a_named_component(schema):
    # Inline objects come out of a generator as ProblemsRetrieveResponse200.
    inline = [
        operation["operationId"]
        for _, _, operation in _operations(schema)
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for content in response.get("content", {}).values()
        if "$ref" not in content["schema"]
    ]

    # then
    assert inline == []
