"""The underpayment check inside the batch use case: one fee-schedule read per batch, a contracts task, the
`followups.underpayment.v1` record with the expected and paid amounts and how the expectation was computed, and the
task won when the payer repays at the contract rate. Amounts: the worked example of test_expected_reimbursement.py
(line 1 64483-50 expected 235.20, paid 156.80, short 78.40)."""

from __future__ import annotations

import json
from decimal import Decimal

from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.domain.pricing import Tolerance, load_pricing_rules
from service.domain.tasks import task_id_for
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, Pricing, process_batch
from tests.support import events
from tests.unit.revenue.builders import EXAMPLE_RATES
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.remittance import RemittanceEvent

CLOCK = SystemClock()

MCR = {"id": "MCR-JL", "name": "Medicare Part B JL", "type": "medicare"}
PRICING = Pricing(load_pricing_rules(), Tolerance(Decimal("1.00")))


def adj(group: str, reason: str, amount: float) -> dict:
    return {"group": group, "reason": reason, "amount": amount}


def example(line1_paid: float, line1_adjustments: list[dict]) -> list[dict]:
    def ln(line_id, code, mods, charge, paid, adjustments):
        out = events.line(line_id, code, mods, charge=charge, paid=paid, adjustments=adjustments)
        out["allowed"] = None  # not sent: the payer's allowable is paid + patient share + sequestration
        return out

    return [
        ln("1", "64483", ["50"], 1500.00, line1_paid, line1_adjustments),
        ln("2", "64484", ["50"], 700.00, 105.84, [adj("CO", "45", 565.00), adj("PR", "2", 27.00),
                                                  adj("CO", "253", 2.16)]),
        ln("3", "27096", ["RT"], 500.00, 39.20, [adj("CO", "59", 50.00), adj("CO", "45", 400.00),
                                                 adj("PR", "2", 10.00), adj("CO", "253", 0.80)]),
        ln("4", "20552", [], 250.00, 23.52, [adj("CO", "59", 30.00), adj("CO", "45", 190.00), adj("PR", "2", 6.00),
                                             adj("CO", "253", 0.48)]),
    ]


UNDERPAID = example(156.80, [adj("CO", "45", 1300.00), adj("PR", "2", 40.00), adj("CO", "253", 3.20)])
REPAID = example(235.20, [adj("CO", "45", 1200.00), adj("PR", "2", 60.00), adj("CO", "253", 4.80)])


def remit(event_id: str, claim_id: str, lines: list[dict], *, at: str = "2026-03-02T14:05:00Z",
          status_code: str = "1") -> Inbound:
    record = events.remittance(event_id, claim_id, payer=MCR, lines=lines, occurred_at=at, status_code=status_code)
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


def fake() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fee_rates = list(EXAMPLE_RATES)
    return uow


async def test_an_underpaid_line_opens_a_contracts_task_and_an_underpayment_followup_with_the_computation():
    uow = fake()
    await process_batch([remit("rm-1", "PC-1", UNDERPAID), remit("rm-2", "PC-2", REPAID)], uow, load_classifier(),
                        pricing=PRICING, clock=CLOCK)
    # one read for the whole batch, for every (payer, code) it carries
    assert uow.fee_reads == [{("MCR-JL", "64483"), ("MCR-JL", "64484"), ("MCR-JL", "27096"), ("MCR-JL", "20552")}]
    assert uow.claims["PC-2"].tasks == {}  # paid as the contract says: nothing to do
    (t,) = uow.claims["PC-1"].tasks.values()
    assert (t.category, t.queue, t.action, t.state) == ("pricing", "contracts", "contract_review", "open")
    assert t.amount_at_risk == Decimal("78.40") and [x.line_id for x in t.lines] == ["1"]
    (f,) = [json.loads(r.payload) for r in uow.saved[-1].outbox if r.topic == "followups.underpayment.v1"]
    assert f["claim_id"] == "PC-1" and f["amount"] == 78.40 and f["action"] == "contract_review"
    d = f["details"]
    assert (d["expected_amount"], d["paid_amount"], d["shortfall"]) == (235.20, 156.80, 78.40)
    assert d["computation"] == [
        "line 1 64483-50: MCR-JL fee schedule 64483 $200.00 (from 2026-01-01); bilateral (modifier 50, indicator 1) "
        "at 150 % = $300.00; ranked 1 of 3 same-session procedures by fee: 100 % of $300.00 = $300.00; expected "
        "allowable $300.00; coinsurance at the payer's 20 % of the allowable after $0.00 fixed patient share = "
        "$60.00; sequestration 2 % of $240.00 = $4.80; expected payment $235.20; paid $156.80"]
    (line,) = d["underpaid_lines"]
    assert (line["rate"], line["expected_allowed"], line["rank"], line["ranked_in_session"]) == (200.00, 300.00, 1, 3)
    rows = [r for r in uow.saved[-1].decisions if r.remittance.claim_id == "PC-1" and r.decision.category == "pricing"]
    assert [(r.decision.reason, r.task_id) for r in rows] == [("45", task_id_for("PC-1", "MCR-JL", "pricing"))]


async def test_a_reversal_and_a_repayment_at_the_contract_rate_win_the_underpayment_task():
    uow = fake()
    await process_batch([remit("rm-1", "PC-1", UNDERPAID)], uow, load_classifier(), pricing=PRICING, clock=CLOCK)
    reversal = [dict(x, charge=-x["charge"], paid=-x["paid"],
                     adjustments=[dict(a, amount=-a["amount"]) for a in x["adjustments"]]) for x in UNDERPAID]
    await process_batch([remit("rm-2", "PC-1", reversal, at="2026-04-01T10:00:00Z", status_code="22"),
                         remit("rm-3", "PC-1", REPAID, at="2026-04-01T10:00:01Z")], uow, load_classifier(),
                        pricing=PRICING, clock=CLOCK)
    (t,) = uow.claims["PC-1"].tasks.values()
    assert (t.state, t.recovered_amount) == ("won", Decimal("78.40"))  # 235.20 repaid - 156.80 paid before


async def test_a_batch_without_primary_adjudications_reads_no_fee_schedule():
    uow = fake()
    await process_batch([remit("rm-1", "PC-1", UNDERPAID, status_code="2")], uow, load_classifier(), pricing=PRICING,
                        clock=CLOCK)
    assert uow.fee_reads == [] and uow.claims["PC-1"].tasks == {}


async def test_a_disputed_underpayment_paid_short_again_is_lost_and_does_not_climb_the_appeal_ladder():
    import datetime as dt

    uow = fake()
    await process_batch([remit("rm-1", "PC-1", UNDERPAID)], uow, load_classifier(), pricing=PRICING, clock=CLOCK)
    (t,) = uow.claims["PC-1"].tasks.values()
    t.transition("submitted", at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))  # the dispute was sent
    again = [dict(x) for x in UNDERPAID]
    await process_batch([remit("rm-2", "PC-1", again, at="2026-05-01T10:00:00Z")], uow, load_classifier(),
                        pricing=PRICING, clock=CLOCK)
    (t,) = uow.claims["PC-1"].tasks.values()
    assert (t.state, t.appeal_level, t.action) == ("lost", 1, "contract_review")
    (entry,) = uow.saved[-1].task_audit
    assert (entry.change, entry.from_state, entry.to_state) == ("closed", "submitted", "lost")
    assert entry.note == "upheld: the same denial came back (CO-45)"
