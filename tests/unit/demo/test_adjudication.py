"""How the demo's payers price and deny: cost share, sequestration, crossovers, reversals, denial rules."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from service.demo.adjudication import ClaimPlan, Pricer, adjudicate_plan, plan_claim
from service.demo.clinic import EPOCH, MEDICARE_DEDUCTIBLE, PAYER_BY_ID, PROVIDERS
from service.demo.encounters import Line, Patient, Visit

D = Decimal


def patient(payer_id: str = "MCR-JH", **extra) -> Patient:
    return Patient(number=1, ref="demo-t-MRN00001", last="DOE", first="JANE", birth_date=dt.date(1950, 1, 1),
                   payer=PAYER_BY_ID[payer_id], member_id="1EG4TE5MK72", **extra)


def visit(p: Patient, lines: list[Line], kind: str = "esi", day: dt.date = EPOCH) -> Visit:
    return Visit(patient=p, dos=day, kind=kind, region="lumbar", lines=lines, diagnoses=("M54.16",),
                 rendering=PROVIDERS[0])


def plan(v: Visit, scenario: str = "paid", lines: list[Line] | None = None) -> ClaimPlan:
    billed = lines or v.lines
    return ClaimPlan(number=1, visit=v, payer=v.patient.payer, lines=billed, diagnoses=v.diagnoses,
                     member_id=v.patient.member_id, prior_auth=None, scenario=scenario, fixed_lines=v.lines,
                     fixed_member_id=v.patient.member_id, fixed_prior_auth=None)


def adjustments(line) -> dict[str, Decimal]:
    return {f"{a.group}-{a.reason}": a.amount for a in line.adjustments}


def test_medicare_applies_the_deductible_once_then_coinsurance_and_sequestration():
    p = patient()
    pricer = Pricer()
    first = pricer.adjudicate(plan(visit(p, [Line("64483", ("RT",))])), [Line("64483", ("RT",))], denial=None)
    line = first.lines[0]
    adj = adjustments(line)
    assert line.allowed == D("262.18")
    assert adj["CO-45"] == D("1560.00") - D("262.18")
    assert adj["PR-1"] == D("262.18")  # the whole allowed amount goes to the deductible
    assert line.paid == 0 and first.status_code == "1"
    second = pricer.adjudicate(plan(visit(p, [Line("64493", ("50", "KX"))])), [Line("64493", ("50", "KX"))],
                               denial=None)
    line = second.lines[0]
    adj = adjustments(line)
    assert line.allowed == D("306.03")  # bilateral: 150% of 204.02
    assert adj["PR-1"] == MEDICARE_DEDUCTIBLE - D("262.18")
    assert adj["PR-2"] == ((line.allowed - adj["PR-1"]) * D("0.20")).quantize(D("0.01"))
    assert adj["CO-253"] > 0
    assert line.charge == line.paid + sum(adj.values())


def test_commercial_copay_on_the_visit_and_coinsurance_on_the_procedure():
    p = patient("BCBS-TX", deductible=D("0"))
    lines = [Line("64483", ("RT",)), Line("99213", ("25",))]
    remit = Pricer().adjudicate(plan(visit(p, lines)), lines, denial=None)
    procedure, office = remit.lines
    assert adjustments(procedure)["PR-2"] == (procedure.allowed * D("0.20")).quantize(D("0.01"))
    assert adjustments(office)["PR-3"] == D("40.00")
    assert remit.patient_responsibility == adjustments(procedure)["PR-2"] + D("40.00")


def test_workers_comp_pays_its_fee_schedule_without_cost_share():
    p = patient("GRANITE-WC")
    remit = Pricer().adjudicate(plan(visit(p, [Line("20552")], "tpi")), [Line("20552")], denial=None)
    assert set(adjustments(remit.lines[0])) == {"CO-P12"}
    assert remit.patient_responsibility == 0


@pytest.mark.parametrize(("scenario", "expected"), [
    ("auth_missing", {"1": "CO-197", "2": "CO-197"}),
    ("lcd_necessity", {"1": "CO-50", "2": "CO-50"}),
    ("jz_missing", {"2": "CO-4"}),
    ("frequency", {"1": "CO-151", "2": "CO-151"}),
    ("timely_filing", {"1": "CO-29", "2": "CO-29"}),
])
def test_a_denial_takes_out_the_lines_it_concerns(scenario, expected):
    p = patient()
    lines = [Line("64483", ("RT",)), Line("J1040", ())] if scenario == "jz_missing" else \
        [Line("64483", ("RT",)), Line("J1040", ("JZ",))]
    remit = Pricer().adjudicate(plan(visit(p, lines), scenario), lines, denial=scenario)
    denied = {ln.line_id: f"{ln.adjustments[0].group}-{ln.adjustments[0].reason}" for ln in remit.lines
              if ln.paid == 0 and ln.allowed == 0}
    assert denied == expected
    assert remit.status_code == ("4" if len(expected) == len(lines) else "1")


def test_an_lcd_denial_carries_the_lcd_remark_and_spares_the_office_visit():
    p = patient()
    lines = [Line("64483", ("RT",)), Line("99214", ("25",))]
    remit = Pricer().adjudicate(plan(visit(p, lines), "lcd_necessity"), lines, denial="lcd_necessity")
    procedure, office = remit.lines
    assert procedure.remarks == ("N115",) and procedure.paid == 0
    assert office.allowed > 0


def test_a_medigap_crossover_pays_the_coinsurance_and_leaves_the_deductible_to_the_patient():
    p = patient(secondary=PAYER_BY_ID["MEDIGAP-HERITAGE"], secondary_member_id="HMG1")
    the_plan = plan(visit(p, [Line("64635", ("RT",))], "rfa"))
    adjudicate_plan(Pricer(), random.Random(1), the_plan)
    assert the_plan.first is not None and the_plan.secondary is not None
    assert the_plan.first.status_code == "19"  # processed as primary, forwarded
    primary, second = the_plan.first.lines[0], the_plan.secondary.lines[0]
    assert second.paid == adjustments(primary)["PR-2"]
    assert adjustments(second)["PR-1"] == adjustments(primary)["PR-1"]
    assert the_plan.secondary.status_code == "2"
    assert second.charge == second.paid + sum(a.amount for a in second.adjustments)


def test_a_qmb_crossover_never_leaves_anything_to_the_patient():
    p = patient(secondary=PAYER_BY_ID["MCD-TX"], secondary_member_id="512345678", qmb=True)
    the_plan = plan(visit(p, [Line("64635", ("RT",))], "rfa"))
    adjudicate_plan(Pricer(), random.Random(1), the_plan)
    assert the_plan.first is not None and the_plan.secondary is not None
    assert the_plan.first.remarks == ("N782",)
    assert the_plan.secondary.patient_responsibility == 0


def test_a_reversal_negates_every_amount():
    p = patient()
    remit = Pricer().adjudicate(plan(visit(p, [Line("64483", ("RT",))])), [Line("64483", ("RT",))], denial=None)
    reversal = remit.reversal()
    assert reversal.status_code == "22"
    assert reversal.total_charge == -remit.total_charge and reversal.total_paid == -remit.total_paid
    assert [a.amount for a in reversal.lines[0].adjustments] == [-a.amount for a in remit.lines[0].adjustments]


def test_a_medicare_fix_is_a_reopening_and_other_payers_get_a_corrected_claim():
    rng = random.Random(5)
    medicare, commercial = patient(), patient("BCBS-TX")
    lines = [Line("64483", ("RT",)), Line("J1040", ("JZ",))]
    seen = {"medicare": set(), "commercial": set()}
    for _ in range(400):
        for who, p in (("medicare", medicare), ("commercial", commercial)):
            the_plan = plan_claim(rng, 1, visit(p, list(lines)))
            if the_plan.scenario in ("jz_missing", "laterality_missing", "auth_not_on_claim") and the_plan.followup:
                seen[who].add(the_plan.followup)
    assert seen["medicare"] == {"reopen"}
    assert seen["commercial"] == {"corrected"}


def test_a_missing_modifier_is_missing_on_the_claim_and_back_on_the_fix():
    rng = random.Random(11)
    lines = [Line("64493", ("50", "KX")), Line("64494", ("50", "KX"))]
    for _ in range(2000):
        the_plan = plan_claim(rng, 1, visit(patient(), list(lines), "facet"))
        if the_plan.scenario == "kx_missing":
            break
    else:
        pytest.fail("no kx_missing scenario drawn")
    assert all("KX" not in ln.modifiers for ln in the_plan.lines)
    assert all("KX" in ln.modifiers for ln in the_plan.fixed_lines)
