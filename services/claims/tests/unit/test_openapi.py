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
