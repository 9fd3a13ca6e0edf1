"""``amiable``: the one operational entry point (local stack, services, tokens, projections)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from amiable_cli import stack as local_stack
from amiable_cli.demo import demo_app
from amiable_cli.keys import keys_app
from amiable_cli.mail import mail_app


@cache
def _service_commands() -> dict:
    """Each declared service's own commands (``Service.commands``), by service name."""
    mounted = {}
    for name, service in _declared().items():
        if service.commands is not None:
            mounted[name] = typer.main.get_command(service.commands)
            mounted[name].name = name  # the list of commands shows it by this name
    return mounted


class _Commands(TyperGroup):
    """The CLI's commands, then each service's own under its name (``amiable risk ...``): the
    services are loaded only when one of theirs is asked for, or the list of commands."""

    def list_commands(self, ctx):
        return [*super().list_commands(ctx), *_service_commands()]

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or _service_commands().get(name)


app = typer.Typer(
    cls=_Commands, no_args_is_help=True, help="Operate amiable: stack, services, projections."
)
stack_app = typer.Typer(
    no_args_is_help=True,
    help="The local stack: Kafka, PostgreSQL, a mail sink and a fake SMS gateway.",
)
events_app = typer.Typer(no_args_is_help=True, help="Read the claim event log.")
app.add_typer(stack_app, name="stack")
app.add_typer(events_app, name="events")
app.add_typer(demo_app, name="demo")
app.add_typer(mail_app, name="mail")
app.add_typer(keys_app, name="keys")


def _declared():
    from amiable_events.service import declared

    return declared()


ServiceArg = Annotated[str, typer.Argument(help="a declared service: claims, ...")]


def _service(name: str):
    """The service ``name``, importing only its own package when its entry point has its name:
    a service process (and each one a test starts) need not import the other four."""
    from importlib.metadata import entry_points

    from amiable_events.service import ENTRY_POINT_GROUP, Service

    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        service = point.load()
        if isinstance(service, Service) and service.name == name:
            return service
    services = _declared()
    if name not in services:
        raise typer.BadParameter(f"unknown service {name!r}; known: {', '.join(services)}")
    return services[name]


def _on_store(service, work):
    """Run ``work(settings, engine, store)`` against a service's projection, then clean up."""

    async def run():
        from amiable_events.db import create_engine

        settings = service.settings()
        engine = create_engine(settings.database_url, service.database_of(settings))
        try:
            store = service.store(settings, engine)
            await store.resolve()  # the schema of this version's shape
            return await work(settings, engine, store)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@stack_app.command("up")
def stack_up() -> None:
    """Start Kafka, PostgreSQL, the mail sink and the SMS fake (idempotent) and create the
    topics and databases."""
    status = local_stack.up()
    typer.echo(f"kafka      {status.bootstrap}")
    typer.echo(f"postgresql {status.database_url}")
    typer.echo(f"mail sink  {status.smtp_address} (amiable mail list)")
    typer.echo(f"sms fake   {status.sms_gateway_url}/messages")
    typer.echo(f"state      {status.state_dir}")


@stack_app.command("down")
def stack_down() -> None:
    """Stop Kafka, PostgreSQL, the mail sink and the SMS fake; their data stays in the state
    folder."""
    local_stack.down()


@stack_app.command("status")
def stack_status() -> None:
    """Show what runs, without starting anything."""
    status = local_stack.status()
    typer.echo(f"kafka      {'up' if status.kafka_running else 'down'}  {status.bootstrap}")
    typer.echo(f"postgresql {'up' if status.postgres_running else 'down'}  {status.database_url}")
    typer.echo(f"mail sink  {'up' if status.smtp_pid else 'down'}  {status.smtp_address}")
    typer.echo(f"sms fake   {'up' if status.sms_pid else 'down'}  {status.sms_gateway_url}")
    typer.echo(f"state      {status.state_dir}")
    if not (status.running and status.sinks_running):
        raise typer.Exit(1)


@app.command()
def serve(service: ServiceArg, port: int | None = None) -> None:
    """Run one service in the foreground."""
    import uvicorn

    from amiable_events.logs import install_logging
    from amiable_events.service import build_app

    declared = _service(service)
    settings = declared.settings()
    config = uvicorn.Config(
        build_app(declared, settings),
        host=settings.host,
        port=port or declared.port_of(settings),
        loop="uvloop",
        http="httptools",
        log_level="info",
        access_log=False,
    )
    # uvicorn sets up its loggers when configured and logs its first lines before the app's
    # lifespan runs: formatted now, every line the process writes is one of ours.
    install_logging(f"amiable-{declared.name}")
    uvicorn.Server(config).run()


@app.command()
def token(
    tenant: Annotated[str, typer.Option(help="the creditor the token acts for")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="repeat for several scopes; default: every declared service's scopes"),
    ] = None,
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
    operator: Annotated[
        bool,
        typer.Option(help="for AMIABLE_OPERATOR_AUDIENCE: cross-tenant admin operations"),
    ] = False,
) -> None:
    """Print a dev token signed with AMIABLE_JWT_SECRET (HS256)."""
    from amiable_events.auth import issue_token
    from amiable_events.settings import ServiceSettings

    settings = ServiceSettings()
    scopes = scope or _all_scopes()
    if operator and not settings.operator_audience:
        raise typer.BadParameter("set AMIABLE_OPERATOR_AUDIENCE to issue an operator token")
    audience = settings.operator_audience if operator else settings.jwt_audience
    typer.echo(
        issue_token(
            settings.jwt_secret, tenant=tenant, scopes=scopes, ttl_seconds=ttl, audience=audience
        )
    )


def _all_scopes() -> list[str]:
    """Every declared service's scopes (``admin`` included), once each."""
    return list(dict.fromkeys(s for service in _declared().values() for s in service.all_scopes))


@app.command()
def rebuild(
    service: ServiceArg,
    swap: Annotated[bool, typer.Option(help="swap the rebuilt tables in")] = True,
) -> None:
    """Replay the log from offset 0 into fresh tables and swap them in for the live ones."""
    from amiable_events.catalog import REGISTRY
    from amiable_events.kafka import client_security
    from amiable_events.projection import rebuild as rebuild_projection

    async def work(settings, engine, store):
        return await rebuild_projection(
            store.projector,
            engine,
            REGISTRY,
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic,
            live_schema=store.schema,
            swap=swap,
            kafka_options=client_security(settings),
        )

    result = _on_store(_service(service), work)
    rate = result.events / result.seconds if result.seconds else 0
    typer.echo(
        f"rebuilt {service}: {result.events} events in {result.seconds:.2f}s ({rate:,.0f}/s)"
    )
    typer.echo(f"digest {result.digest['digest']}")


@app.command()
def unpark(
    service: ServiceArg,
    account: Annotated[list[str] | None, typer.Option(help="only these debtor accounts")] = None,
) -> None:
    """Replay parked debtor accounts' events with the code now deployed; a parked record it no
    longer decodes goes to the service's dead-letter topic."""
    from amiable_events.kafka import client_security
    from amiable_events.producer import EventLog
    from amiable_events.projection import send_to_dead_letters

    async def work(settings, engine, store):
        dlq = EventLog(
            settings.kafka_bootstrap,
            topic=settings.topic,
            client_id="amiable-unpark",
            kafka_options=client_security(settings),
        )
        await dlq.start()
        try:

            async def dead_letter(record, reason):
                await send_to_dead_letters(dlq, store.projector.service, record, reason)

            return await store.unpark(account, topic=settings.topic, dead_letter=dead_letter)
        finally:
            await dlq.stop()

    outcome = _on_store(_service(service), work)
    for name, result in outcome.items():
        typer.echo(f"{name}: {result}")
    if not outcome:
        typer.echo("nothing parked")
    if any(not result.startswith("released") for result in outcome.values()):
        raise typer.Exit(1)


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="where the catalog goes")] = Path("build/docs"),
) -> None:
    """Build the event catalog into OUT: a page per event type, the flow between the services,
    the schemas (static HTML; see docs/catalog.md)."""
    from amiable_cli.catalog import build

    written = build(out)
    pages = sum(1 for path in written if path.suffix == ".html")
    typer.echo(f"{pages} pages, {len(written)} files in {out}; open {out / 'index.html'}")


@events_app.command("tail")
def events_tail(
    from_beginning: Annotated[bool, typer.Option(help="start at offset 0")] = False,
    follow: Annotated[bool, typer.Option(help="keep waiting for new events")] = False,
    limit: Annotated[int, typer.Option(help="stop after this many events (0: no limit)")] = 0,
) -> None:
    """Pretty-print the claim log: headers, key, partition/offset and the payload."""
    from amiable_events.settings import ServiceSettings

    settings = ServiceSettings()
    asyncio.run(_tail(settings, from_beginning, follow, limit))


@events_app.command("sample")
def events_sample(
    scenario: Annotated[str | None, typer.Option(help="the story (--list names them)")] = None,
    out: Annotated[Path | None, typer.Option(help="write to this file, not stdout")] = None,
    list_: Annotated[bool, typer.Option("--list", help="print the scenarios' names")] = False,
) -> None:
    """Write a sample stream: one scenario's events as NDJSON, one structured-mode CloudEvent a
    line, the same bytes on every run (consumers' test fixtures)."""
    from amiable_demo import samples
    from amiable_demo.ndjson import to_line

    if list_:
        typer.echo("\n".join(samples.SCENARIOS))
        return
    if scenario is None:
        raise typer.BadParameter("give --scenario NAME or --list", param_hint="--scenario")
    try:
        envelopes = samples.scenario(scenario)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from exc
    text = b"".join(to_line(envelope) + b"\n" for envelope in envelopes)
    if out is None:
        typer.echo(text.decode(), nl=False)
    else:
        out.write_bytes(text)
        typer.echo(f"{len(envelopes)} events of {scenario} in {out}", err=True)


async def _tail(settings, from_beginning: bool, follow: bool, limit: int) -> None:
    import orjson

    from amiable_events.kafka import client_security, log_reader
    from amiable_events.projection import topic_partitions

    consumer = log_reader(settings.kafka_bootstrap, client_security(settings))
    await consumer.start()
    shown = 0
    try:
        partitions = await topic_partitions(consumer, settings.topic)
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        ends = await consumer.end_offsets(partitions)
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    headers = {
                        name: value.decode(errors="replace") for name, value in record.headers
                    }
                    typer.secho(
                        f"{record.partition}/{record.offset}  {headers.get('ce_type', '?')}  "
                        f"key={(record.key or b'').decode(errors='replace')}",
                        bold=True,
                    )
                    for name, value in headers.items():
                        typer.echo(f"  {name}: {value}")
                    try:
                        payload = orjson.dumps(
                            orjson.loads(record.value), option=orjson.OPT_INDENT_2
                        )
                        typer.echo("  " + payload.decode().replace("\n", "\n  "))
                    except orjson.JSONDecodeError:
                        typer.echo(f"  (not JSON) {record.value!r}")
                    shown += 1
                    if limit and shown >= limit:
                        return
            if not batch and not follow:
                positions = {tp: await consumer.position(tp) for tp in partitions}
                if all(positions[tp] >= ends[tp] for tp in partitions):
                    return
    finally:
        await consumer.stop()


@app.command("import")
def import_claims(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or NDJSON")],
    tenant: Annotated[str, typer.Option(help="the creditor the claims belong to")],
    url: Annotated[str, typer.Option(help="the claims service")] = "http://127.0.0.1:8001",
    chunk: Annotated[int, typer.Option(help="rows per request")] = 5000,
    report: Annotated[
        Path | None, typer.Option(help="write every row's result here (JSON)")
    ] = None,
) -> None:
    """Bulk-register claims through POST /v1/claims:import, with a progress bar and a summary."""
    import httpx
    import orjson

    from amiable_events.auth import issue_token
    from amiable_events.settings import ServiceSettings

    ndjson = file.suffix.lower() in (".ndjson", ".jsonl")
    text = file.read_text(encoding="utf-8-sig")
    if ndjson:
        header, rows = None, [line for line in text.splitlines() if line.strip()]
    else:
        # CSV records, not lines: a quoted field may hold a line break.
        records = [record for record in csv.reader(io.StringIO(text, newline="")) if record]
        if not records:
            typer.echo(f"{file}: empty, no header line")
            raise typer.Exit(1)
        header, rows = records[0], records[1:]
    token = issue_token(ServiceSettings().jwt_secret, tenant=tenant, scopes=["claims:write"])
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-ndjson" if ndjson else "text/csv",
    }
    totals = {"created": 0, "duplicate": 0, "invalid": 0}
    results = []
    with (
        httpx.Client(base_url=url, timeout=600) as client,
        typer.progressbar(length=len(rows), label=f"importing {file.name}") as bar,
    ):
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            if header is None:
                body = "\n".join(part) + "\n"
            else:
                out = io.StringIO()
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(part)
                body = out.getvalue()
            answer = client.post("/v1/claims:import", content=body.encode(), headers=headers)
            if answer.status_code != 200:
                typer.echo(
                    f"\nrows {start + 1}-{start + len(part)}: {answer.status_code} {answer.text}"
                )
                raise typer.Exit(1)
            data = answer.json()
            for name in totals:
                totals[name] += data[name]
            for row in data["rows"]:
                results.append({**row, "row": row["row"] + start})
            bar.update(len(part))
    typer.echo(
        f"{len(rows)} rows: {totals['created']} created, {totals['duplicate']} duplicate, "
        f"{totals['invalid']} invalid"
    )
    for row in [r for r in results if r["status"] == "invalid"][:10]:
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row["errors"])
        typer.echo(f"  row {row['row']}: {reasons}")
    if report:
        report.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        typer.echo(f"every row's result: {report}")


@app.command()
def clients(
    out: Annotated[Path, typer.Option(help="where the documents and the clients go")] = Path(
        "build/clients"
    ),
) -> None:
    """Write each service's OpenAPI document to OUT/openapi/ and generate a typed Python client
    from it, OUT/amiable-<service>-client (pip-installable; see docs/clients.md)."""
    from amiable_cli.clients import generate

    try:
        made = generate(_declared(), out)
    except (FileNotFoundError, RuntimeError) as problem:  # no generator, or it failed
        typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    for client in made:
        typer.echo(f"{client.service:<15}{client.project}  (import {client.package})")
        if client.warnings:
            typer.echo("  " + client.warnings.replace("\n", "\n  "), err=True)


@app.command()
def run() -> None:
    """Start the local stack and every declared service (one process each), print their URLs
    and a dev token; Ctrl-C stops the services (the stack keeps running)."""
    from amiable_cli.supervise import supervise
    from amiable_events.auth import issue_token
    from amiable_events.settings import ServiceSettings

    # Dev mode is explicit: production (no default secret) is what every other start gets. The
    # services inherit it from this environment.
    os.environ.setdefault("AMIABLE_ENV", "dev")
    # Five services share one terminal: plain lines read better there than JSON.
    os.environ.setdefault("AMIABLE_LOG_FORMAT", "text")
    config = local_stack.StackConfig.from_env()
    status = local_stack.up(config)
    # where the services send email and SMS: the stack's sink and fake, unless set
    os.environ.setdefault("AMIABLE_SMTP_HOST", config.smtp_host)
    os.environ.setdefault("AMIABLE_SMTP_PORT", str(config.smtp_port))
    os.environ.setdefault("AMIABLE_SMS_GATEWAY_URL", config.sms_gateway_url)
    services = _declared()
    settings = ServiceSettings()
    ttl = 8 * 3600
    dev_token = issue_token(
        settings.jwt_secret, tenant="demo-creditor", scopes=_all_scopes(), ttl_seconds=ttl
    )
    rows = [
        ("kafka", status.bootstrap),
        ("postgresql", status.database_url),
        ("mail sink", f"{status.smtp_address} (amiable mail list)"),
        ("sms fake", f"{status.sms_gateway_url}/messages"),
    ]
    for name, service in services.items():
        base = f"http://127.0.0.1:{service.port}"
        api = next((router.prefix for router in service.routers if router.prefix), "")
        rows += [(f"{name} API", f"{base}{api}"), (f"{name} docs", f"{base}/docs")]
    width = max(len(label) for label, _ in rows) + 1

    def ready() -> None:
        for label, value in rows:
            typer.echo(f"{label:<{width}}{value}")
        typer.echo(f"dev token (tenant demo-creditor, {datetime.now():%H:%M} + 8h):\n{dev_token}")
        typer.echo("stop with Ctrl-C; `make stack-down` stops the stack")

    typer.echo(f"starting {', '.join(services)}", err=True)
    code = supervise(
        [(name, service.port) for name, service in services.items()],
        on_ready=ready,
        log=lambda message: typer.echo(message, err=True),
    )
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
