"""`denials classify [FILE|-] [--as-of DATE]`: JSON lines out in input order, history from earlier events of the
same input, bad lines on stderr with line number and field (exit 2), and no dependence on the wall clock."""

import json
import sys
import types

import pytest
import typer
from typer.testing import CliRunner

from service.entrypoints import cli
from service.entrypoints.commands import classify

REQUIRED = {"event_id", "claim_id", "line_id", "adjustment_index", "group", "reason", "remarks", "category",
            "is_denial", "action", "queue", "appealable", "recoverability", "deadline", "deadline_basis",
            "filing_deadline", "explanation", "rule_id", "rules_version", "checklist"}


@pytest.fixture
def app():
    app = typer.Typer()
    classify.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer in multi-command mode, like the real CLI
    return app


def run(app, *args, stdin=None):
    result = CliRunner().invoke(app, ["classify", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def remittance(event_id, claim_id, lines, *, payer=("BCBS-TX", "commercial"), status="1", patient="MRN-1",
               notice="2026-02-27", claim_adjustments=(), claim_remarks=()):
    return json.dumps({
        "event_id": event_id, "schema_version": 1, "occurred_at": "2026-03-02T14:05:00Z",
        "payer": {"id": payer[0], "type": payer[1]}, "remit": {"production_date": notice},
        "claim": {"claim_id": claim_id, "status_code": status, "total_charge": 1000, "total_paid": 0,
                  "patient": {"patient_ref": patient}, "adjustments": list(claim_adjustments),
                  "remarks": list(claim_remarks),
                  "lines": [{"line_id": str(i + 1), "procedure": {"code": code, "modifiers": list(mods)},
                             "charge": 1000, "paid": paid, "service_date": dos, "adjustments": [
                                 {"group": a.split("-")[0], "reason": a.split("-")[1], "amount": 100} for a in adjs],
                             "remarks": list(remarks)}
                            for i, (code, mods, dos, paid, adjs, remarks) in enumerate(lines)]}})


def submitted(event_id, claim_id, code, dos, *, prior_auth=None, other_payers=(), patient="MRN-1",
              payer=("BCBS-TX", "commercial")):
    return json.dumps({
        "event_id": event_id, "schema_version": 1, "kind": "submitted", "occurred_at": "2026-01-16T09:00:00Z",
        "payer": {"id": payer[0], "type": payer[1]},
        "claim": {"claim_id": claim_id, "service_date_from": dos, "patient": {"patient_ref": patient},
                  "prior_authorization": prior_auth,
                  "other_payers": [{"id": p, "type": "commercial"} for p in other_payers],
                  "lines": [{"line_id": "1", "procedure": {"code": code, "modifiers": []}, "charge": 1000,
                             "service_date": dos}]}})


def status(event_id, claim_id, category, code=None):
    return json.dumps({
        "event_id": event_id, "schema_version": 1, "kind": "acknowledgement", "occurred_at": "2026-01-17T09:00:00Z",
        "payer": {"id": "BCBS-TX", "type": "commercial"},
        "claim": {"claim_id": claim_id, "service_date_from": "2026-01-15"},
        "status": {"category": category, "code": code, "entity": "85", "action_code": "WQ"}})


def test_one_line_per_adjustment_and_per_status_event_in_input_order(app, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([
        status("st-1", "PC-1", "A7", "562"),
        remittance("rm-1", "PC-1", [("64483", ["RT"], "2026-01-15", 600, ["CO-45", "PR-2"], []),
                                    ("77003", [], "2026-01-15", 0, ["CO-97"], ["N20"])],
                   claim_adjustments=[{"group": "CO", "reason": "253", "amount": 5}]),
    ]) + "\n")
    result, out = run(app, str(path), "--as-of", "2026-03-05")
    assert result.exit_code == 0, result.stderr
    assert [(o["event_id"], o.get("line_id"), o.get("adjustment_index"), o.get("reason")) for o in out] == [
        ("st-1", None, None, None), ("rm-1", None, 0, "253"), ("rm-1", "1", 0, "45"), ("rm-1", "1", 1, "2"),
        ("rm-1", "2", 0, "97")]
    assert out[0]["bucket"] == "rejected" and out[0]["action"] == "new_claim" and out[0]["queue"] == "billing"
    assert all(REQUIRED <= set(o) for o in out[1:])
    assert out[4]["category"] == "bundling" and out[4]["action"] == "write_off"


MEDICARE = ("MCR-JL", "medicare")


def test_history_and_facts_come_from_earlier_events_of_the_same_input(app):
    earlier = [remittance(f"rm-{i}", f"PC-{i}", [("62323", [], dos, 500, ["CO-45"], [])], payer=MEDICARE)
               for i, dos in enumerate(["2025-02-10", "2025-05-12", "2025-08-11", "2025-11-10"])]
    later = [submitted("st-9", "PC-9", "62323", "2026-01-15", other_payers=["SEC-1"], payer=MEDICARE),
             remittance("rm-9", "PC-9", [("62323", [], "2026-01-15", 0, ["CO-50", "PR-3"], [])], payer=MEDICARE)]
    _, out = run(app, "-", stdin="\n".join(earlier + later) + "\n")
    denial, copay = out[-2], out[-1]
    assert denial["category"] == "frequency_limit" and "2025-02-10" in denial["explanation"]
    assert copay["action"] == "wait" and "SEC-1" in copay["explanation"]


def test_another_patients_history_does_not_count(app):
    earlier = [remittance(f"rm-{i}", f"PC-{i}", [("62323", [], dos, 500, ["CO-45"], [])], patient="OTHER",
                          payer=MEDICARE)
               for i, dos in enumerate(["2025-02-10", "2025-05-12", "2025-08-11", "2025-11-10"])]
    _, out = run(app, "-", stdin="\n".join([*earlier, remittance("rm-9", "PC-9", [
        ("62323", [], "2026-01-15", 0, ["CO-50"], [])], payer=MEDICARE)]) + "\n")
    assert out[-1]["category"] == "medical_necessity"


def test_bad_lines_are_reported_with_line_and_field_and_the_rest_classified(app):
    good = remittance("rm-1", "PC-1", [("64483", ["RT"], "2026-01-15", 0, ["CO-197"], [])])
    missing_field = json.loads(good)
    del missing_field["claim"]["lines"][0]["charge"]
    stdin = "\n".join([good, "{not json", json.dumps(missing_field), json.dumps({"hello": 1}), "", good]) + "\n"
    result, out = run(app, "-", stdin=stdin)
    assert result.exit_code == 2
    assert [o["event_id"] for o in out] == ["rm-1", "rm-1"]
    errors = result.stderr.splitlines()
    assert errors[0] == "<stdin>:2: not_json: the record is not valid JSON"
    assert errors[1].startswith("<stdin>:3: schema_violation: claim.lines[0].charge: missing")
    assert errors[2].startswith("<stdin>:4: schema_violation: (record)")
    assert "MRN" not in result.stderr and "PC-1" not in result.stderr


def test_output_does_not_depend_on_the_wall_clock(app):
    stdin = remittance("rm-1", "PC-1", [("62323", [], "2025-05-05", 0, ["CO-50"], [])], notice="2025-06-02") + "\n"
    _, first = run(app, "-", "--as-of", "2026-03-01", stdin=stdin)
    _, again = run(app, "-", "--as-of", "2026-03-01", stdin=stdin)
    _, plain = run(app, "-", stdin=stdin)
    assert first == again
    assert "window closed on 2025-08-31" in first[0]["explanation"]  # commercial default: 90 days
    assert "closed" not in plain[0]["explanation"]


def test_a_bad_as_of_or_a_missing_file_is_a_clear_error(app, tmp_path):
    result, _ = run(app, "-", "--as-of", "03/01/2026", stdin="")
    assert result.exit_code == 2 and "--as-of" in result.stderr
    result, _ = run(app, str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_x12_input_goes_through_the_x12_module(app, monkeypatch):
    from topics.remittance import RemittanceEvent

    event = RemittanceEvent.model_validate_json(remittance("x12-1", "PC-1", [
        ("64483", ["RT"], "2026-01-15", 0, ["CO-197"], [])]))
    error = types.SimpleNamespace(first_line=12, reason="claim 2 of transaction set 0001: SVC01 missing")
    fake = types.ModuleType("service.x12")
    fake.events_from_file = lambda data, source=None: iter([event, error])
    monkeypatch.setitem(sys.modules, "service.x12", fake)
    result, out = run(app, "-", stdin="ISA*00*...~")
    assert [o["event_id"] for o in out] == ["x12-1"] and out[0]["category"] == "authorization"
    assert result.exit_code == 2 and "<stdin>:12: claim 2 of transaction set 0001" in result.stderr


def test_bare_st_sets_are_x12_too():
    assert classify.events_from_bytes(b"ST*835*1234~BPR*I~").__name__ == "events_from_x12"
    assert classify.events_from_bytes(b'{"event_id": "x"}').__name__ == "events_from_json_lines"


def test_the_command_is_registered_in_the_denials_cli():
    assert "service.entrypoints.commands.classify" in cli.COMMAND_MODULES
    assert "service.entrypoints.commands.rules" in cli.COMMAND_MODULES


def test_codes_the_tables_do_not_know_are_kept_and_counted_on_stderr(app):
    stdin = "\n".join([
        remittance("rm-1", "PC-1", [("64483", [], "2026-01-15", 0, ["CO-ZZ9"], ["N9999"])]),
        remittance("rm-2", "PC-2", [("64483", [], "2026-01-15", 0, ["CO-ZZ9", "CO-45"], [])], patient="MRN-2"),
    ]) + "\n"
    result, out = run(app, "-", stdin=stdin)
    assert result.exit_code == 0
    assert [(o["reason"], o["category"]) for o in out] == [("ZZ9", "unclassified"), ("ZZ9", "unclassified"),
                                                           ("45", "contractual")]
    assert result.stderr.splitlines() == [
        "denials classify: 3 code(s) not in the rule tables (kept as sent): CARC ZZ9 x2, RARC N9999 x1"]
    again, _ = run(app, "-", stdin=stdin)  # the classifier is cached: each run counts its own input only
    assert again.stderr == result.stderr
