"""The dunning service's own commands, mounted by ``amiable`` under ``amiable dunning``
(``Service.commands``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic_settings import BaseSettings, SettingsConfigDict

from amiable_events.settings import FigureSettings

commands = typer.Typer(no_args_is_help=True)

_FIGURES = FigureSettings.model_fields


class SimulationSettings(BaseSettings):
    """What a simulation needs (``amiable dunning simulate``): the figures and the policy in
    force; it serves nothing, so it needs no token secret and no database."""

    model_config = SettingsConfigDict(env_prefix="AMIABLE_", extra="ignore")

    dunning_policy: Path | None = None
    payment_allocation: str = _FIGURES["payment_allocation"]
    default_governing_law: str = _FIGURES["default_governing_law"]
    tenant_governing_law: dict[str, str] = _FIGURES["tenant_governing_law"]
    suspend_interest_on_respected_plan: bool = _FIGURES["suspend_interest_on_respected_plan"]


@commands.callback()
def dunning() -> None:
    """Dunning: try a policy on a claim history before publishing it."""


@commands.command()
def simulate(
    history: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="an NDJSON history (amiable demo generate --out)"
        ),
    ],
    policy: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="the candidate policy (YAML); default: the policy in force",
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="timers fire up to this day; default 120 days after the last event",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the totals as JSON")] = False,
) -> None:
    """Replay the history in memory against the candidate policy and against the policy in
    force (AMIABLE_DUNNING_POLICY, else the shipped one), and print each track's totals side by
    side: contacts, skipped steps, approvals, reminders per claim, days to first contact."""
    from amiable_demo.ndjson import read_ndjson
    from amiable_dunning.domain.policy import Policy
    from amiable_dunning.domain.simulate import by_track
    from amiable_dunning.domain.simulate import simulate as replay
    from amiable_events.ledger import Figures

    settings = SimulationSettings()
    figures = Figures.from_settings(settings)
    active = Policy.load(settings.dunning_policy)
    try:
        candidate = Policy.load(policy) if policy is not None else active
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--policy") from exc
    events = list(read_ndjson(history))
    horizon = until.replace(tzinfo=UTC) if until is not None else None
    totals = {
        name: by_track(replay(events, chosen, figures, until=horizon))
        for name, chosen in (("candidate", candidate), ("active", active))
    }
    if as_json:
        payload = {
            name: {
                "policy": {"id": chosen.id, "version": chosen.version},
                "by_track": {track: asdict(t) for track, t in totals[name].items()},
            }
            for name, chosen in (("candidate", candidate), ("active", active))
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(
        f"candidate {candidate.id} {candidate.version} | active {active.id} {active.version}"
    )
    typer.echo(table(totals["candidate"], totals["active"]))


_COLUMNS = (
    ("claims", "claims"),
    ("contacted", "contacted"),
    ("contacts", "sent"),
    ("skipped", "skipped"),
    ("approvals", "awaiting_approval"),
    ("reminders/claim", "reminders_per_claim"),
    ("days to 1st (mean)", "mean_days_to_first_contact"),
    ("(median)", "median_days_to_first_contact"),
)


def table(candidate: dict, active: dict) -> str:
    """One line per track, each figure as ``candidate | active``."""

    def cell(value) -> str:
        return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    tracks = [t for t in candidate if t != "total"]
    tracks += [t for t in active if t not in candidate and t != "total"]
    rows = [["track", *(title for title, _ in _COLUMNS)]]
    for track in (*tracks, "total"):
        mine, theirs = candidate.get(track), active.get(track)
        rows.append(
            [
                track,
                *(
                    f"{cell(getattr(mine, field, None))} | {cell(getattr(theirs, field, None))}"
                    for _, field in _COLUMNS
                ),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            text.ljust(width) if i == 0 else text.rjust(width)
            for i, (text, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )
