"""How the payers answer the practice's claims, and what the practice does next.

`plan_claims` decides, per visit, what happens to its claim: most are paid (CO-45 contractual, PR-1/2/3 cost share,
CO-253 sequestration on Medicare), some are denied for the causes a pain practice sees (reference sections 2 and 5:
authorization, LCD medical necessity, modifiers, 77003 bundling, frequency, eligibility, COB, timely filing,
duplicates, documentation, enrollment), some are rejected at the front door (277CA) and resubmitted. After a denial
the practice corrects and resubmits (frequency 7 with the payer's claim number), asks Medicare for a reopening or
appeals; some of those come back paid as a reversal (CLP02 22) followed by a re-adjudication. Payers also reprice
paid claims and recoup payments when another payer turns out to be primary.

`Pricer` turns a claim's lines into remittance lines that balance to the cent (charge = paid + adjustments).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from service.demo.clinic import FEES, MEDICARE_DEDUCTIBLE, SEQUESTRATION_RATE, PayerProfile
from service.demo.encounters import LATERALITY, SINGLE_DOSE, Line, Patient, Visit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# Scenarios whose fix is a corrected claim (or, for Medicare Part B, a clerical-error reopening).
CORRECTABLE = frozenset({"auth_not_on_claim", "kx_missing", "jz_missing", "laterality_missing", "em_no_25",
                         "duplicate_false", "member_id_typo"})
# Scenarios the practice appeals (records, retro-authorization, enrollment made retroactive), and how often the
# payer reverses itself within the demo's months.
APPEAL_WINS = {"auth_missing": 0.35, "lcd_necessity": 0.4, "rfa_no_blocks": 0.5, "records_missing": 0.6,
               "enrollment": 0.7, "frequency": 0.15, "timely_filing": 0.1, "udt_necessity": 0.25}
REJECTIONS = (("A7", "562", "85"), ("A6", "21", "IL"), ("A7", "145", "82"))
LATERAL_CODES = frozenset({"64479", "64483", "64633", "64635", "27096", "G0260"})


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Adj:
    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RemitLine:
    line_id: str
    line: Line
    charge: Decimal
    allowed: Decimal
    paid: Decimal
    adjustments: tuple[Adj, ...]
    remarks: tuple[str, ...] = ()

    def negated(self) -> RemitLine:
        return replace(self, charge=-self.charge, allowed=-self.allowed, paid=-self.paid,
                       adjustments=tuple(Adj(a.group, a.reason, -a.amount) for a in self.adjustments))


@dataclass(frozen=True, slots=True)
class Remit:
    """One payer's adjudication of one claim (a CLP loop), before it gets dates and ids."""

    payer: PayerProfile
    status_code: str
    lines: tuple[RemitLine, ...]
    remarks: tuple[str, ...] = ()

    @property
    def total_charge(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), ZERO)

    @property
    def total_paid(self) -> Decimal:
        return sum((ln.paid for ln in self.lines), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a.amount for ln in self.lines for a in ln.adjustments if a.group == "PR"), ZERO)

    def reversal(self) -> Remit:
        """CLP02 22: the payer takes the whole adjudication back, every amount negated."""
        return Remit(self.payer, "22", tuple(ln.negated() for ln in self.lines), self.remarks)


@dataclass(slots=True)
class ClaimPlan:
    """What happens to one claim: what was billed, how the payer answers, and what follows."""

    number: int
    visit: Visit
    payer: PayerProfile
    lines: list[Line]  # as first billed
    diagnoses: tuple[str, ...]
    member_id: str
    prior_auth: str | None
    scenario: str
    fixed_lines: list[Line]  # what the corrected claim or the reopening bills
    fixed_member_id: str
    fixed_prior_auth: str | None
    followup: str | None = None  # corrected | reopen | appeal_won | repriced | recouped
    rejection: tuple[str, str, str] | None = None  # 277CA rejection before the accepted resubmission
    status_277: tuple[str, str, str | None] | None = None  # a 277 claim status before the 835
    late: bool = False  # submitted after the payer's filing limit
    duplicate_of: int | None = None  # the claim this one duplicates (a resend nobody marked as such)
    resend: bool = False  # the practice will bill this visit again as a new claim (see `plan_duplicate`)
    interest: bool = False  # a prompt-pay interest PLB follows the payment
    first: Remit | None = None
    secondary: Remit | None = None
    after: list[Remit] = field(default_factory=list)  # reversal and re-adjudication, or the corrected claim's 835

    @property
    def patient(self) -> Patient:
        return self.visit.patient


class Pricer:
    """Allowed amounts, cost share and denials for a payer; keeps each patient's remaining deductible."""

    def __init__(self) -> None:
        self._deductible_left: dict[tuple[int, str], Decimal] = {}

    def _deductible(self, patient: Patient, payer: PayerProfile) -> Decimal:
        key = (patient.number, payer.id)
        if key not in self._deductible_left:
            self._deductible_left[key] = MEDICARE_DEDUCTIBLE if payer.type == "medicare" else patient.deductible
        return self._deductible_left[key]

    def _use_deductible(self, patient: Patient, payer: PayerProfile, amount: Decimal) -> Decimal:
        left = self._deductible(patient, payer)
        used = min(left, amount)
        self._deductible_left[(patient.number, payer.id)] = left - used
        return used

    @staticmethod
    def charge(line: Line) -> Decimal:
        fee = FEES[line.code]
        return money(fee.charge * line.units * (2 if "50" in line.modifiers else 1))

    @staticmethod
    def allowed(line: Line, payer: PayerProfile, factor: Decimal = Decimal(1)) -> Decimal:
        fee = FEES[line.code]
        unit = money(fee.medicare * payer.fee_factor * factor)
        bilateral = Decimal("1.5") if "50" in line.modifiers else Decimal(1)
        return money(unit * line.units * bilateral)

    def paid_line(self, line_id: str, line: Line, payer: PayerProfile, patient: Patient, *, copay_taken: bool,
                  deductible: Decimal | None = None, factor: Decimal = Decimal(1)) -> RemitLine:
        """A paid line. `deductible` None: take what is left of the patient's deductible; else exactly that amount
        (a re-adjudication keeps the deductible the first adjudication applied)."""
        charge = self.charge(line)
        allowed = min(self.allowed(line, payer, factor), charge)
        adjustments = [Adj("CO", payer.contractual_reason, charge - allowed)] if charge > allowed else []
        patient_share = ZERO
        if payer.cost_share == "medicare":
            ded = self._use_deductible(patient, payer, allowed) if deductible is None else min(deductible, allowed)
            coins = money((allowed - ded) * payer.coinsurance)
            before = allowed - ded - coins
            seq = money(before * SEQUESTRATION_RATE)
            adjustments += [Adj("PR", "1", ded), Adj("PR", "2", coins), Adj("CO", "253", seq)]
            paid = before - seq
        else:
            if payer.cost_share in ("advantage", "commercial") and line.is_visit and not copay_taken:
                patient_share = min(payer.visit_copay, allowed)
                adjustments.append(Adj("PR", "3", patient_share))
            elif payer.cost_share == "commercial" and not line.is_visit:
                ded = self._use_deductible(patient, payer, allowed) if deductible is None else min(deductible, allowed)
                coins = money((allowed - ded) * payer.coinsurance)
                adjustments += [Adj("PR", "1", ded), Adj("PR", "2", coins)]
                patient_share = ded + coins
            elif payer.cost_share == "advantage" and not line.is_visit:
                patient_share = money(allowed * payer.coinsurance)
                adjustments.append(Adj("PR", "2", patient_share))
            paid = allowed - patient_share
        kept = tuple(a for a in adjustments if a.amount > 0)
        return RemitLine(line_id, line, charge, allowed, paid, kept)

    def denied_line(self, line_id: str, line: Line, group: str, reason: str,
                    remarks: tuple[str, ...] = ()) -> RemitLine:
        charge = self.charge(line)
        return RemitLine(line_id, line, charge, ZERO, ZERO, (Adj(group, reason, charge),), remarks)

    def adjudicate(self, plan: ClaimPlan, lines: list[Line], *, denial: str | None, redo: Remit | None = None,
                   factor: Decimal = Decimal(1)) -> Remit:
        """The primary payer's answer: paid lines, and the lines `denial` (a scenario) takes out. `redo`: the
        adjudication this one replaces (its deductible stands; nothing more is taken from the patient's)."""
        kept_deductible = {ln.line_id: sum((a.amount for a in ln.adjustments if a.group == "PR" and a.reason == "1"),
                                           ZERO) for ln in redo.lines} if redo is not None else None
        payer, patient = plan.payer, plan.patient
        out: list[RemitLine] = []
        copay_taken = False
        for i, line in enumerate(lines, start=1):
            line_id = str(i)
            rule = _denial_rule(denial, plan, line, i, lines) if denial else None
            if rule is None:
                deductible = None if kept_deductible is None else kept_deductible.get(line_id, ZERO)
                out.append(self.paid_line(line_id, line, payer, patient, copay_taken=copay_taken,
                                          deductible=deductible, factor=factor))
                copay_taken = copay_taken or line.is_visit
            else:
                out.append(self.denied_line(line_id, line, *rule))
        covered = any(ln.allowed > 0 for ln in out)  # a claim all on the deductible is processed, not denied
        if not covered:
            status = "4"
        elif patient.secondary is not None and payer.type == "medicare":
            status = "19"  # processed as primary and forwarded to the supplemental payer (crossover)
        else:
            status = "1"
        remarks = ("N782",) if patient.qmb and payer.type == "medicare" and covered else ()
        return Remit(payer, status, tuple(out), remarks)

    def secondary(self, plan: ClaimPlan, primary: Remit) -> Remit:
        """The supplemental payer after a Medicare crossover: Medigap pays the coinsurance, Medicaid (QMB) pays up to
        its own rate and the rest of the cost share is written off (never billed to the patient)."""
        payer = plan.patient.secondary
        assert payer is not None
        out: list[RemitLine] = []
        for ln in primary.lines:
            ded = sum((a.amount for a in ln.adjustments if a.group == "PR" and a.reason == "1"), ZERO)
            coins = sum((a.amount for a in ln.adjustments if a.group == "PR" and a.reason == "2"), ZERO)
            if ln.allowed <= 0:  # denied by Medicare: nothing for the supplemental payer either
                out.append(RemitLine(ln.line_id, ln.line, ln.charge, ZERO, ZERO, (Adj("OA", "23", ln.charge),)))
                continue
            if payer.type == "medicaid":
                medicaid_rate = self.allowed(ln.line, payer)
                paid = max(ZERO, min(ded + coins, medicaid_rate - ln.paid))
                write_off = ded + coins - paid
                adjustments = [Adj("OA", "23", ln.charge - paid - write_off), Adj("CO", "45", write_off)]
            else:  # Medigap plan G: everything but the Part B deductible
                paid = coins
                adjustments = [Adj("OA", "23", ln.charge - paid - ded), Adj("PR", "1", ded)]
            out.append(RemitLine(ln.line_id, ln.line, ln.charge, ln.allowed, paid,
                                 tuple(a for a in adjustments if a.amount > 0)))
        return Remit(payer, "2", tuple(out))


def _denial_rule(scenario: str, plan: ClaimPlan, line: Line, index: int,
                 lines: list[Line]) -> tuple[str, str, tuple[str, ...]] | None:
    """(group, reason, remarks) when `scenario` denies this line, else None (the line is paid)."""
    medicare = plan.payer.type == "medicare"
    advantage = plan.payer.type == "medicare_advantage"
    service = not line.is_visit  # procedures, tests and drugs; an E/M visit on the claim is judged on its own
    match scenario:
        case "auth_missing":
            return ("CO", "197", ())
        case "auth_not_on_claim":
            return ("CO", "197", ("M62",))
        case "lcd_necessity" | "rfa_no_blocks":
            return ("CO", "50", ("N115",) if medicare or advantage else ()) if service else None
        case "abn_patient_liable":
            return ("PR", "50", ("N115",)) if service else None
        case "kx_missing":
            return ("CO", "4", ("N822",)) if line.code in ("64490", "64491", "64493", "64494") else None
        case "jz_missing":
            return ("CO", "4", ("N822",)) if line.code in SINGLE_DOSE and not line.modifiers else None
        case "laterality_missing":
            return ("CO", "4", ("N822",)) if line.code in LATERAL_CODES and not line.modifiers else None
        case "fluoro_bundled":
            return ("CO", "97", ("N20",)) if line.code == "77003" else None
        case "em_no_25":
            return ("CO", "97", ()) if line.is_visit else None
        case "udt_necessity":
            return ("CO", "50", ("N115",) if medicare or advantage else ()) \
                if line.code in ("G0481", "G0482", "G0483") else None
        case "records_missing":
            return ("CO", "252", ("M127",)) if service else None
        case "frequency":
            return ("CO", "151" if medicare else "119", ()) if service else None
        case "duplicate_false":
            # the left side billed on its own line looks like a repeat of the right side to the payer
            return ("OA", "18", ()) if "LT" in line.modifiers and any(
                "RT" in other.modifiers and other.code == line.code for other in lines[:index - 1]) else None
        case "duplicate_true":
            return ("OA", "18", ())
        case "member_id_typo":
            return ("CO", "31", ())
        case "coverage_ended":
            return ("CO", "27", ())
        case "cob_other_primary" | "recouped":
            return ("CO", "22", ())
        case "timely_filing":
            return ("CO", "29", ())
        case "enrollment":
            return ("CO", "185", ())
    return None


# -- planning ------------------------------------------------------------------------------------------------------


def _strip(lines: list[Line], drop: set[str], where) -> list[Line]:
    return [ln.with_modifiers(*[m for m in ln.modifiers if m not in drop]) if where(ln) else ln for ln in lines]


def _split_bilateral(lines: list[Line]) -> list[Line]:
    """Bill a bilateral procedure as right and left lines (which the payer then reads as a duplicate)."""
    out: list[Line] = []
    for ln in lines:
        if "50" in ln.modifiers:
            rest = tuple(m for m in ln.modifiers if m != "50")
            out += [ln.with_modifiers("RT", *rest), ln.with_modifiers("LT", *rest)]
        else:
            out.append(ln)
    return out


def _typo(rng: random.Random, member_id: str) -> str:
    digits = [i for i, c in enumerate(member_id) if c.isdigit()]
    i = rng.choice(digits)
    return member_id[:i] + str((int(member_id[i]) + rng.randint(1, 8)) % 10) + member_id[i + 1:]


def _weights(visit: Visit, payer: PayerProfile) -> list[tuple[str, float]]:
    kind, ptype = visit.kind, payer.type
    mods = [m for ln in visit.lines for m in ln.modifiers]
    options: list[tuple[str, float]] = [("paid", 65.0)]
    if kind in payer.auth_kinds:
        options += [("auth_missing", 3.5), ("auth_not_on_claim", 3.0)]
    if ptype in ("medicare", "medicare_advantage") and kind in ("esi", "facet", "rfa"):
        options.append(("lcd_necessity", 5.0))
    if ptype == "medicare" and kind in ("esi", "facet", "rfa"):
        options.append(("abn_patient_liable", 2.5))
    if ptype == "medicare" and kind == "facet":
        options.append(("kx_missing", 8.0))
    # A drug given without waste: Medicare (and a plan that follows it) denies the single-dose one without JZ.
    drug_whole = any(ln.is_drug and not ln.wasted and "JW" not in ln.modifiers for ln in visit.lines)
    if ptype in ("medicare", "medicare_advantage") and drug_whole:
        options.append(("jz_missing", 4.0))
    if ptype in ("commercial", "medicaid", "workers_comp") and any(
            ln.code in LATERAL_CODES and set(ln.modifiers) & set(LATERALITY) for ln in visit.lines):
        options.append(("laterality_missing", 4.0))
    if kind in ("esi", "facet", "rfa", "si"):
        options.append(("fluoro_bundled", 3.0))
        if "50" in mods and ptype in ("commercial", "medicare", "medicare_advantage"):
            options.append(("duplicate_false", 5.0))
    if "25" in mods:
        options.append(("em_no_25", 25.0))
    definitive = {ln.code for ln in visit.lines} & {"G0481", "G0482", "G0483"}
    if definitive and ptype in ("medicare", "medicare_advantage", "medicaid"):
        # the more drug classes a definitive test covers, the likelier the LCD's "medically necessary" test fails
        options.append(("udt_necessity", 20.0 if definitive == {"G0481"} else 60.0))
    if kind in ("scs_implant", "rfa") and ptype in ("medicare_advantage", "commercial", "workers_comp"):
        options.append(("records_missing", 8.0))
    if ptype != "medicare":
        options.append(("member_id_typo", 1.5))
    if ptype in ("commercial", "medicare_advantage"):
        options.append(("cob_other_primary", 1.5))
    if ptype == "commercial":
        options.append(("timely_filing", 1.5))
    options.append(("duplicate_true", 1.0))
    return options


def _scenario(rng: random.Random, visit: Visit, payer: PayerProfile) -> str:
    ends = visit.patient.coverage_ends
    if ends and payer is visit.patient.payer and visit.dos > ends:
        return "coverage_ended"
    if not visit.rendering.enrolled_with(payer.id, visit.dos):
        return "enrollment"
    if visit.over_limit and rng.random() < 0.85:
        return "frequency"
    if visit.without_blocks and payer.type in ("medicare", "medicare_advantage") and rng.random() < 0.8:
        return "rfa_no_blocks"
    options = _weights(visit, payer)
    return rng.choices([name for name, _ in options], weights=[w for _, w in options])[0]


def _auth_number(rng: random.Random) -> str:
    return f"PA{rng.randint(10_000_000, 99_999_999)}"


def plan_claim(rng: random.Random, number: int, visit: Visit) -> ClaimPlan:
    """Decide what happens to the visit's claim (before any dates): billed lines, scenario, follow-up."""
    patient = visit.patient
    payer, member_id = patient.payer_on(visit.dos)
    scenario = _scenario(rng, visit, payer)
    resend = scenario == "duplicate_true"
    if resend:
        scenario = "paid"  # the original is paid; the resend (`plan_duplicate`) is the one denied OA-18
    lines, fixed = list(visit.lines), list(visit.lines)
    diagnoses = visit.diagnoses
    prior_auth = _auth_number(rng) if visit.kind in payer.auth_kinds else None
    fixed_auth = prior_auth
    billed_member_id = member_id
    match scenario:
        case "auth_missing":
            prior_auth = fixed_auth = None
        case "auth_not_on_claim":
            prior_auth = None  # approved, but the number never made it onto the claim
        case "kx_missing":
            lines = _strip(lines, {"KX"}, lambda ln: True)
        case "jz_missing":
            lines = _strip(lines, {"JZ"}, lambda ln: ln.is_drug)
        case "laterality_missing":
            lines = _strip(lines, set(LATERALITY), lambda ln: ln.code in LATERAL_CODES)
        case "em_no_25":
            lines = _strip(lines, {"25"}, lambda ln: ln.is_visit)
        case "fluoro_bundled":
            procedures = [ln for ln in lines if not ln.is_drug and not ln.is_visit]
            lines = procedures + [Line("77003")] + [ln for ln in lines if ln.is_drug or ln.is_visit]
            fixed = lines
        case "duplicate_false":
            lines = _split_bilateral(lines)
            fixed = lines  # Medicare reopens the same lines; other payers get a corrected claim (below)
        case "abn_patient_liable":
            lines = [ln.with_modifiers(*ln.modifiers, "GA") if not ln.is_drug and not ln.is_visit else ln
                     for ln in lines]
            fixed = lines
        case "lcd_necessity" if visit.kind == "esi" and rng.random() < 0.5:
            diagnoses = ("M54.50",)  # axial pain only: not what the epidural LCD covers
        case "member_id_typo":
            billed_member_id = _typo(rng, member_id)
    plan = ClaimPlan(number=number, visit=visit, payer=payer, lines=lines, diagnoses=diagnoses,
                     member_id=billed_member_id, prior_auth=prior_auth, scenario=scenario, fixed_lines=fixed,
                     fixed_member_id=member_id, fixed_prior_auth=fixed_auth, resend=resend)
    if scenario == "duplicate_false" and payer.type != "medicare":
        plan.fixed_lines = list(visit.lines)  # the corrected claim bills one line with modifier 50
    plan.followup = _followup(rng, plan)
    if rng.random() < 0.025:
        plan.rejection = rng.choice(REJECTIONS)
    plan.status_277 = _status_277(rng, plan)
    plan.late = scenario == "timely_filing"
    return plan


def _followup(rng: random.Random, plan: ClaimPlan) -> str | None:
    scenario, ptype = plan.scenario, plan.payer.type
    if scenario in CORRECTABLE:
        if rng.random() < 0.85:
            return "reopen" if ptype == "medicare" else "corrected"
        return None
    if scenario in APPEAL_WINS:
        return "appeal_won" if rng.random() < APPEAL_WINS[scenario] else None
    if scenario == "paid":
        if ptype in ("medicare", "medicare_advantage") and rng.random() < 0.03:
            return "repriced"  # a retroactive fee schedule correction
        if ptype in ("commercial", "medicare_advantage") and rng.random() < 0.015:
            return "recouped"  # another payer turned out to be primary: payment taken back
    return None


def _status_277(rng: random.Random, plan: ClaimPlan) -> tuple[str, str, str | None] | None:
    if plan.scenario == "records_missing":
        return ("P3", "21", "1P")  # the payer asks for the operative note before it decides
    if plan.scenario == "auth_missing" and plan.payer.type != "medicare" and rng.random() < 0.5:
        return ("F2", "84", "1P")
    if plan.scenario == "coverage_ended" and rng.random() < 0.6:
        return ("F2", "88", "IL")
    if rng.random() < 0.04:
        return ("P1", "20", None)
    return None


def plan_duplicate(number: int, original: ClaimPlan) -> ClaimPlan:
    """The same visit billed again as a new claim (a resend after no answer), which the payer denies OA-18."""
    return ClaimPlan(number=number, visit=original.visit, payer=original.payer, lines=list(original.lines),
                     diagnoses=original.diagnoses, member_id=original.member_id, prior_auth=original.prior_auth,
                     scenario="duplicate_true", fixed_lines=list(original.lines), fixed_member_id=original.member_id,
                     fixed_prior_auth=original.prior_auth, duplicate_of=original.number)


def adjudicate_plan(pricer: Pricer, rng: random.Random, plan: ClaimPlan) -> None:
    """Fill in the payer's remittances: the first 835, the supplemental payer's, and what follows."""
    denial = None if plan.scenario == "paid" else plan.scenario
    plan.first = first = pricer.adjudicate(plan, plan.lines, denial=denial)
    if first.status_code == "19":
        plan.secondary = pricer.secondary(plan, first)
    match plan.followup:
        case "reopen" | "appeal_won":
            plan.after = [first.reversal(), pricer.adjudicate(plan, plan.fixed_lines, denial=None, redo=first)]
        case "corrected":
            plan.after = [pricer.adjudicate(plan, plan.fixed_lines, denial=None, redo=first)]
        case "repriced":
            plan.after = [first.reversal(), pricer.adjudicate(plan, plan.lines, denial=None, redo=first,
                                                              factor=Decimal("1.02"))]
        case "recouped":
            plan.after = [first.reversal(), pricer.adjudicate(plan, plan.lines, denial="recouped", redo=first)]
    # prompt-pay interest on commercial payments that took long (decided here, dated in the stream)
    plan.interest = plan.payer.type == "commercial" and first.total_paid > 0 and rng.random() < 0.25


