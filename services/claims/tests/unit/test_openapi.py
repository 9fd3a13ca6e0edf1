"""The OpenAPI document other teams build on: every operation named, documented, exemplified."""

from __future__ import annotations

from amiable_claims.main import SERVICE
from amiable_claims.settings import ClaimsSettings
from amiable_events.service import build_app

SPEC = build_app(SERVICE, ClaimsSettings(env="dev")).openapi()
OPERATIONS = [
    (path, method, op) for path, ops in SPEC["paths"].items() for method, op in ops.items()
]


def test_every_operation_has_a_stable_id_and_a_description():
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))
    undocumented = [
        op["operationId"]
        for path, _, op in OPERATIONS
        if not op.get("description") and not path.startswith(("/healthz", "/readyz"))
    ]
    assert undocumented == []


def test_every_request_body_has_an_example():
    schemas = SPEC["components"]["schemas"]
    missing = []
    for path, method, op in OPERATIONS:
        for content_type, content in op.get("requestBody", {}).get("content", {}).items():
            schema = content.get("schema", {})
            ref = schema.get("$ref", "")
            exemplified = any("example" in part or "examples" in part for part in (content, schema))
            if ref:
                exemplified = exemplified or "examples" in schemas[ref.split("/")[-1]]
            if not exemplified:
                missing.append(f"{method.upper()} {path} {content_type}")
    assert missing == []


def test_the_issue_s_endpoints_are_all_there():
    ids = {op["operationId"] for _, _, op in OPERATIONS}
    assert {
        "registerClaim",
        "importClaims",
        "getClaim",
        "listClaims",
        "amendClaim",
        "requalifyClaim",
        "recordPayment",
        "agreePaymentPlan",
        "recordPromise",
        "writeOffClaim",
        "cancelClaim",
        "adjustClaim",
        "recordAcknowledgement",
        "getAmountDue",
        "getClaimTimeline",
        "getDebtorStatement",
        "getAgedBalance",
        "getPortfolioKpis",
    } <= ids


def test_every_operation_documents_its_problems_as_problem_json():
    """Issue 7: problem+json has a schema for 400, 401, 403, 404, 409, 413, 415, 422 and 503,
    in place of FastAPI's default 422 shape (which the service never sends)."""
    assert "HTTPValidationError" not in SPEC["components"]["schemas"]
    problem = SPEC["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    missing = [
        f"{method.upper()} {path} {status}"
        for path, method, op in OPERATIONS
        for status in ("400", "401", "403", "404", "409", "413", "415", "422", "503")
        if list(op["responses"].get(status, {}).get("content", {})) != ["application/problem+json"]
    ]
    assert missing == []


def test_the_schema_states_every_bound_the_service_checks():
    """No schema-valid request is refused for its shape: each bound is in the schema."""
    schemas = SPEC["components"]["schemas"]
    claim = schemas["ClaimIn"]["properties"]
    assert "pattern" in claim["invoice_number"]
    assert claim["issued_on"]["pattern"].startswith("^(201")
    assert claim["amount"]["pattern"] == r"^[0-9]{1,16}(\.[0-9]{1,4})?$"
    assert "EUR" in claim["currency"]["enum"]
    debtor = schemas["DebtorIn"]["properties"]
    assert "Europe/Paris" in debtor["timezone"]["anyOf"][0]["enum"]
    email = schemas["ContactIn"]["properties"]["email"]["anyOf"][0]
    assert "pattern" in email and "format" not in email
    listing = {p["name"]: p for p in SPEC["paths"]["/v1/claims"]["get"]["parameters"]}
    assert listing["cursor"]["schema"]["pattern"]
    # An optional parameter is left out, never the text 'null'.
    headers = {p["name"]: p for p in SPEC["paths"]["/v1/claims"]["post"]["parameters"]}
    assert headers["X-Correlation-Id"]["schema"] == {
        "type": "string",
        "format": "uuid",
        "title": "X-Correlation-Id",
    }


def test_the_import_documents_each_media_type_it_takes_and_each_answer():
    """Issue 7: the import's bodies are text of the three media types the route reads, and its
    own answers (the per-row report, and a 422 for a file without a usable CSV header) are
    documented besides the kit's problems."""
    from amiable_claims.api.imports import MEDIA_TYPES

    operation = SPEC["paths"]["/v1/claims:import"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == set(MEDIA_TYPES)
    assert all(body["schema"]["type"] == "string" and body["example"] for body in content.values())
    responses = operation["responses"]
    assert list(responses["200"]["content"]) == ["application/json"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportResult"
    }
    assert "`header`" in responses["422"]["description"]
    assert "charset" in responses["415"]["description"]
