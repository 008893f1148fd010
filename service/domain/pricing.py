"""Expected reimbursement for pain procedures, and the underpayment check on a paid remittance.

For each paid line of a primary adjudication whose payer has a fee schedule on file:

1. the rate: the payer's fee-schedule row for the code on the date of service (`fee_schedule.FeeSchedule.rate`);
2. bilateral: a line with modifier 50 is allowed at the percent its MPFS BILAT indicator gives (150 % for 1), once;
3. multiple procedures: same-session (same date of service) procedures with MULT PROC indicator 2 are ranked by
   their fee after the bilateral step, each unit one procedure; the highest at 100 %, every other at 50 %;
4. add-on codes (and codes with no reduction) at the full rate times units;
5. the allowable is the lesser of the billed charge and that amount;
6. the expected payment is the allowable less the patient's share as the payer stated it (coinsurance scaled to the
   expected allowable at the payer's own rate; deductible and copay as stated), less 2 % sequestration on Medicare
   (and on a line of any other payer that reports sequestration on it, CO-253);
7. a line paid below the expected payment by more than the tolerance is underpaid: the decision of its largest
   contractual adjustment (CO-45, CO-59, CO-253 ...) becomes a `pricing` denial with action `contract_review`.

Lines this cannot price with certainty get no expectation (a wrong expected amount is worse than none): a code
without indicators or rate, modifier 50 where the bilateral indicator is not known, and every ranked line of a session
in which some other ranked procedure could not be priced (its rank would be a guess). Lines denied on the same
remittance are neither priced nor ranked: their denial's task covers them.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from service.domain.checklists import ChecklistBook
from service.domain.clocks import Clocks, appeal_deadline
from service.domain.fee_schedule import FeeRate, FeeSchedule
from service.domain.model import ZERO, ChecklistItem, Decision, RemitLine, Remittance
from service.domain.ruledata import RuleDataError, RuleFiles, rules_root

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
RULE_ID = "pricing.underpaid"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text} %"


def _usd(value: Decimal) -> str:
    return f"${_money(value):.2f}"


def _proc(code: str, modifiers: Sequence[str]) -> str:
    return "-".join((code, *modifiers))


# -- the rules (data) -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CodeIndicators:
    code: str
    bilateral: str | None  # MPFS BILAT indicator; None: not known
    multiple: str | None  # MPFS MULT PROC indicator; None: not known
    addon: bool


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far below the expected payment a line may be paid before it is an underpayment: the larger of an amount
    and a percent of the expected payment (settings DENIALS_UNDERPAYMENT_TOLERANCE_USD / _PERCENT)."""

    amount: Decimal = Decimal("1.00")
    percent: Decimal = ZERO

    def threshold(self, expected: Decimal) -> Decimal:
        return max(self.amount, _money(expected * self.percent / HUNDRED))

    def describe(self) -> str:
        text = _usd(self.amount)
        if self.percent > 0:
            text = f"the larger of {text} and {_pct(self.percent)} of the expected payment"
        return text


@dataclass(frozen=True, slots=True)
class PricingRules:
    version: str
    priced_statuses: frozenset[str]
    lesser_of_charge: bool
    bilateral_modifier: str
    bilateral_percent: dict[str, Decimal]
    ranked_indicators: frozenset[str]
    exempt_indicators: frozenset[str]
    first_percent: Decimal
    others_percent: Decimal
    scaled_reasons: frozenset[str]
    sequestration_percent: Decimal
    sequestration_payer_types: frozenset[str]
    sequestration_reasons: frozenset[str]
    carrier_reasons: tuple[str, ...]
    recoverability: float
    codes: dict[str, CodeIndicators]

    @classmethod
    def from_texts(cls, toml_text: str, codes_csv: str) -> PricingRules:
        try:
            data = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleDataError(f"pricing.toml: {exc}") from None
        try:
            bilateral, multiple = data["bilateral"], data["multiple_procedure"]
            rules = cls(
                version=str(data["VERSION"]),
                priced_statuses=frozenset(str(s) for s in data["priced_claim_statuses"]),
                lesser_of_charge=bool(data.get("lesser_of_charge", True)),
                bilateral_modifier=str(bilateral["modifier"]),
                bilateral_percent={str(k): Decimal(str(v)) for k, v in bilateral["percent"].items()},
                ranked_indicators=frozenset(str(s) for s in multiple["ranked_indicators"]),
                exempt_indicators=frozenset(str(s) for s in multiple["exempt_indicators"]),
                first_percent=Decimal(str(multiple["first"])),
                others_percent=Decimal(str(multiple["others"])),
                scaled_reasons=frozenset(str(s) for s in data["coinsurance"]["scaled_reasons"]),
                sequestration_percent=Decimal(str(data["sequestration"]["percent"])),
                sequestration_payer_types=frozenset(data["sequestration"]["payer_types"]),
                sequestration_reasons=frozenset(str(s) for s in data["sequestration"].get("reasons", ())),
                carrier_reasons=tuple(str(s) for s in data["choose_adjustment"]["reasons"]),
                recoverability=float(data.get("decision", {}).get("recoverability", 0.8)),
                codes=_codes(codes_csv),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise RuleDataError(f"pricing.toml: missing or invalid {exc}") from None
        known = set(rules.bilateral_percent)
        for ind in rules.codes.values():
            if ind.bilateral is not None and ind.bilateral not in known:
                raise RuleDataError(f"pricing_codes.csv {ind.code}: bilateral indicator {ind.bilateral!r} is not "
                                    f"one of {sorted(known)}")
            if ind.multiple is not None and ind.multiple not in rules.ranked_indicators | rules.exempt_indicators:
                raise RuleDataError(f"pricing_codes.csv {ind.code}: multiple-procedure indicator {ind.multiple!r} "
                                    "is neither ranked nor exempt in pricing.toml")
        return rules

    def indicators(self, code: str) -> CodeIndicators | None:
        return self.codes.get(code)


def _codes(text: str) -> dict[str, CodeIndicators]:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    out: dict[str, CodeIndicators] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(body)), start=2):
        where = f"pricing_codes.csv row {number}"
        if None in row or any(v is None for v in row.values()):
            raise RuleDataError(f"{where}: wrong number of columns")
        code = row["code"].strip()
        if not code or code in out:
            raise RuleDataError(f"{where}: empty or repeated code {code!r}")
        addon = row["addon"].strip()
        if addon not in ("0", "1"):
            raise RuleDataError(f"{where}: addon must be 0 or 1")
        out[code] = CodeIndicators(code=code, bilateral=row["bilateral"].strip() or None,
                                   multiple=row["multiple"].strip() or None, addon=addon == "1")
    return out


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> PricingRules:
    files = RuleFiles(root)
    return PricingRules.from_texts(files.text("pricing.toml"), files.text("pricing_codes.csv"))


def load_pricing_rules(data_dir: Path | str | None = None) -> PricingRules:
    """The packaged pricing rules (or another directory's), read once."""
    return _load(Path(data_dir) if data_dir is not None else rules_root())


@functools.lru_cache(maxsize=4)
def _support(root: Path) -> tuple[Clocks, ChecklistBook]:
    files = RuleFiles(root)
    return Clocks.load(files), ChecklistBook.load(files)


# -- the expectation of one line ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LineExpectation:
    """How much one paid line should have been allowed and paid, and how that was computed (`steps`)."""

    line_id: str
    procedure: str
    units: Decimal
    charge: Decimal
    rate: FeeRate
    expected_allowed: Decimal
    payer_allowed: Decimal
    patient_fixed: Decimal  # deductible, copay ... as the payer stated them
    coinsurance_rate: Decimal | None  # the payer's coinsurance share of the allowable, as a fraction
    expected_coinsurance: Decimal
    sequestration: Decimal
    expected_payment: Decimal
    paid: Decimal
    steps: tuple[str, ...]
    rank: int | None = None
    ranked_in_session: int = 0

    @property
    def shortfall(self) -> Decimal:
        return self.expected_payment - self.paid

    def details(self) -> dict[str, Any]:
        """JSON-ready facts for the follow-up's `details`: money as numbers with 2 decimals (as on the wire)."""
        def money(value: Decimal) -> float:
            return float(_money(value))

        return {
            "line_id": self.line_id, "procedure": self.procedure, "units": float(self.units),
            "charge": money(self.charge), "rate": money(self.rate.amount),
            "rate_modifier": self.rate.modifier or None,
            "rate_effective_from": self.rate.effective_from.isoformat(),
            "rate_effective_to": self.rate.effective_to.isoformat() if self.rate.effective_to else None,
            "rank": self.rank, "ranked_in_session": self.ranked_in_session,
            "expected_allowed": money(self.expected_allowed), "payer_allowed": money(self.payer_allowed),
            "patient_fixed": money(self.patient_fixed),
            "coinsurance_rate": None if self.coinsurance_rate is None else round(float(self.coinsurance_rate), 4),
            "expected_coinsurance": money(self.expected_coinsurance), "sequestration": money(self.sequestration),
            "expected_amount": money(self.expected_payment), "paid_amount": money(self.paid),
            "shortfall": money(self.shortfall), "computation": list(self.steps),
        }


@dataclass(slots=True)
class _Candidate:
    """A line on its way to an expectation."""

    index: int
    line: RemitLine
    session: dt.date | None
    rate: FeeRate
    ind: CodeIndicators
    per_unit: Decimal  # after the bilateral step
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PaymentReview:
    """The remittance's decisions after the underpayment check, and what the check found per line."""

    decisions: list[Decision]
    expectations: dict[str, LineExpectation]  # every line priced
    underpaid: dict[str, LineExpectation]  # the lines that got a pricing decision
    not_priced: dict[str, str]  # line id -> why no expectation

    def followup_details(self) -> dict[str, dict[str, Any]]:
        return {line_id: e.details() for line_id, e in self.underpaid.items()}


def is_priced(remit: Remittance, schedule: FeeSchedule, rules: PricingRules) -> bool:
    return remit.status_code in rules.priced_statuses and schedule.has_payer(remit.payer.id)


def fee_keys(remits: Iterable[Remittance], rules: PricingRules | None = None) -> set[tuple[str, str]]:
    """The (payer, code) pairs whose rates a batch needs: every line of the primary adjudications in it."""
    rules = rules or load_pricing_rules()
    return {(r.payer.id, line.procedure.code) for r in remits if r.status_code in rules.priced_statuses
            for line in r.lines}


def expected_reimbursement(remit: Remittance, schedule: FeeSchedule, rules: PricingRules,
                           decisions: Sequence[Decision] = ()) -> tuple[dict[str, LineExpectation], dict[str, str]]:
    """Expectations for the remittance's payable lines, and why the others have none."""
    if not is_priced(remit, schedule, rules):
        return {}, {}
    denied_lines = {d.line_id for d in decisions if d.is_denial and d.line_id is not None}
    not_priced: dict[str, str] = {}
    candidates: list[_Candidate] = []
    blocked: dict[dt.date | None, str] = {}  # session -> why its ranking is unknown
    for index, line in enumerate(remit.lines):
        session = line.service_date or remit.service_date_from or remit.first_service_date
        proc = _proc(line.procedure.code, line.procedure.modifiers)
        ind = rules.indicators(line.procedure.code)
        if line.line_id in denied_lines:
            not_priced[line.line_id] = "denied on this remittance: its denial task covers it"
            continue
        if _payer_allowed(line) <= 0:
            not_priced[line.line_id] = "nothing allowed on the line"
            continue
        why = None
        rate = None
        if ind is None or ind.multiple is None:
            why = f"no pricing indicators for {line.procedure.code} in pricing_codes.csv"
        elif session is None:
            why = "no date of service"
        else:
            rate = schedule.rate(remit.payer.id, line.procedure.code, line.procedure.modifiers, session)
            if rate is None:
                why = f"no rate for {line.procedure.code} on {session.isoformat()} in the {remit.payer.id} fee schedule"
        cand = None
        if why is None:
            cand, why = _bilateral(index, line, session, rate, ind, rules)
        ranked = ind is not None and ind.multiple in rules.ranked_indicators and not ind.addon
        if why is None and ranked and line.units != line.units.to_integral_value():
            why = f"{line.units} units of a ranked procedure"
        if why is not None:
            not_priced[line.line_id] = why
            if ind is None or ind.multiple is None or ranked:
                # its fee would take a rank among the session's procedures: the ranking is unknown
                blocked.setdefault(session, f"line {line.line_id} ({proc}): {why}")
            continue
        candidates.append(cand)

    expectations: dict[str, LineExpectation] = {}
    sessions: dict[dt.date | None, list[_Candidate]] = {}
    for cand in candidates:
        sessions.setdefault(cand.session, []).append(cand)
    for session, group in sessions.items():
        ranked = [c for c in group if c.ind.multiple in rules.ranked_indicators and not c.ind.addon]
        ranked_ids = {c.line.line_id for c in ranked}
        allowed: dict[str, Decimal] = {}
        ranks: dict[str, int] = {}
        if ranked and session in blocked:
            for c in ranked:
                not_priced[c.line.line_id] = (f"the multiple-procedure ranking of {session} is unknown because "
                                              f"{blocked[session]}")
            group = [c for c in group if c.line.line_id not in ranked_ids]
            ranked, ranked_ids = [], set()
        slots = sorted(((c.per_unit, c.index, u, c) for c in ranked for u in range(int(c.line.units))),
                       key=lambda s: (-s[0], s[1], s[2]))
        for position, (value, _, _, c) in enumerate(slots, start=1):
            percent = rules.first_percent if position == 1 else rules.others_percent
            allowed[c.line.line_id] = allowed.get(c.line.line_id, ZERO) + value * percent / HUNDRED
            ranks.setdefault(c.line.line_id, position)
            c.steps.append(f"ranked {position} of {len(slots)} same-session procedures by fee: {_pct(percent)} of "
                           f"{_usd(value)} = {_usd(value * percent / HUNDRED)}")
        for c in group:
            if c.line.line_id in ranked_ids:
                amount = allowed[c.line.line_id]
            else:
                amount = c.per_unit * c.line.units
                kind = "add-on code" if c.ind.addon else "no multiple-procedure reduction"
                c.steps.append(f"{kind}: full rate times {c.line.units.normalize():f} unit(s) = {_usd(amount)}")
            expectations[c.line.line_id] = _settle(remit, c, _money(amount), rules, ranks.get(c.line.line_id),
                                                   len(slots))
    return expectations, not_priced


def _bilateral(index: int, line: RemitLine, session: dt.date | None, rate: FeeRate | None,
               ind: CodeIndicators | None, rules: PricingRules) -> tuple[_Candidate | None, str | None]:
    assert rate is not None and ind is not None
    steps = [rate.describe()]
    if line.units <= 0:
        return None, "no units"
    per_unit = rate.amount
    if rules.bilateral_modifier in line.procedure.modifiers:
        if rate.modifier == rules.bilateral_modifier:
            steps.append(f"the schedule's own modifier-{rules.bilateral_modifier} rate is the bilateral price")
        elif ind.bilateral is None:
            return None, (f"modifier {rules.bilateral_modifier} on {line.procedure.code}, whose bilateral indicator "
                          "is not known")
        elif line.units != 1:
            return None, f"modifier {rules.bilateral_modifier} with {line.units.normalize():f} units (expected 1)"
        else:
            percent = rules.bilateral_percent[ind.bilateral]
            per_unit = rate.amount * percent / HUNDRED
            steps.append(f"bilateral (modifier {rules.bilateral_modifier}, indicator {ind.bilateral}) at "
                         f"{_pct(percent)} = {_usd(per_unit)}")
    return _Candidate(index=index, line=line, session=session, rate=rate, ind=ind, per_unit=per_unit,
                      steps=steps), None


def _pr(line: RemitLine, reasons: frozenset[str], scaled: bool) -> Decimal:
    return sum((a.amount for a in line.adjustments if a.group == "PR" and (a.reason in reasons) == scaled), ZERO)


def _payer_allowed(line: RemitLine) -> Decimal:
    """What the payer allowed: the line's AMT*B6 when sent, else paid + patient share + sequestration."""
    if line.allowed is not None:
        return line.allowed
    patient = sum((a.amount for a in line.adjustments if a.group == "PR"), ZERO)
    sequestration = sum((a.amount for a in line.adjustments if a.group == "CO" and a.reason == "253"), ZERO)
    return line.paid + patient + sequestration


def _settle(remit: Remittance, c: _Candidate, computed: Decimal, rules: PricingRules, rank: int | None,
            ranked_count: int) -> LineExpectation:
    line = c.line
    steps = c.steps
    allowed = computed
    if rules.lesser_of_charge and line.charge < computed:
        allowed = line.charge
        steps.append(f"lesser of the charge {_usd(line.charge)} and {_usd(computed)} = {_usd(allowed)}")
    else:
        steps.append(f"expected allowable {_usd(allowed)}")
    payer_allowed = _payer_allowed(line)
    fixed = _pr(line, rules.scaled_reasons, scaled=False)
    coins = _pr(line, rules.scaled_reasons, scaled=True)
    coins_rate: Decimal | None = None
    expected_coins = coins
    if coins > 0 and payer_allowed - fixed > 0:
        coins_rate = coins / (payer_allowed - fixed)
        expected_coins = _money(coins_rate * max(allowed - fixed, ZERO))
        steps.append(f"coinsurance at the payer's {_pct(_money(coins_rate * HUNDRED))} of the allowable after "
                     f"{_usd(fixed)} fixed patient share = {_usd(expected_coins)}")
    elif coins > 0:
        steps.append(f"coinsurance as stated {_usd(coins)}")
    if fixed > 0:
        steps.append(f"deductible/copay as stated {_usd(fixed)}")
    before = max(allowed - fixed - expected_coins, ZERO)
    sequestration = ZERO
    by_payer_type = remit.payer.type in rules.sequestration_payer_types
    stated = any(a.group == "CO" and a.reason in rules.sequestration_reasons for a in line.adjustments)
    if (by_payer_type or stated) and rules.sequestration_percent > 0:
        sequestration = _money(before * rules.sequestration_percent / HUNDRED)
        why = "" if by_payer_type else " (the payer applied it on the line)"
        steps.append(f"sequestration {_pct(rules.sequestration_percent)} of {_usd(before)} = {_usd(sequestration)}"
                     + why)
    expected = before - sequestration
    steps.append(f"expected payment {_usd(expected)}; paid {_usd(line.paid)}")
    return LineExpectation(
        line_id=line.line_id, procedure=_proc(line.procedure.code, line.procedure.modifiers), units=line.units,
        charge=line.charge, rate=c.rate, expected_allowed=allowed, payer_allowed=payer_allowed, patient_fixed=fixed,
        coinsurance_rate=coins_rate, expected_coinsurance=expected_coins, sequestration=sequestration,
        expected_payment=expected, paid=line.paid, steps=tuple(steps), rank=rank, ranked_in_session=ranked_count)


# -- the check ----------------------------------------------------------------------------------------------------

def review_payment(remit: Remittance, decisions: Sequence[Decision], schedule: FeeSchedule,
                   rules: PricingRules | None = None, tolerance: Tolerance = Tolerance(), *,
                   clocks: Clocks | None = None, checklists: ChecklistBook | None = None) -> PaymentReview:
    """The decisions with each underpaid line's carrying adjustment turned into a `pricing` denial."""
    rules = rules or load_pricing_rules()
    expectations, not_priced = expected_reimbursement(remit, schedule, rules, decisions)
    if not expectations:
        return PaymentReview(list(decisions), {}, {}, not_priced)
    default_clocks, default_book = _support(rules_root())
    clocks = clocks or default_clocks
    checklists = checklists or default_book
    out = list(decisions)
    underpaid: dict[str, LineExpectation] = {}
    for line_id, exp in expectations.items():
        threshold = tolerance.threshold(exp.expected_payment)
        if exp.shortfall <= threshold:
            continue
        position = _carrier(out, line_id, rules)
        if position is None:
            not_priced[line_id] = "underpaid, but no contractual adjustment on the line carries it (unbalanced line)"
            continue
        out[position] = _pricing_decision(out[position], remit, exp, tolerance, rules, clocks, checklists)
        underpaid[line_id] = exp
    return PaymentReview(out, expectations, underpaid, not_priced)


def _carrier(decisions: list[Decision], line_id: str, rules: PricingRules) -> int | None:
    """The decision that carries a line's underpayment: its largest contractual adjustment (CO-45 first among
    equals), else its largest non-patient, non-denial adjustment."""
    order = {reason: i for i, reason in enumerate(rules.carrier_reasons)}
    best = None
    for i, d in enumerate(decisions):
        if d.line_id != line_id or d.group == "PR" or d.is_denial:
            continue
        key = (d.reason in order, d.amount, -order.get(d.reason, len(order)), -i)
        if best is None or key > best[0]:
            best = (key, i)
    return best[1] if best is not None else None


def _pricing_decision(d: Decision, remit: Remittance, exp: LineExpectation, tolerance: Tolerance,
                      rules: PricingRules, clocks: Clocks, checklists: ChecklistBook) -> Decision:
    policy = clocks.policies.for_payer(remit.payer)
    deadline = appeal_deadline(policy, remit.production_date, clocks.holidays)
    explanation = (
        f"{d.group}-{d.reason} on {exp.procedure}: paid {_usd(exp.paid)} against an expected "
        f"{_usd(exp.expected_payment)}, {_usd(exp.shortfall)} short (tolerance {tolerance.describe()}); expected from "
        + "; ".join(exp.steps[:-1]) + f" (pricing rules {rules.version}); review against the contract.")
    return replace(
        d, category="pricing", is_denial=True, action="contract_review", queue="contracts", appealable=True,
        recoverability=rules.recoverability, amount=_money(exp.shortfall), explanation=explanation, rule_id=RULE_ID,
        deadline=deadline.date, deadline_basis=deadline.basis, filing_deadline=None,
        checklist=checklists.for_decision("pricing", None, (ChecklistItem(
            id="expected-amount", text=f"Expected {_usd(exp.expected_payment)} versus paid {_usd(exp.paid)} on "
                                       f"{exp.procedure}: {exp.rate.describe()}"),)))
