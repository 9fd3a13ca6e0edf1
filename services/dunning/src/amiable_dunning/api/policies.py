"""A tenant's dunning policies: list, publish, activate, and the what-if simulation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import yaml
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from amiable_demo.ndjson import from_line
from amiable_dunning.app.policies import ClaimFilter, PolicyHandler, Simulated
from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.simulate import ClaimRun, Totals, by_track
from amiable_events.auth import Principal, require_scope
from amiable_events.envelope import DecodeError
from amiable_events.errors import FieldError, Invalid, UnsupportedMediaType
from amiable_events.http import CommandRequest, command_request

router = APIRouter(tags=["policies"])

ReaderDep = Annotated[Principal, Depends(require_scope("dunning:read"))]
WriterDep = Annotated[CommandRequest, Depends(command_request("dunning:write"))]
PolicyIdPath = Annotated[str, Path(description="The policy's id", max_length=100)]
ERRORS = {503: {"description": "The log or the read model is unavailable; retry"}}
INVALID = {422: {"description": "Invalid fields, each with its path and the reason"}}


async def _handler(request: Request) -> PolicyHandler:
    return request.app.state.policies


HandlerDep = Annotated[PolicyHandler, Depends(_handler)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyVersion(BaseModel):
    policy_id: str
    version: str
    published_at: datetime | None = Field(description="None for the shipped default")
    shipped_default: bool
    active: bool = Field(description="Plans made now follow this version")
    activated_at: datetime | None = Field(description="Its latest activation")


class PolicyList(BaseModel):
    active: PolicyVersion
    items: list[PolicyVersion]


class PublishedOut(BaseModel):
    policy_id: str
    version: str


class ActivateIn(_In):
    version: str = Field(min_length=1, max_length=100)


class ClaimsIn(_In):
    """Which claims of the service's projection to replay (at most 20,000)."""

    all: bool = False
    claim_ids: list[uuid.UUID] | None = Field(None, max_length=20_000)
    debtor_id: str | None = None
    status: Literal["waiting", "active", "paused", "stopped", "escalated", "completed"] | None = (
        None
    )


class SimulateIn(_In):
    version: str | None = Field(None, description="A version of this policy id to try")
    document: dict[str, Any] | None = Field(None, description="Or a policy document to try")
    claims: ClaimsIn | None = None
    history: str | None = Field(
        None,
        description="Or an event history: NDJSON, one CloudEvent a line, as `amiable demo "
        "generate --out` writes it; only this tenant's events are replayed",
    )
    until: datetime | None = Field(
        None, description="Timers fire up to here; default 120 days after the last event"
    )
    claims_listed: int = Field(100, ge=0, le=20_000, description="How many claims to detail")


# Not named StepOut: models.StepOut (a planned step) has that name, and two schemas of one name
# collide in a client generated from the OpenAPI document.
class SimulatedStepOut(BaseModel):
    key: str
    action: str
    stage: str
    day: str
    outcome: Literal["sent", "skipped", "awaiting_approval"]
    reason: str | None


class RunOut(BaseModel):
    track: str
    contacts: int
    reminders: int
    days_to_first_contact: int | None
    steps: list[SimulatedStepOut]

    @classmethod
    def of(cls, run: ClaimRun) -> RunOut:
        return cls(
            track=run.track,
            contacts=run.contacts,
            reminders=run.reminders,
            days_to_first_contact=run.days_to_first_contact,
            steps=[
                SimulatedStepOut(
                    key=s.key,
                    action=s.action,
                    stage=s.stage,
                    day=s.day.isoformat(),
                    outcome=s.outcome,
                    reason=s.reason,
                )
                for s in run.steps
            ],
        )


class ClaimOut(BaseModel):
    claim_id: str
    debtor_id: str
    due_on: str
    candidate: RunOut
    active: RunOut


class TotalsOut(BaseModel):
    claims: int
    contacted: int = Field(description="Claims with at least one step sent")
    sent: int = Field(description="Steps sent: the contacts made")
    skipped: int
    awaiting_approval: int
    reminders: int
    reminders_per_claim: float
    mean_days_to_first_contact: float | None
    median_days_to_first_contact: float | None


class PolicyResult(BaseModel):
    policy_id: str
    version: str
    totals: TotalsOut
    by_track: dict[str, TotalsOut]


class SimulationOut(BaseModel):
    candidate: PolicyResult
    active: PolicyResult
    claims_total: int
    claims: list[ClaimOut] = Field(description="The first claims_listed claims, by claim id")


def _totals(totals: Totals) -> TotalsOut:
    return TotalsOut(**totals.__dict__)


def _result(policy: Policy, runs: list[ClaimRun]) -> PolicyResult:
    tracks = by_track(runs)
    return PolicyResult(
        policy_id=policy.id,
        version=policy.version,
        totals=_totals(tracks.pop("total")),
        by_track={track: _totals(totals) for track, totals in tracks.items()},
    )


def present_simulation(simulated: Simulated, listed: int) -> SimulationOut:
    active = {run.claim_id: run for run in simulated.active_runs}
    runs = sorted(simulated.candidate_runs, key=lambda run: run.claim_id)
    return SimulationOut(
        candidate=_result(simulated.candidate, simulated.candidate_runs),
        active=_result(simulated.active, simulated.active_runs),
        claims_total=len(runs),
        claims=[
            ClaimOut(
                claim_id=run.claim_id,
                debtor_id=run.debtor_id,
                due_on=run.due_on.isoformat(),
                candidate=RunOut.of(run),
                active=RunOut.of(active[run.claim_id]),
            )
            for run in runs[:listed]
        ],
    )


def validated(data: Any, prefix: tuple = ()) -> Policy:
    """The policy, or a 422 naming each faulty field's path and the reason."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            [
                FieldError(
                    ".".join(str(part) for part in (*prefix, *error["loc"])) or "body",
                    error["msg"],
                )
                for error in exc.errors()
            ]
        ) from exc


async def _document(request: Request) -> Any:
    body = await request.body()
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        if media == "application/json":
            return orjson.loads(body)
        if media in ("application/yaml", "application/x-yaml", "text/yaml"):
            return yaml.safe_load(body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise Invalid.field("body", f"not a {media} document: {exc}") from exc
    raise UnsupportedMediaType(f"{media}: send application/json or application/yaml")


@router.get(
    "/v1/policies",
    operation_id="listDunningPolicies",
    responses=ERRORS,
    summary="The tenant's published policy versions and the shipped default; which one "
    "plans made now follow",
)
async def list_policies(principal: ReaderDep, handler: HandlerDep) -> PolicyList:
    rows, active = await handler.listing(principal.tenant)
    default = handler.default
    in_force = (active["policy_id"], active["version"]) if active else (default.id, default.version)
    items = [
        PolicyVersion(
            policy_id=default.id,
            version=default.version,
            published_at=None,
            shipped_default=True,
            active=active is None,
            activated_at=None,
        )
    ]
    items += [
        PolicyVersion(
            policy_id=row["policy_id"],
            version=row["version"],
            published_at=row["published_at"],
            shipped_default=False,
            active=active is not None and (row["policy_id"], row["version"]) == in_force,
            activated_at=row["activated_at"],
        )
        for row in rows
    ]
    return PolicyList(active=next(item for item in items if item.active), items=items)


@router.post(
    "/v1/policies",
    operation_id="publishDunningPolicy",
    status_code=201,
    responses={
        **ERRORS,
        **INVALID,
        409: {"description": "This version is published already with another document"},
        415: {"description": "Neither JSON nor YAML"},
    },
    summary="Publish a new policy version (JSON or YAML), validated; it applies once activated",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def publish(request: Request, command: WriterDep, handler: HandlerDep) -> PublishedOut:
    policy = validated(await _document(request))
    replayed = await handler.publish(
        command.tenant,
        policy,
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(policy),
    )
    command.answered(replayed)
    return PublishedOut(policy_id=policy.id, version=policy.version)


@router.post(
    "/v1/policies/{policy_id}/activate",
    operation_id="activateDunningPolicy",
    responses={
        **ERRORS,
        **INVALID,
        404: {"description": "No such policy version for this tenant"},
    },
    summary="Plans made from now on follow this version (those made before keep theirs)",
)
async def activate(
    policy_id: PolicyIdPath, body: ActivateIn, command: WriterDep, handler: HandlerDep
) -> PolicyVersion:
    replayed = await handler.activate(
        command.tenant,
        policy_id,
        body.version,
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    listed = await list_policies(command.principal, handler)
    return next(
        item for item in listed.items if (item.policy_id, item.version) == (policy_id, body.version)
    )


@router.post(
    "/v1/policies/{policy_id}/simulate",
    operation_id="simulateDunningPolicy",
    responses={
        **ERRORS,
        **INVALID,
        404: {"description": "No such policy version for this tenant"},
        413: {"description": "The body is over the service's limit"},
    },
    summary="What-if: replay claims or an uploaded history against a candidate version and "
    "against the active one, in memory; nothing is appended",
)
async def simulate(
    policy_id: PolicyIdPath, body: SimulateIn, principal: ReaderDep, handler: HandlerDep
) -> SimulationOut:
    tenant = principal.tenant
    # Rules across fields are answered here, each naming its field: as model validators they
    # would refuse a body the published schema accepts, with no field to point at.
    if (body.version is None) == (body.document is None):
        raise Invalid.field("version", "give the candidate policy: version or document, not both")
    if (body.claims is None) == (body.history is None):
        raise Invalid.field("claims", "give what to replay: claims or history, not both")
    if body.claims is not None and not (
        body.claims.all or body.claims.claim_ids or body.claims.debtor_id or body.claims.status
    ):
        raise Invalid.field(
            "claims", "say which claims: claim_ids, debtor_id, status, or all: true"
        )
    if body.document is not None:
        candidate = validated(body.document, ("document",))
        if candidate.id != policy_id:
            raise Invalid.field("document.id", f"the document is policy {candidate.id}")
    else:
        candidate = await handler.version(tenant, policy_id, body.version)
    history = None if body.history is None else _history(body.history)
    claims = None
    if body.claims is not None:
        claims = ClaimFilter(
            claim_ids=frozenset(body.claims.claim_ids) if body.claims.claim_ids else None,
            debtor_id=body.claims.debtor_id,
            status=body.claims.status,
        )
    simulated = await handler.simulate(
        tenant, candidate, history=history, claims=claims, until=body.until
    )
    return present_simulation(simulated, body.claims_listed)


def _history(text: str) -> list:
    envelopes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            envelopes.append(from_line(line))
        except (DecodeError, ValueError, KeyError) as exc:
            raise Invalid.field("history", f"line {number} is not an event: {exc}") from exc
    return envelopes
