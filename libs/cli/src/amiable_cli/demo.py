"""``amiable demo generate``: a seeded claim history (amiable_demo) to a file or onto the log;
``amiable demo run``: a seeded portfolio played through the services' public APIs on a moved
clock (amiable_cli.demo_run)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

demo_app = typer.Typer(
    help="Demo data: seeded claim histories, and a portfolio played live (`amiable demo` alone "
    "is `amiable demo run` with its defaults)."
)
#: Real seconds the services usually take to start: the clock is set before they start so that
#: the moved time reaches the demo's first day about when they are ready (later, the history
#: starts on the moved day they were ready).
STARTUP_ALLOWANCE_S = 15.0


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


@demo_app.callback(invoke_without_command=True)
def demo(ctx: typer.Context) -> None:
    """`amiable demo` plays the default portfolio, as `amiable demo run` does."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@demo_app.command("run")
def run(
    claims: Annotated[int, typer.Option(help="how many claims the portfolio gets")] = 200,
    seed: Annotated[int, typer.Option(help="same seed, same debtors and actions")] = 1,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="first day of the history (default: today), never before the services' "
            "moved today",
        ),
    ] = None,
    months: Annotated[int, typer.Option(help="moved months the demo plays")] = 6,
    speed: Annotated[
        float, typer.Option(help="moved seconds per real second (86400: a day a second)")
    ] = 86_400,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="the creditor the portfolio belongs to (default: demo-<first day>-s<seed>, a "
            "tenant of its own, so that its KPIs are this demo's)"
        ),
    ] = None,
    no_start: Annotated[
        bool,
        typer.Option(
            "--no-start",
            help="drive services already running (compose): their clock is AMIABLE_CLOCK, "
            "their URLs the options below",
        ),
    ] = False,
    claims_url: Annotated[str, typer.Option(envvar="AMIABLE_DEMO_CLAIMS_URL")] = (
        "http://127.0.0.1:8001"
    ),
    risk_url: Annotated[str, typer.Option(envvar="AMIABLE_DEMO_RISK_URL")] = (
        "http://127.0.0.1:8002"
    ),
    dunning_url: Annotated[str, typer.Option(envvar="AMIABLE_DEMO_DUNNING_URL")] = (
        "http://127.0.0.1:8003"
    ),
    communications_url: Annotated[str, typer.Option(envvar="AMIABLE_DEMO_COMMUNICATIONS_URL")] = (
        "http://127.0.0.1:8004"
    ),
    disputes_url: Annotated[str, typer.Option(envvar="AMIABLE_DEMO_DISPUTES_URL")] = (
        "http://127.0.0.1:8005"
    ),
) -> None:
    """Play a portfolio of FR, DE, NL, IN, US, ES and IT debtors (reliable, slowing, chronic
    late, disputing, fragile, insolvent) through the public APIs while months of dunning,
    messages, disputes and payments pass in minutes; then print the KPIs. Starts the local
    stack and the five services on a moved clock unless --no-start; Ctrl-C stops the services
    it started (the stack keeps running)."""
    from amiable_cli.demo_run import Endpoints

    endpoints = Endpoints(claims_url, risk_url, dunning_url, communications_url, disputes_url)
    if no_start:
        clock_setting = os.environ.get("AMIABLE_CLOCK", "")
        if not clock_setting.startswith("accelerated:"):
            raise typer.BadParameter(
                "--no-start plays on the services' clock: set AMIABLE_CLOCK to the "
                "accelerated:<epoch>:<speed> they were started with"
            )
        with _stoppable():
            try:
                first_day = start and start.date()
                code = _play(claims, seed, first_day, months, tenant, endpoints, running=None)
            except KeyboardInterrupt:
                typer.echo("\nstopped", err=True)
                code = 130
        raise typer.Exit(code)
    with _stoppable():
        code = _start_and_play(claims, seed, start, months, speed, tenant, endpoints)
    raise typer.Exit(code)


@contextlib.contextmanager
def _stoppable():
    """Ctrl-C and SIGTERM stop the demo (KeyboardInterrupt), started in the background too:
    a background process inherits SIGINT ignored."""

    def on_term(_signum, _frame):
        raise KeyboardInterrupt

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_term),
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start_and_play(claims, seed, start, months, speed, tenant, endpoints) -> int:
    from amiable_cli import stack as local_stack
    from amiable_cli import supervise
    from amiable_demo.play import moved_clock
    from amiable_events.service import declared

    first_day = start.date() if start else date.today()
    # As `amiable run`: dev mode, the stack's mail sink and SMS fake, unless set.
    os.environ.setdefault("AMIABLE_ENV", "dev")
    config = local_stack.StackConfig.from_env()
    local_stack.up(config)
    os.environ.setdefault("AMIABLE_SMTP_HOST", config.smtp_host)
    os.environ.setdefault("AMIABLE_SMTP_PORT", str(config.smtp_port))
    os.environ.setdefault("AMIABLE_SMS_GATEWAY_URL", config.sms_gateway_url)
    # Timers looked at several times a moved day, not once: a step goes out in its hours.
    os.environ.setdefault("AMIABLE_TIMER_INTERVAL", str(min(1.0, 20_000 / speed)))
    ready_at = datetime.now(UTC) + timedelta(seconds=STARTUP_ALLOWANCE_S)
    os.environ["AMIABLE_CLOCK"] = moved_clock(first_day, speed, ready_at)
    services = declared()
    typer.echo(f"AMIABLE_CLOCK={os.environ['AMIABLE_CLOCK']}", err=True)
    typer.echo(f"starting {', '.join(services)}", err=True)
    running = []
    try:
        running = supervise.start((name, service.port) for name, service in services.items())
        supervise.wait_healthy(running)
        return _play(claims, seed, first_day, months, tenant, endpoints, running=running)
    except supervise.ServiceFailed as failure:
        typer.echo(f"\namiable demo run: {failure}; stopping the other services", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("\nstopped: the stack keeps running (`make stack-down` stops it)", err=True)
        return 130
    finally:
        # A second Ctrl-C must not leave services behind: stop them with signals ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervise.stop(running, log=lambda message: typer.echo(message, err=True))


def _play(
    claims, seed, start: date | None, months, tenant: str | None, endpoints, *, running
) -> int:
    from amiable_cli import supervise
    from amiable_cli.demo_run import play, print_outcome
    from amiable_demo.generate import generate as generate_history
    from amiable_demo.play import demo_plan, schedule
    from amiable_events.auth import issue_token
    from amiable_events.clock import clock_from_setting
    from amiable_events.kafka import client_security
    from amiable_events.service import declared
    from amiable_events.settings import ServiceSettings

    # A client of the services: dev unless told, so that `make run`'s dev secret signs its token
    # (a deployment's AMIABLE_JWT_SECRET, when set, wins).
    settings = ServiceSettings(env=os.environ.get("AMIABLE_ENV") or "dev")
    clock = clock_from_setting(settings.clock)
    # Not before the moved today: the services may have taken longer to start than allowed for.
    first_day = max(start or date.min, clock.now().date())
    tenant = tenant or f"demo-{first_day:%Y%m%d}-s{seed}"
    plan = demo_plan(claims=claims, seed=seed, start=first_day, months=months, tenant=tenant)
    history = generate_history(plan)
    actions = schedule(history)
    behaviours = Counter(debtor.behaviour for debtor in history.debtors)
    countries = Counter(debtor.country for debtor in history.debtors)
    typer.echo(
        f"{claims} claims of {len(history.debtors)} debtors, {len(actions)} actions, "
        f"{plan.start} to {plan.end} (seed {seed}, tenant {tenant})"
    )
    typer.echo("debtors: " + ", ".join(f"{n} {name}" for name, n in sorted(behaviours.items())))
    typer.echo("countries: " + ", ".join(f"{n} {c}" for c, n in sorted(countries.items())))
    scopes = list(dict.fromkeys(s for service in declared().values() for s in service.all_scopes))
    token = issue_token(settings.jwt_secret, tenant=tenant, scopes=scopes)
    typer.echo(f"token (tenant {tenant}, 8h):\n{token}")
    began = time.monotonic()
    outcome = asyncio.run(
        play(
            plan,
            actions,
            clock=clock,
            token=token,
            endpoints=endpoints,
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic,
            kafka_options=client_security(settings),
            progress=_progress_line(),
            alive=(lambda: supervise.check_alive(running)) if running else lambda: None,
        )
    )
    typer.echo("")
    print_outcome(outcome, typer.echo)
    typer.echo(f"played in {time.monotonic() - began:.0f} s")
    return 0


def _progress_line():
    """One line rewritten in place on a terminal; elsewhere (a pipe, a log) a line every 5 s."""
    if sys.stdout.isatty():

        def in_place(line: str) -> None:
            typer.echo(f"\r{line}\x1b[K", nl=False)
            sys.stdout.flush()

        return in_place
    last = [0.0]

    def every_few_seconds(line: str) -> None:
        if time.monotonic() - last[0] >= 5:
            typer.echo(line)
            sys.stdout.flush()  # a log or a pipe sees it now, not when the demo ends
            last[0] = time.monotonic()

    return every_few_seconds
