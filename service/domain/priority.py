"""The priority of an appeal task: an explainable score from the dollars it can bring back and the time left.

score = value_points x urgency_factor

- value_points = the expected recovery in dollars (amount at risk x recoverability), so a $5,712 authorization
  worth $2,285 outranks a $276 appeal worth $124 however near the appeal's deadline; a write-off expects nothing.
  A floor of `floor_points` keeps zero-dollar work (a rejected claim to resubmit) ordered by its clock.
- urgency_factor from the nearer clock still ahead (appeal/reopening `deadline` or timely-`filing_deadline`):
  1 with no clock; 1 + urgency_max x (1 - days/horizon) inside the horizon; plus near_bonus when the clock is
  `near_days` or fewer away (the timer raises these). When every clock has passed the task is ranked by what can
  still be done: `late_factor` when the payer accepts a late request with good cause (a Medicare redetermination
  or reopening, for one), 0 when nothing is left to file (the deadline timer expires the task).

Every part is kept (`PriorityParts.as_dict()`), so a worker can see why a task sits where it does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    floor_points: float = 1.0  # the value of a task that expects no dollars (ordered by its clock alone)
    horizon_days: int = 90  # clocks further away than this add no urgency
    urgency_max: float = 2.0  # extra factor for a clock due today, fading to 0 at the horizon
    near_days: int = 14  # "close to the deadline"
    near_bonus: float = 1.0  # extra factor inside near_days
    late_factor: float = 0.25  # every clock passed, but a late request with good cause is still possible


# Actions whose window a payer may reopen for good cause once it has passed; a corrected or new claim cannot
# outlive timely filing.
LATE_ACTIONS = frozenset({"appeal", "reopening", "submit_records", "contract_review", "obtain_authorization"})
NOTHING_EXPECTED = frozenset({"write_off", "none"})


DEFAULT_WEIGHTS = PriorityWeights()


@dataclass(frozen=True, slots=True)
class PriorityParts:
    as_of: dt.date
    amount_at_risk: Decimal
    recoverability: float
    expected_recovery: Decimal
    value_points: float
    deadline: dt.date | None
    filing_deadline: dt.date | None
    clock: str | None  # "deadline" | "filing_deadline": the nearer clock still ahead
    clock_date: dt.date | None
    days_left: int | None
    urgency_factor: float
    near_deadline: bool
    overdue: bool  # every clock has passed
    score: float
    explanation: str
    late_option: str | None = None  # what can still be filed after every clock passed (None: nothing)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (dates ISO, money as 2-decimal strings); also the inputs the timer compares to spot stale
        scores."""
        return {
            "as_of": self.as_of.isoformat(),
            "amount_at_risk": f"{self.amount_at_risk:.2f}",
            "recoverability": self.recoverability,
            "expected_recovery": f"{self.expected_recovery:.2f}",
            "value_points": self.value_points,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "filing_deadline": self.filing_deadline.isoformat() if self.filing_deadline else None,
            "clock": self.clock,
            "clock_date": self.clock_date.isoformat() if self.clock_date else None,
            "days_left": self.days_left,
            "urgency_factor": self.urgency_factor,
            "near_deadline": self.near_deadline,
            "overdue": self.overdue,
            "late_option": self.late_option,
            "score": self.score,
            "explanation": self.explanation,
        }


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def score_priority(amount_at_risk: Decimal, recoverability: float, deadline: dt.date | None,
                   filing_deadline: dt.date | None, *, today: dt.date, weights: PriorityWeights = DEFAULT_WEIGHTS,
                   action: str | None = None, late_option: str | None = None) -> PriorityParts:
    """`action`: the task's action (a write-off expects nothing; only some actions have a late remedy);
    `late_option`: the payer's late remedy once every clock has passed (e.g. "a late redetermination with good
    cause (42 CFR 405.942(b))"), None when there is none."""
    amount = Decimal(amount_at_risk).quantize(CENT, ROUND_HALF_UP)
    recov = min(1.0, max(0.0, float(recoverability)))
    expected = (amount * Decimal(str(recov))).quantize(CENT, ROUND_HALF_UP)
    if action in NOTHING_EXPECTED:
        expected = Decimal("0.00")
    value_points = round(max(float(expected), weights.floor_points), 2)

    clocks = [(name, day) for name, day in (("deadline", deadline), ("filing_deadline", filing_deadline)) if day]
    ahead = sorted(((day, name) for name, day in clocks if day >= today))
    clock = clock_date = days_left = None
    near = overdue = False
    late = None
    if ahead:
        clock_date, clock = ahead[0]
        days_left = (clock_date - today).days
        fade = max(0.0, 1 - days_left / weights.horizon_days)
        near = days_left <= weights.near_days
        urgency = 1 + weights.urgency_max * fade + (weights.near_bonus if near else 0.0)
    elif clocks:
        overdue = True
        late = late_option if late_option and (action is None or action in LATE_ACTIONS) else None
        urgency = weights.late_factor if late else 0.0
    else:
        urgency = 1.0
    urgency = round(urgency, 2)
    score = round(value_points * urgency, 2)

    if action in NOTHING_EXPECTED:
        value_text = f"{_money(amount)} at risk, but a {action.replace('_', '-')} expects nothing back"
    else:
        value_text = f"{_money(amount)} at risk x recoverability {recov:.2f} = {_money(expected)} expected"
    if value_points > float(expected):
        value_text += f" (floor {value_points:g})"
    if clock is not None:
        label = "appeal deadline" if clock == "deadline" else "filing deadline"
        when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
        urgency_text = f"urgency {urgency:g} ({label} {clock_date.isoformat()} {when}" + (
            f", within {weights.near_days} days" if near else "") + ")"
    elif late:
        urgency_text = f"urgency {urgency:g} (every deadline has passed; still possible: {late})"
    elif overdue:
        urgency_text = "urgency 0 (every deadline has passed: nothing left to file)"
    else:
        urgency_text = "urgency 1 (no deadline)"
    return PriorityParts(
        as_of=today, amount_at_risk=amount, recoverability=recov, expected_recovery=expected,
        value_points=value_points, deadline=deadline, filing_deadline=filing_deadline, clock=clock,
        clock_date=clock_date, days_left=days_left, urgency_factor=urgency, near_deadline=near, overdue=overdue,
        score=score, explanation=f"{value_text} x {urgency_text} = {score:g}", late_option=late,
    )
