"""The risk service's own commands, mounted by ``amiable`` under ``amiable risk``
(``Service.commands``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

commands = typer.Typer(no_args_is_help=True)


@commands.callback()
def risk() -> None:
    """Risk scoring: backtest the scorecard against the history."""


@commands.command()
def backtest(
    file: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="an NDJSON history (amiable demo generate --out)"
        ),
    ] = None,
    from_log: Annotated[
        bool,
        typer.Option(help="replay the claim log (AMIABLE_KAFKA_BOOTSTRAP, AMIABLE_TOPIC)"),
    ] = True,
    scorecard: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="a scorecard file; default: AMIABLE_SCORECARD"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """How well the grade at qualification predicted 'paid more than 30 days late': AUC and a
    grade-by-outcome table, over the claims whose outcome is known."""
    from amiable_demo.ndjson import read_ndjson
    from amiable_events.kafka import client_security
    from amiable_risk.app.backtest import backtest as run_backtest
    from amiable_risk.app.backtest import backtest_log
    from amiable_risk.domain.scorecard import Scorecard
    from amiable_risk.settings import ReplaySettings

    settings = ReplaySettings()
    card = Scorecard.load(scorecard or settings.scorecard)
    if file is not None:
        report = run_backtest(read_ndjson(file), card)
    elif from_log:
        report = asyncio.run(
            backtest_log(
                settings.kafka_bootstrap,
                settings.topic,
                card,
                kafka_options=client_security(settings),
            )
        )
    else:
        raise typer.BadParameter("say what to replay: --from-log or --file NDJSON")
    typer.echo(json.dumps(report.as_json(), indent=2) if as_json else report.table())
