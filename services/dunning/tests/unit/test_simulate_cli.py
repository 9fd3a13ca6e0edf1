"""``amiable dunning simulate``: a generated history against a candidate policy file and the
policy in force, the totals per track side by side."""

from __future__ import annotations

import json
from datetime import date

import yaml
from typer.testing import CliRunner

from amiable_demo.generate import Plan, generate
from amiable_demo.ndjson import write_ndjson
from amiable_dunning.api.cli import commands
from tests.dunning_givens import POLICY


def test_the_totals_of_a_quicker_candidate_beside_the_policy_in_force(tmp_path, monkeypatch):
    monkeypatch.delenv("AMIABLE_DUNNING_POLICY", raising=False)
    history = tmp_path / "history.ndjson"
    write_ndjson(generate(Plan(claims=60, start=date(2024, 1, 1), months=6)).envelopes, history)
    quick = POLICY.model_dump(mode="json") | {"version": "quick-1"}
    for step in quick["tracks"]["standard_b2b"]["steps"]:
        step["offset_business_days"] //= 2
    candidate = tmp_path / "quick.yaml"
    candidate.write_text(yaml.safe_dump(quick))

    runner = CliRunner()
    table = runner.invoke(
        commands, ["simulate", "--history", str(history), "--policy", str(candidate)]
    )
    assert table.exit_code == 0, table.output
    assert f"candidate default quick-1 | active default {POLICY.version}" in table.output
    assert any(line.startswith("standard_b2b") for line in table.output.splitlines())

    answer = runner.invoke(
        commands, ["simulate", "--history", str(history), "--policy", str(candidate), "--json"]
    )
    totals = {name: body["by_track"]["total"] for name, body in json.loads(answer.output).items()}
    assert totals["candidate"]["claims"] == totals["active"]["claims"] == 60
    assert totals["candidate"]["sent"] > totals["active"]["sent"]
    line = next(line for line in table.output.splitlines() if line.startswith("total"))
    assert f"{totals['candidate']['sent']} | {totals['active']['sent']}" in line


def test_a_candidate_that_breaks_a_rule_is_refused_with_the_reason(tmp_path):
    history = tmp_path / "history.ndjson"
    history.write_text("")
    bad = POLICY.model_dump(mode="json") | {"max_reminders_per_stage": 1}
    candidate = tmp_path / "bad.yaml"
    candidate.write_text(yaml.safe_dump(bad))
    answer = CliRunner().invoke(
        commands, ["simulate", "--history", str(history), "--policy", str(candidate)]
    )
    assert answer.exit_code == 2
    assert "max_reminders_per_stage" in answer.output
