"""Revenue follow-through end to end, through the real broker, worker and PostgreSQL: a fee schedule imported with
`denials fees import`, an underpaid line found and repaid, an upheld appeal climbing to the Medicare
reconsideration, a recoupment flagging a won task. Every test uses its own payer id (`MCR-<run_id>`), so the fee
schedule and the rows asserted on are this test's own.

Amounts: the worked example of tests/unit/revenue/test_expected_reimbursement.py (64483-50 expected 235.20, paid
156.80, short 78.40). Deadline: notice 2026-06-01 -> receipt 2026-06-06 -> + 180 days = 2026-12-03.
"""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal

from tests.support import events
from tests.support.kafka import publish_json, read_json
from tests.support.ports import eventually
from tests.support.worker import denials_command


def payer(run_id: str) -> dict:
    return {"id": f"MCR-{run_id}", "name": "Medicare Part B test", "type": "medicare"}


def adj(group: str, reason: str, amount: float) -> dict:
    return {"group": group, "reason": reason, "amount": amount}


def ln(line_id: str, code: str, mods: list[str], charge: float, paid: float, adjustments: list[dict],
       allowed: float) -> dict:
    return events.line(line_id, code, mods, charge=charge, paid=paid, adjustments=adjustments, allowed=allowed)


def example(line1_paid: float, line1_allowed: float, line1_adjustments: list[dict]) -> list[dict]:
    return [
        ln("1", "64483", ["50"], 1500.00, line1_paid, line1_adjustments, line1_allowed),
        ln("2", "64484", ["50"], 700.00, 105.84, [adj("CO", "45", 565.00), adj("PR", "2", 27.00),
                                                  adj("CO", "253", 2.16)], 135.00),
        ln("3", "27096", ["RT"], 500.00, 39.20, [adj("CO", "59", 50.00), adj("CO", "45", 400.00),
                                                 adj("PR", "2", 10.00), adj("CO", "253", 0.80)], 50.00),
        ln("4", "20552", [], 250.00, 23.52, [adj("CO", "59", 30.00), adj("CO", "45", 190.00), adj("PR", "2", 6.00),
                                             adj("CO", "253", 0.48)], 30.00),
    ]


FEES = "code,modifier,amount,effective_from,effective_to\n" \
       "64483,,200.00,2026-01-01,\n64484,,90.00,2026-01-01,\n27096,,100.00,2026-01-01,\n20552,,60.00,2026-01-01,\n"


def fees_import(stack, path, payer_id: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": stack.direct_database_url, "DENIALS_LOG_FORMAT": "json"}
    return subprocess.run([denials_command(), "fees", "import", str(path), "--payer", payer_id], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_fees_import_validates_the_whole_file_and_is_idempotent(stack, worker, db, run_id, tmp_path):
    payer_id = f"MCR-{run_id}"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,amount,effective_from\n64483,200.00,2026-01-01\n64484,ninety,2026-01-01\n")
    result = fees_import(stack, bad, payer_id)
    assert result.returncode == 2
    assert f"{bad} line 3, column 'amount': 'ninety' is not a number" in result.stderr
    assert await db.fetchval("SELECT count(*) FROM fee_schedules WHERE payer_id = $1", payer_id) == 0

    good = tmp_path / "fees.csv"
    good.write_text(FEES)
    first = fees_import(stack, good, payer_id)
    assert first.returncode == 0, first.stderr
    assert "imported 4 rate(s)" in first.stdout and "4 new, 0 replaced" in first.stdout
    again = fees_import(stack, good, payer_id)
    assert again.returncode == 0 and "0 new, 4 replaced" in again.stdout
    rows = await db.fetch("SELECT code, amount FROM fee_schedules WHERE payer_id = $1 ORDER BY code", payer_id)
    assert [(r["code"], r["amount"]) for r in rows] == [
        ("20552", Decimal("60.00")), ("27096", Decimal("100.00")), ("64483", Decimal("200.00")),
        ("64484", Decimal("90.00"))]


async def test_an_underpaid_line_opens_a_contracts_task_and_a_repayment_wins_it(stack, worker, db, run_id, tmp_path):
    p = payer(run_id)
    claim_id = f"PC-{run_id}"
    fees = tmp_path / "fees.csv"
    fees.write_text(FEES)
    assert fees_import(stack, fees, p["id"]).returncode == 0

    underpaid = example(156.80, 200.00, [adj("CO", "45", 1300.00), adj("PR", "2", 40.00), adj("CO", "253", 3.20)])
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}-1", claim_id, payer=p, lines=underpaid, trace_number=f"EFT-{run_id}-1")])
    task = await eventually(lambda: db.fetchrow(
        "SELECT * FROM appeal_tasks WHERE claim_id = $1 AND category = 'pricing'", claim_id),
        message="the underpayment task")
    assert (task["queue"], task["action"], task["state"]) == ("contracts", "contract_review", "open")
    assert task["amount_at_risk"] == Decimal("78.40")
    decisions = await db.fetch("SELECT line_id, reason, category, amount, rule_id FROM decisions "
                               "WHERE event_id = $1 AND group_code = 'CO' ORDER BY line_id, adjustment_index",
                               f"rm-{run_id}-1")
    pricing = [(d["line_id"], d["reason"], d["amount"], d["rule_id"]) for d in decisions if d["category"] == "pricing"]
    assert pricing == [("1", "45", Decimal("78.40"), "pricing.underpaid")]
    # routine CO-59 / CO-45 / CO-253 that match the expectation stay contractual
    assert {d["category"] for d in decisions if d["line_id"] != "1"} == {"contractual"}

    async def underpayment_followups():
        return [r for r in await read_json(stack.bootstrap, "followups.underpayment.v1") if r["claim_id"] == claim_id]

    (followup,) = await eventually(underpayment_followups, message="followups.underpayment.v1 on the broker")
    assert followup["amount"] == 78.40 and followup["category"] == "pricing"
    details = followup["details"]
    assert (details["expected_amount"], details["paid_amount"], details["shortfall"]) == (235.20, 156.80, 78.40)
    assert "bilateral (modifier 50, indicator 1) at 150 % = $300.00" in details["computation"][0]

    # the payer reverses the claim and pays line 1 at the contract rate
    reversal = [dict(x, charge=-x["charge"], paid=-x["paid"], allowed=-x["allowed"],
                     adjustments=[dict(a, amount=-a["amount"]) for a in x["adjustments"]]) for x in underpaid]
    repaid = example(235.20, 300.00, [adj("CO", "45", 1200.00), adj("PR", "2", 60.00), adj("CO", "253", 4.80)])
    await publish_json(stack.bootstrap, "claims.remittance.v1", [
        events.remittance(f"rm-{run_id}-2", claim_id, payer=p, lines=reversal, status_code="22",
                          occurred_at="2026-04-01T10:00:00Z", trace_number=f"EFT-{run_id}-2"),
        events.remittance(f"rm-{run_id}-3", claim_id, payer=p, lines=repaid, occurred_at="2026-04-01T10:00:01Z",
                          trace_number=f"EFT-{run_id}-3")])
    won = await eventually(lambda: db.fetchrow(
        "SELECT state, recovered_amount FROM appeal_tasks WHERE task_id = $1 AND state = 'won'", task["task_id"]),
        message="the underpayment task won")
    assert won["recovered_amount"] == Decimal("78.40")


async def test_an_upheld_redetermination_reopens_the_task_for_the_reconsideration(stack, worker, db, run_id):
    p = payer(run_id)
    claim_id = f"PC-{run_id}"
    denied = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                          adjustments=[adj("CO", "50", 1200.00)])]
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}-1", claim_id, payer=p, lines=denied, trace_number=f"EFT-{run_id}-1")])
    task = await eventually(lambda: db.fetchrow("SELECT * FROM appeal_tasks WHERE claim_id = $1", claim_id),
                            message="the medical-necessity task")
    assert (task["category"], task["action"], task["appeal_level"]) == ("medical_necessity", "appeal", 1)

    upheld = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00, adjustments=[adj("CO", "193", 1200.00)])]
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}-2", claim_id, payer=p, lines=upheld, occurred_at="2026-06-03T10:00:00Z",
        production_date="2026-06-01", trace_number=f"EFT-{run_id}-2")])
    level2 = await eventually(lambda: db.fetchrow(
        "SELECT * FROM appeal_tasks WHERE task_id = $1 AND appeal_level = 2", task["task_id"]),
        message="the task at the reconsideration level")
    assert (level2["state"], level2["action"], level2["queue"]) == ("open", "appeal", "appeals")
    assert level2["deadline"].isoformat() == "2026-12-03"
    assert "Medicare reconsideration: 180 days from receipt of the redetermination" in level2["deadline_basis"]
    audit = await db.fetch("SELECT change, from_state, to_state FROM task_events WHERE task_id = $1 AND "
                           "causation_id = $2 ORDER BY id", task["task_id"], f"rm-{run_id}-2")
    assert [(a["change"], a["from_state"], a["to_state"]) for a in audit] == [
        ("updated", "open", "submitted"), ("closed", "submitted", "lost"), ("updated", "lost", "open")]
    assert await db.fetchval("SELECT count(*) FROM appeal_tasks WHERE claim_id = $1", claim_id) == 1
    assert await db.fetchval("SELECT task_id FROM decisions WHERE event_id = $1", f"rm-{run_id}-2") == task["task_id"]

    async def reconsideration():
        return [r for r in await read_json(stack.bootstrap, "followups.records-request.v1")
                if r["claim_id"] == claim_id and r["details"].get("appeal_level") == 2]

    (followup,) = await eventually(reconsideration, message="the reconsideration follow-up")
    assert followup["due_date"] == "2026-12-03"


async def test_a_recoupment_on_a_claim_whose_task_was_won_flags_the_task(stack, worker, db, run_id):
    p = payer(run_id)
    claim_id = f"PC-{run_id}"
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}-1", claim_id, payer=p, trace_number=f"EFT-{run_id}-1", lines=[events.line(
            "1", "64483", ["RT"], charge=1200.00, paid=0.00, adjustments=[adj("CO", "50", 1200.00)])])])
    paid = [events.line("1", "64483", ["RT"], charge=1200.00, paid=812.40, allowed=1015.50,
                        adjustments=[adj("CO", "45", 184.50), adj("PR", "2", 203.10)])]
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}-2", claim_id, payer=p, lines=paid, occurred_at="2026-05-01T10:00:00Z",
        production_date="2026-04-29", trace_number=f"EFT-{run_id}-2", remarks=["MA91"])])
    won = await eventually(lambda: db.fetchrow(
        "SELECT * FROM appeal_tasks WHERE claim_id = $1 AND state = 'won'", claim_id), message="the won task")
    assert won["recovered_amount"] == Decimal("812.40")

    npi = f"NPI{run_id}"

    def plb(event_id: str, reason: str, amount: float, claim: str | None) -> dict:
        return {"event_id": event_id, "schema_version": 1, "occurred_at": "2026-07-01T10:00:00Z", "payer": p,
                "payee": {"npi": npi}, "remit": {"trace_number": f"EFT-{event_id}", "production_date": "2026-06-29"},
                "adjustment": {"reason": reason, "reference": f"ICN-{claim_id}", "claim_id": claim,
                               "amount": amount}}

    await publish_json(stack.bootstrap, "remittance.provider-adjustments.v1", [
        plb(f"plb-{run_id}-1", "WO", 812.40, claim_id), plb(f"plb-{run_id}-2", "WO", 95.00, f"PC-{run_id}-unknown")],
        key_of=lambda e: e["payee"]["npi"])
    flagged = await eventually(lambda: db.fetchrow(
        "SELECT * FROM appeal_tasks WHERE task_id = $1 AND recouped_amount IS NOT NULL", won["task_id"]),
        message="the recoupment flag")
    assert (flagged["state"], flagged["recouped_amount"]) == ("won", Decimal("812.40"))
    note = await db.fetchval("SELECT note FROM task_events WHERE task_id = $1 AND causation_id = $2",
                             won["task_id"], f"plb-{run_id}-1")
    assert note.startswith("recoupment WO (overpayment recovery) of 812.40")
    async def both():
        rows = await db.fetch("SELECT event_id, linked FROM provider_adjustments WHERE payee_npi = $1 "
                              "ORDER BY event_id", npi)
        return rows if len(rows) == 2 else None

    linked = await eventually(both, message="both provider adjustments stored")
    assert [(r["event_id"], r["linked"]) for r in linked] == [(f"plb-{run_id}-1", True), (f"plb-{run_id}-2", False)]
