"""Revenue-cycle KPIs, computed from plain facts about claims and tasks. Pure: no I/O.

The definitions are documented in `docs/kpis.md`; this module is their one implementation (the API, the monthly
report and the dashboard all read its output). In short:

- claims are counted once, by their *first adjudication*: the first remittance of the claim from its *primary payer*
  (the payer of its first submission; without a submission, the first payer that adjudicated it as primary) that is
  neither a reversal (CLP02 22) nor a predetermination (CLP02 25). Duplicates recorded by business key never reach
  here (the store leaves them out);
- money follows the *effective* remittances: a reversal cancels the adjudication it reverses, so neither counts;
- rates are numerator / denominator with `None` (never NaN) when the denominator is 0.

Dates are the billing office's dates (the adapter converts timestamps with the office time zone).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.tasks import CLOSED_STATES

ZERO = Decimal("0")
CENT = Decimal("0.01")

REVERSAL = "22"
PREDETERMINATION = "25"
# CLP02 values that say the payer adjudicated the claim as a secondary or tertiary payer.
NOT_PRIMARY_STATUSES = frozenset({"2", "3", "20", "21"})
# 277CA claim-status categories that reject a claim before adjudication (DESIGN.md: recognised by category).
REJECTION_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})
# Task states that end the work on a denial (expired is left out: nobody resolved it, its clock ran out).
RESOLVED_STATES = CLOSED_STATES - {"expired"}
AR_WINDOW_DAYS = 90
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-120", 91, 120), ("over_120", 121, None))
UNKNOWN = "unknown"  # the breakdown key of claims without a provider NPI
NO_FAMILY = "other"  # ... and of claims without a procedure of the catalog

# The KPIs every KPI set carries, in display order.
KPI_NAMES = (
    "initial_denial_rate", "denial_rate_dollars", "first_pass_resolution_rate", "clean_claim_rate", "days_in_ar",
    "net_collection_rate", "appeal_overturn_rate", "recovered_dollars", "denial_write_off_rate",
    "median_days_to_appeal", "median_days_to_resolution",
)
# KPIs that a cause (denial category) narrows; the others are claim-level and do not depend on a cause.
CAUSE_KPIS = frozenset({
    "initial_denial_rate", "denial_rate_dollars", "appeal_overturn_rate", "recovered_dollars",
    "denial_write_off_rate", "median_days_to_appeal", "median_days_to_resolution",
})


# -- facts (what the store holds, reduced) -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SubmissionFact:
    at: dt.datetime
    day: dt.date
    payer_id: str | None
    frequency_code: str


@dataclass(frozen=True, slots=True)
class AcknowledgementFact:
    """A 277CA on the claim: `rejected` when its claim-level category or a line's is a rejection category."""

    at: dt.datetime
    rejected: bool


@dataclass(frozen=True, slots=True)
class RemitFact:
    """One remittance (not a business-key duplicate) with its decisions summed by kind."""

    event_id: str
    payer_id: str
    payer_type: str
    status_code: str
    occurred_at: dt.datetime
    production_date: dt.date
    total_charge: Decimal
    total_paid: Decimal
    payer_claim_number: str | None = None
    contractual: Decimal = ZERO  # decisions with category `contractual`
    cost_share: Decimal = ZERO  # decisions with category `patient_responsibility` (not denials)
    denials: Mapping[str, Decimal] = field(default_factory=dict)  # denial decisions: category -> amount

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL

    @property
    def adjudicates(self) -> bool:
        """An adjudication of the claim (not a reversal of one, not a predetermination)."""
        return self.status_code not in (REVERSAL, PREDETERMINATION)

    @property
    def order(self) -> tuple[dt.datetime, dt.date, str]:
        return (self.occurred_at, self.production_date, self.event_id)


@dataclass(frozen=True, slots=True)
class ClaimFact:
    claim_id: str
    charge: Decimal | None  # the billed total of the latest submission
    service_date: dt.date | None  # first date of service
    provider: str | None  # billing NPI of the submission, else rendering NPI
    families: frozenset[str]  # CPT families of the claim's procedures (catalog)
    payer_id: str | None = None  # the latest submission's payer (claims.payer_id)
    payer_type: str | None = None
    submissions: tuple[SubmissionFact, ...] = ()
    acknowledgements: tuple[AcknowledgementFact, ...] = ()
    remittances: tuple[RemitFact, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskFact:
    task_id: str
    claim_id: str
    payer_id: str
    payer_type: str
    category: str
    state: str
    opened_on: dt.date
    submitted_on: dt.date | None  # first move to `submitted` (task_events)
    closed_on: dt.date | None
    amount_at_risk: Decimal
    recovered_amount: Decimal | None = None
    recouped_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive dates; None = unbounded on that side."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError("the period starts after it ends")

    def contains(self, day: dt.date | None) -> bool:
        if day is None:
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(first, nxt - dt.timedelta(days=1))


@dataclass(frozen=True, slots=True)
class Filters:
    payer: str | None = None
    cpt_family: str | None = None
    provider: str | None = None
    category: str | None = None


# -- output --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Kpi:
    value: float | Decimal | None
    numerator: int | Decimal | None
    denominator: int | Decimal | None
    unit: str  # ratio | usd | days

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                "unit": self.unit}


@dataclass(frozen=True, slots=True)
class AgingBucket:
    name: str
    claims: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class KpiSet:
    kpis: dict[str, Kpi]  # KPI_NAMES (a cause's set holds only CAUSE_KPIS)
    aging: tuple[AgingBucket, ...] = ()
    charges_last_90_days: Decimal = ZERO
    denied_claims: int = 0
    denied_amount: Decimal = ZERO
    claims_adjudicated: int = 0
    claims_submitted: int = 0
    recouped_dollars: Decimal = ZERO
    denial_write_offs: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str
    kpis: KpiSet


@dataclass(frozen=True, slots=True)
class PayerCause:
    payer_id: str
    payer_type: str
    category: str
    claims: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TrendPoint:
    month: str  # YYYY-MM
    claims_adjudicated: int
    initial_denial_rate: Kpi
    denial_rate_dollars: Kpi
    appeal_overturn_rate: Kpi


@dataclass(frozen=True, slots=True)
class KpiReport:
    period: Period
    as_of: dt.date
    filters: Filters
    totals: KpiSet
    by_payer: tuple[Group, ...]
    by_cpt_family: tuple[Group, ...]
    by_provider: tuple[Group, ...]
    by_cause: tuple[Group, ...]
    payer_cause: tuple[PayerCause, ...]
    trend: tuple[TrendPoint, ...]

    @property
    def has_data(self) -> bool:
        """Anything happened in the period: a claim adjudicated or submitted, or a task worked to an outcome."""
        t = self.totals
        return bool(t.claims_adjudicated or t.claims_submitted or _worked(t))


# -- claim analysis ------------------------------------------------------------------------------------------------

def effective_remittances(remits: Iterable[RemitFact], as_of: dt.date | None = None) -> list[RemitFact]:
    """The remittances that stand at `as_of` (production date on or before it; all when None): a reversal removes
    the adjudication it reverses (the latest earlier one of the same payer, same payer claim number when both carry
    one, preferring the one whose amounts it negates). A reversal with nothing to cancel stands, so its negative
    payment still counts."""
    standing: list[RemitFact] = []
    for r in sorted(remits, key=lambda x: x.order):
        if as_of is not None and r.production_date > as_of:
            continue
        if not r.is_reversal:
            standing.append(r)
            continue
        candidates = [s for s in standing if not s.is_reversal and s.payer_id == r.payer_id
                      and (r.payer_claim_number is None or s.payer_claim_number is None
                           or s.payer_claim_number == r.payer_claim_number)]
        exact = [s for s in candidates if s.total_paid == -r.total_paid and s.total_charge == -r.total_charge]
        chosen = (exact or candidates)[-1] if (exact or candidates) else None
        if chosen is None:
            standing.append(r)
        else:
            standing.remove(chosen)
    return standing


def primary_payer(claim: ClaimFact) -> tuple[str | None, str | None]:
    """(payer id, payer type) the claim was first billed to; without a submission, the first payer that
    adjudicated it as primary (CLP02 not 2/3/20/21), else the first that adjudicated it at all."""
    adjudications = sorted((r for r in claim.remittances if r.adjudicates), key=lambda r: r.order)
    if claim.submissions:
        payer_id = min(claim.submissions, key=lambda s: s.at).payer_id
    else:
        as_primary = [r for r in adjudications if r.status_code not in NOT_PRIMARY_STATUSES]
        first = (as_primary or adjudications or [None])[0]
        payer_id = first.payer_id if first else claim.payer_id
    payer_type = next((r.payer_type for r in adjudications if r.payer_id == payer_id), None)
    if payer_type is None and payer_id == claim.payer_id:
        payer_type = claim.payer_type
    return payer_id, payer_type


@dataclass(frozen=True, slots=True)
class ClaimView:
    """Everything the KPIs need from one claim, worked out once."""

    fact: ClaimFact
    payer_id: str | None
    payer_type: str | None
    first_submitted_on: dt.date | None
    clean: bool | None  # None: no submission on file
    first: RemitFact | None  # the first adjudication
    rejected_before_first: bool
    payments: Decimal  # every payer's standing payments, to date
    contractual: Decimal  # the primary payer's standing contractual adjustments, to date
    balance: Decimal | None  # outstanding at the A/R date; None: not in A/R (no date of service, voided, later)
    charge: Decimal

    @property
    def provider_key(self) -> str:
        return self.fact.provider or UNKNOWN

    @property
    def family_keys(self) -> frozenset[str]:
        return self.fact.families or frozenset({NO_FAMILY})


def _rejected_between(acks: Sequence[AcknowledgementFact], start: dt.datetime, end: dt.datetime | None) -> bool:
    return any(a.rejected and a.at >= start and (end is None or a.at < end) for a in acks)


def _voided(subs: Sequence[SubmissionFact], as_of: dt.date) -> bool:
    """The latest submission on file at `as_of` (`subs` in time order) voids the claim (frequency 8)."""
    standing = [s for s in subs if s.day <= as_of]
    return bool(standing) and standing[-1].frequency_code == "8"


def analyse_claim(claim: ClaimFact, tasks: Sequence[TaskFact], as_of: dt.date) -> ClaimView:
    payer_id, payer_type = primary_payer(claim)
    subs = sorted(claim.submissions, key=lambda s: s.at)
    first_sub = subs[0] if subs else None
    clean = None
    if first_sub is not None:
        following = next((s.at for s in subs[1:] if s.at > first_sub.at), None)
        clean = not _rejected_between(claim.acknowledgements, first_sub.at, following)
    first = next((r for r in sorted(claim.remittances, key=lambda r: r.order)
                  if r.adjudicates and r.payer_id == payer_id), None)
    rejected_before = False
    if first is not None and first_sub is not None:
        rejected_before = _rejected_between(claim.acknowledgements, first_sub.at, first.occurred_at)

    standing_now = effective_remittances(claim.remittances)
    payments = sum((r.total_paid for r in standing_now), ZERO)
    contractual = sum((r.contractual for r in standing_now if r.payer_id == payer_id), ZERO)

    charge = claim.charge if claim.charge is not None else (
        first.total_charge if first is not None else max((r.total_charge for r in claim.remittances), default=ZERO))
    balance = None
    if claim.service_date is not None and claim.service_date <= as_of and not _voided(subs, as_of):
        standing = effective_remittances(claim.remittances, as_of)
        paid = sum((r.total_paid for r in standing), ZERO)
        settled = sum((r.contractual + r.cost_share for r in standing if r.payer_id == payer_id), ZERO)
        written_off = sum((t.amount_at_risk for t in tasks
                           if t.state == "written_off" and t.closed_on is not None and t.closed_on <= as_of), ZERO)
        balance = min(max(charge - paid - settled - written_off, ZERO), max(charge, ZERO))
    return ClaimView(fact=claim, payer_id=payer_id, payer_type=payer_type,
                     first_submitted_on=first_sub.day if first_sub else None, clean=clean, first=first,
                     rejected_before_first=rejected_before, payments=payments, contractual=contractual,
                     balance=balance, charge=charge)


# -- sums ----------------------------------------------------------------------------------------------------------

def ratio(numerator: int | Decimal, denominator: int | Decimal) -> float | None:
    """numerator / denominator rounded to 6 places; None (never NaN) when the denominator is 0."""
    if not denominator:
        return None
    return round(float(Decimal(numerator) / Decimal(denominator)), 6)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def median_days(days: Sequence[int]) -> Kpi:
    value = float(statistics.median(days)) if days else None
    return Kpi(value, None, len(days), "days")


def adjudicated_in(views: Iterable[ClaimView], period: Period) -> list[tuple[ClaimView, RemitFact]]:
    """The claims whose first adjudication's production date falls in the period, with that adjudication."""
    return [(v, v.first) for v in views if v.first is not None and period.contains(v.first.production_date)]


def _denied(first: RemitFact, category: str | None) -> tuple[bool, Decimal]:
    if category is None:
        return bool(first.denials), sum(first.denials.values(), ZERO)
    if category in first.denials:
        return True, first.denials[category]
    return False, ZERO


def kpi_set(views: Sequence[ClaimView], tasks: Sequence[TaskFact], period: Period, as_of: dt.date, *,
            category: str | None = None, cause_only: bool = False) -> KpiSet:
    """The KPIs over these claims and tasks. `category` narrows the denial numerators and the tasks to one cause;
    `cause_only` leaves out the claim-level KPIs a cause does not change."""
    cohort = adjudicated_in(views, period)
    cohort_ids = {v.fact.claim_id for v, _ in cohort}
    adjudicated = len(cohort)
    charges = sum((first.total_charge for _, first in cohort), ZERO)
    denied_claims, denied_amount = 0, ZERO
    for _, first in cohort:
        hit, amount = _denied(first, category)
        denied_claims += hit
        denied_amount += amount

    tasks = [t for t in tasks if category is None or t.category == category]
    won = [t for t in tasks if t.state == "won" and period.contains(t.closed_on)]
    lost = [t for t in tasks if t.state == "lost" and period.contains(t.closed_on)]
    recovered = sum((t.recovered_amount or ZERO for t in won), ZERO)
    recouped = sum((t.recouped_amount or ZERO for t in won), ZERO)
    write_offs = sum((t.amount_at_risk for t in tasks if t.state == "written_off" and t.claim_id in cohort_ids), ZERO)
    to_appeal = [(t.submitted_on - t.opened_on).days for t in tasks if period.contains(t.submitted_on)]
    to_resolution = [(t.closed_on - t.opened_on).days for t in tasks
                     if t.closed_on is not None and t.state in RESOLVED_STATES and period.contains(t.closed_on)]

    totals = None
    if not cause_only:
        first_pass = sum(1 for v, first in cohort
                         if first.total_paid > 0 and not first.denials and not v.rejected_before_first)
        subs = [v for v in views if period.contains(v.first_submitted_on)]
        in_ar = [(v, v.balance, (as_of - v.fact.service_date).days) for v in views
                 if v.balance is not None and v.fact.service_date is not None]
        buckets = []
        for name, low, high in AGING_BUCKETS:
            members = [b for _, b, age in in_ar if b and low <= age and (high is None or age <= high)]
            buckets.append(AgingBucket(name, len(members), money(sum(members, ZERO))))
        totals = ClaimTotals(
            first_pass=first_pass, submitted=len(subs), clean=sum(1 for v in subs if v.clean),
            payments=sum((v.payments for v, _ in cohort), ZERO),
            collectible=sum((first.total_charge - v.contractual for v, first in cohort), ZERO),
            balance=sum((b for _, b, _ in in_ar), ZERO),
            charges_90=sum((v.charge for v, _, age in in_ar if age < AR_WINDOW_DAYS), ZERO), aging=tuple(buckets))
    return assemble_kpi_set(
        adjudicated=adjudicated, charges=charges, denied_claims=denied_claims, denied_amount=denied_amount,
        won=len(won), lost=len(lost), recovered=recovered, recouped=recouped, write_offs=write_offs,
        to_appeal=median_days(to_appeal), to_resolution=median_days(to_resolution), totals=totals)


@dataclass(frozen=True, slots=True)
class ClaimTotals:
    """The claim-level sums of a KPI set (left out when a cause narrows the set)."""

    first_pass: int
    submitted: int
    clean: int
    payments: Decimal
    collectible: Decimal
    balance: Decimal
    charges_90: Decimal
    aging: tuple[AgingBucket, ...]


def assemble_kpi_set(*, adjudicated: int, charges: Decimal, denied_claims: int, denied_amount: Decimal, won: int,
                     lost: int, recovered: Decimal, recouped: Decimal, write_offs: Decimal, to_appeal: Kpi,
                     to_resolution: Kpi, totals: ClaimTotals | None) -> KpiSet:
    """The KPIs from their sums: one arithmetic for the Python reference (`kpi_set`) and the PostgreSQL sums."""
    kpis: dict[str, Kpi] = {
        "initial_denial_rate": Kpi(ratio(denied_claims, adjudicated), denied_claims, adjudicated, "ratio"),
        "denial_rate_dollars": Kpi(ratio(denied_amount, charges), money(denied_amount), money(charges), "ratio"),
        "appeal_overturn_rate": Kpi(ratio(won, won + lost), won, won + lost, "ratio"),
        "recovered_dollars": Kpi(money(recovered), money(recovered), won, "usd"),
        "denial_write_off_rate": Kpi(ratio(write_offs, charges), money(write_offs), money(charges), "ratio"),
        "median_days_to_appeal": to_appeal,
        "median_days_to_resolution": to_resolution,
    }
    aging: tuple[AgingBucket, ...] = ()
    charges_90 = ZERO
    submitted = 0
    if totals is not None:
        aging, charges_90, submitted = totals.aging, totals.charges_90, totals.submitted
        daily = charges_90 / AR_WINDOW_DAYS
        kpis.update({
            "first_pass_resolution_rate": Kpi(ratio(totals.first_pass, adjudicated), totals.first_pass, adjudicated,
                                              "ratio"),
            "clean_claim_rate": Kpi(ratio(totals.clean, submitted), totals.clean, submitted, "ratio"),
            "days_in_ar": Kpi(round(float(totals.balance / daily), 2) if daily else None, money(totals.balance),
                              money(daily), "days"),
            "net_collection_rate": Kpi(ratio(totals.payments, totals.collectible), money(totals.payments),
                                       money(totals.collectible), "ratio"),
        })
    ordered = {name: kpis[name] for name in KPI_NAMES if name in kpis}
    return KpiSet(kpis=ordered, aging=aging, charges_last_90_days=money(charges_90), denied_claims=denied_claims,
                  denied_amount=money(denied_amount), claims_adjudicated=adjudicated, claims_submitted=submitted,
                  recouped_dollars=money(recouped), denial_write_offs=money(write_offs))


# -- the report ----------------------------------------------------------------------------------------------------

def _months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _trend(views: Sequence[ClaimView], tasks: Sequence[TaskFact], period: Period, category: str | None,
           max_months: int) -> tuple[TrendPoint, ...]:
    days = [v.first.production_date for v in views if v.first is not None and period.contains(v.first.production_date)]
    days += [t.closed_on for t in tasks if t.state in ("won", "lost") and period.contains(t.closed_on)]
    if not days:
        return ()
    start = period.start or min(days)
    end = period.end or max(days)
    by_month_claims: dict[tuple[int, int], list[ClaimView]] = defaultdict(list)
    for v in views:
        if v.first is not None:
            d = v.first.production_date
            by_month_claims[(d.year, d.month)].append(v)
    by_month_tasks: dict[tuple[int, int], list[TaskFact]] = defaultdict(list)
    for t in tasks:
        if t.closed_on is not None:
            by_month_tasks[(t.closed_on.year, t.closed_on.month)].append(t)
    points = []
    for y, m in _months(start, end)[-max_months:]:
        first_day, last_day = dt.date(y, m, 1), Period.month(y, m).end or end
        window = Period(max(first_day, start), min(last_day, end))
        s = kpi_set(by_month_claims.get((y, m), []), by_month_tasks.get((y, m), []), window, last_day,
                    category=category, cause_only=True)
        points.append(TrendPoint(f"{y:04d}-{m:02d}", s.claims_adjudicated, s.kpis["initial_denial_rate"],
                                 s.kpis["denial_rate_dollars"], s.kpis["appeal_overturn_rate"]))
    return tuple(points)


def _worked(s: KpiSet) -> bool:
    """Tasks of the set reached an outcome, were appealed or resolved in the period."""
    return any(s.kpis[n].denominator for n in ("appeal_overturn_rate", "median_days_to_appeal",
                                               "median_days_to_resolution"))


def _grouped(views: Sequence[ClaimView], tasks: Sequence[TaskFact], period: Period, as_of: dt.date,
             claim_keys: Callable[[ClaimView], Iterable[str]], task_key: Callable[[TaskFact], Iterable[str]],
             label: Callable[[str], str], category: str | None) -> tuple[Group, ...]:
    claims_by: dict[str, list[ClaimView]] = defaultdict(list)
    for v in views:
        for key in claim_keys(v):
            claims_by[key].append(v)
    tasks_by: dict[str, list[TaskFact]] = defaultdict(list)
    for t in tasks:
        for key in task_key(t):
            tasks_by[key].append(t)
    groups = []
    for key in sorted(set(claims_by) | set(tasks_by)):
        s = kpi_set(claims_by.get(key, []), tasks_by.get(key, []), period, as_of, category=category)
        if s.claims_adjudicated or s.claims_submitted or any(b.amount for b in s.aging) or _worked(s):
            groups.append(Group(key, label(key), s))
    return tuple(groups)


def build_report(claims: Iterable[ClaimFact], tasks: Iterable[TaskFact], *, period: Period, as_of: dt.date,
                 filters: Filters = Filters(), family_label: Callable[[str], str] = lambda f: f,
                 trend_months: int = 36) -> KpiReport:
    """Every KPI over the claims and tasks that pass `filters`, with breakdowns by payer, CPT family, provider and
    cause, the payer x cause matrix of first-adjudication denials, and the monthly trend."""
    tasks = list(tasks)
    tasks_of: dict[str, list[TaskFact]] = defaultdict(list)
    for t in tasks:
        tasks_of[t.claim_id].append(t)
    views = [analyse_claim(c, tasks_of.get(c.claim_id, ()), as_of) for c in claims]
    by_id = {v.fact.claim_id: v for v in views}

    def claim_ok(v: ClaimView | None) -> bool:
        """The claim-level filters (a task is judged by its claim, and fails them without one)."""
        return ((filters.cpt_family is None or (v is not None and filters.cpt_family in v.fact.families))
                and (filters.provider is None or (v is not None and v.fact.provider == filters.provider)))

    views = [v for v in views if (filters.payer is None or v.payer_id == filters.payer) and claim_ok(v)]
    tasks = [t for t in tasks if (filters.payer is None or t.payer_id == filters.payer)
             and (filters.category is None or t.category == filters.category) and claim_ok(by_id.get(t.claim_id))]
    category = filters.category
    totals = kpi_set(views, tasks, period, as_of, category=category)

    by_payer = _grouped(views, tasks, period, as_of, lambda v: [v.payer_id] if v.payer_id else [],
                        lambda t: [t.payer_id], lambda k: k, category)
    by_family = _grouped(views, tasks, period, as_of, lambda v: v.family_keys,
                         lambda t: (c.family_keys if (c := by_id.get(t.claim_id)) else {NO_FAMILY}),
                         lambda k: "other / not in the procedure catalog" if k == NO_FAMILY else family_label(k),
                         category)
    by_provider = _grouped(views, tasks, period, as_of, lambda v: [v.provider_key],
                           lambda t: [c.provider_key if (c := by_id.get(t.claim_id)) else UNKNOWN],
                           lambda k: "no NPI on the submission" if k == UNKNOWN else k, category)

    cohort = adjudicated_in(views, period)
    payer_types = {v.payer_id: v.payer_type for v in views if v.payer_id}  # the matrix's payers are claims' payers
    causes = {c for _, first in cohort for c in first.denials} | {t.category for t in tasks}
    if category is not None:
        causes &= {category}
    by_cause = [Group(c, c.replace("_", " "), kpi_set(views, tasks, period, as_of, category=c, cause_only=True))
                for c in causes]
    by_cause = [g for g in by_cause if g.kpis.denied_claims or _worked(g.kpis)]
    by_cause.sort(key=lambda g: (-g.kpis.denied_amount, g.key))

    matrix: dict[tuple[str, str], list] = {}
    for v, first in cohort:
        for cause, amount in first.denials.items():
            if category is not None and cause != category:
                continue
            cell = matrix.setdefault((v.payer_id or UNKNOWN, cause), [0, ZERO])
            cell[0] += 1
            cell[1] += amount
    payer_cause = tuple(PayerCause(p, payer_types.get(p) or "other", c, n, money(a))
                        for (p, c), (n, a) in sorted(matrix.items()))
    return KpiReport(period=period, as_of=as_of, filters=filters, totals=totals, by_payer=by_payer,
                     by_cpt_family=by_family, by_provider=by_provider, by_cause=tuple(by_cause),
                     payer_cause=payer_cause, trend=_trend(views, tasks, period, category, trend_months))
