"""``amiable demo generate``: a seeded claim history (amiable_demo) to a file or onto the log."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

demo_app = typer.Typer(no_args_is_help=True, help="Demo data: seeded claim histories.")


def _mix(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        return {
            name.strip(): float(weight)
            for name, _, weight in (part.partition("=") for part in text.split(","))
        }
    except ValueError as exc:
        raise typer.BadParameter("NAME=WEIGHT,NAME=WEIGHT...") from exc


@demo_app.command("generate")
def generate(
    claims: Annotated[int, typer.Option(help="how many claims")] = 2_000,
    seed: Annotated[int, typer.Option(help="same seed, same history, byte for byte")] = 1,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="first day of the history")
    ] = datetime(2023, 1, 2),
    months: Annotated[int, typer.Option(help="length of the history")] = 36,
    tenants: Annotated[
        str, typer.Option(help="comma-separated creditors; each has its own governing law")
    ] = "demo-creditor",
    mix: Annotated[
        str | None,
        typer.Option(
            help="share of debtors per behaviour, e.g. reliable=60,insolvent=40 "
            "(default: 40 reliable, 12 slowing, 14 chronic_late_payer, "
            "12 loyal_temporary_difficulty, 12 disputing, 10 insolvent)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write NDJSON (one structured CloudEvent a line)")
    ] = None,
    to_log: Annotated[
        bool,
        typer.Option(
            help="append to the claim log (AMIABLE_KAFKA_BOOTSTRAP, AMIABLE_TOPIC) and put the "
            "debtors' keys in the key store, so the services open their contacts"
        ),
    ] = False,
    chunk: Annotated[int, typer.Option(help="events per append to the log")] = 5_000,
) -> None:
    """Generate claim histories of debtors that pay on time, slow down, pay chronically late,
    hit a squeeze, dispute or go insolvent, in FR, DE, NL, SE, IN, JP, AE, US, GB, ES and IT."""
    from amiable_demo.generate import Plan
    from amiable_demo.generate import generate as generate_history

    if out is None and not to_log:
        raise typer.BadParameter("say where: --out FILE, --to-log, or both")
    plan = Plan(
        claims=claims,
        seed=seed,
        start=start.date(),
        months=months,
        tenants=tuple(t.strip() for t in tenants.split(",") if t.strip()),
        **({"mix": weights} if (weights := _mix(mix)) else {}),
    )
    try:
        history = generate_history(plan)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    envelopes = history.envelopes
    behaviours = Counter(debtor.behaviour for debtor in history.debtors)
    typer.echo(
        f"{claims} claims of {len(history.debtors)} debtors, {len(envelopes)} events, "
        f"{plan.start.isoformat()} to {plan.end.isoformat()} (seed {seed})"
    )
    typer.echo("debtors: " + ", ".join(f"{n} {name}" for name, n in sorted(behaviours.items())))
    if out is not None:
        from amiable_demo.ndjson import write_ndjson

        write_ndjson(envelopes, out)
        typer.echo(f"wrote {out}")
    if to_log:
        topic = asyncio.run(_to_log(envelopes, history.keys(), chunk))
        typer.echo(f"appended {len(envelopes)} events to {topic}")


async def _to_log(envelopes, keys: dict[str, bytes], chunk: int) -> str:
    from amiable_events.personal import key_store
    from amiable_events.producer import EventLog
    from amiable_events.service import key_store_engine
    from amiable_events.settings import ServiceSettings

    settings = ServiceSettings()
    engine = key_store_engine(settings, pool_size=1)
    try:
        store = key_store(settings, engine)
        await store.create_schema()
        # An account that has a key keeps it: its data sealed before stays readable (the
        # demo's values of that account then read as erased).
        await store.put(keys)
    finally:
        await engine.dispose()
    log = EventLog(settings.kafka_bootstrap, topic=settings.topic, client_id="amiable-demo")
    await log.start()
    try:
        with typer.progressbar(length=len(envelopes), label=f"appending to {log.topic}") as bar:
            for part in _chunks(envelopes, chunk):
                await log.append(part)
                bar.update(len(part))
    finally:
        await log.stop()
    return log.topic


def _chunks(envelopes, size: int):
    """Runs of about ``size`` envelopes, a command's events never split between two appends:
    each append lands all or none of them, as the service's own does."""
    first = 0
    while first < len(envelopes):
        last = min(first + size, len(envelopes))
        while last < len(envelopes) and envelopes[last].causation_id is not None:
            last += 1
        yield envelopes[first:last]
        first = last
