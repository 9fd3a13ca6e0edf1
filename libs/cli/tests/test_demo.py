"""``amiable demo generate`` to a file, ``amiable demo run``'s checks and KPI table, and a
service's own commands under its name."""

from __future__ import annotations

from dataclasses import replace

import typer
from typer.testing import CliRunner

from amiable_cli import main
from amiable_cli.demo_run import kpi_table
from amiable_demo.ndjson import read_ndjson
from amiable_events.claims import ClaimRegistered
from amiable_events.service import declared

runner = CliRunner()


def test_generate_writes_the_same_file_for_the_same_seed(tmp_path):
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    arguments = ["demo", "generate", "--claims", "150", "--seed", "4", "--tenants", "acme,globex"]

    result = runner.invoke(main.app, [*arguments, "--out", str(first)])
    runner.invoke(main.app, [*arguments, "--out", str(second)])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("150 claims of ")
    assert first.read_bytes() == second.read_bytes()
    envelopes = list(read_ndjson(first))
    assert sum(isinstance(e.data, ClaimRegistered) for e in envelopes) == 150
    assert {e.tenant for e in envelopes} == {"acme", "globex"}


def test_generate_takes_a_mix_and_refuses_an_unknown_behaviour(tmp_path):
    out = tmp_path / "h.ndjson"

    only = runner.invoke(
        main.app, ["demo", "generate", "--claims", "60", "--mix", "insolvent=1", "--out", str(out)]
    )
    wrong = runner.invoke(
        main.app, ["demo", "generate", "--claims", "60", "--mix", "sloppy=1", "--out", str(out)]
    )

    assert only.exit_code == 0, only.output
    assert "insolvent" in only.output.splitlines()[1]
    assert "reliable" not in only.output
    assert wrong.exit_code != 0


def test_generate_needs_somewhere_to_put_the_history():
    result = runner.invoke(main.app, ["demo", "generate", "--claims", "10"])

    assert result.exit_code != 0


def test_a_service_s_commands_are_mounted_under_its_name(monkeypatch):
    commands = typer.Typer()

    @commands.callback()
    def group() -> None:
        """Tools of the claims service."""

    @commands.command()
    def hello(name: str = "world") -> None:
        typer.echo(f"hello {name}")

    services = {name: replace(s, commands=None) for name, s in declared().items()}
    services["claims"] = replace(services["claims"], commands=commands)
    monkeypatch.setattr(main, "_declared", lambda: services)
    main._service_commands.cache_clear()
    try:
        said = runner.invoke(main.app, ["claims", "hello", "--name", "risk"])
        listed = runner.invoke(main.app, ["--help"])
    finally:
        main._service_commands.cache_clear()

    assert said.exit_code == 0, said.output
    assert said.output == "hello risk\n"
    shown = [line.strip("│ ").split(" ")[0] for line in listed.output.splitlines()]
    assert {"claims", "demo", "serve"} <= set(shown)


def test_run_without_starting_the_services_needs_their_moved_clock(monkeypatch):
    monkeypatch.delenv("AMIABLE_CLOCK", raising=False)

    result = runner.invoke(main.app, ["demo", "run", "--no-start"])

    assert result.exit_code != 0
    assert "AMIABLE_CLOCK" in result.output


def test_the_kpi_table_prints_the_route_s_figures_per_currency():
    kpis = {
        "from": "2031-03-03",
        "to": "2031-09-02",
        "currencies": [
            {
                "currency": "EUR",
                "placed_count": 153,
                "settled_count": 106,
                "disputed_count": 10,
                "recovery_rate": "0.7150",
                "dso_days": "53.5426",
                "dispute_rate": "0.0654",
                "cost_of_recovery": None,
            }
        ],
    }
    aged = {
        "as_of": "2031-09-02",
        "currencies": [
            {
                "currency": "EUR",
                "total": "120.00",
                "buckets": [
                    {"label": "current", "amount": "100.00", "count": 2},
                    {"label": "1-30", "amount": "20.00", "count": 1},
                ],
            }
        ],
    }

    lines = kpi_table(kpis, aged)

    assert lines[0] == "KPIs 2031-03-03 to 2031-09-02 (GET /v1/portfolio/kpis)"
    assert lines[2].split() == ["EUR", "153", "106", "10", "71.5%", "53.5426", "6.5%", "-"]
    assert lines[4] == "EUR      current 100.00 (2)  1-30 20.00 (1)  total 120.00"


def test_demo_alone_is_demo_run_with_its_defaults(monkeypatch):
    from amiable_cli import demo

    played = []
    monkeypatch.setattr(demo, "run", lambda **options: played.append(options))

    result = runner.invoke(main.app, ["demo"])

    assert result.exit_code == 0, result.output
    assert played == [{}]
