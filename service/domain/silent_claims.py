"""Silent claims: submitted claims the payer has said nothing about (no 277 status, no remittance).

A claim silent for N days (per payer, `data/silent_claims.toml`) gets a status inquiry once per interval (days N,
2N, 3N ... after the submission); a silent claim within `warning_days` of its timely-filing limit gets a task in
`billing`, because if the payer never received it, only a resubmission before the limit (with proof of timely filing)
saves it. Pure: the timer adapter finds the claims, passes plain values and today's date, and writes what this
module returns.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from service.domain.checklists import ChecklistBook
from service.domain.clocks import Clock, Clocks, filing_deadline
from service.domain.events import FollowupRequested, TaskChanged
from service.domain.model import ZERO, ChecklistItem, Payer, Submission
from service.domain.ruledata import RuleDataError, RuleFiles, rules_root
from service.domain.tasks import Task, TaskLine, task_id_for

CATEGORY = "timely_filing"
QUEUE = "billing"
ACTION = "review"
ORIGIN = "silent_claim"  # the task's origin: no remittance or status opened it, the payer's silence did
_NS = uuid.UUID("8f0e7d0a-3c55-4d7e-9a3e-6c1c1bb0c2a4")


@dataclass(frozen=True, slots=True)
class SilenceRules:
    version: str
    by_type: dict[str, int]
    by_payer: dict[str, int]
    default_days: int
    warning_days: int

    def interval_for(self, payer: Payer) -> tuple[int, str]:
        """Days per inquiry interval for the payer, and where the number comes from."""
        if payer.id in self.by_payer:
            return self.by_payer[payer.id], f"silent_claims.toml payer {payer.id}"
        if payer.type in self.by_type:
            return self.by_type[payer.type], f"silent_claims.toml {payer.type} payers"
        return self.default_days, "DENIALS_SILENT_CLAIM_DAYS"

    @property
    def shortest(self) -> int:
        return min([self.default_days, *self.by_type.values(), *self.by_payer.values()])


def rules_from_text(text: str, *, default_days: int = 30, warning_days: int = 30) -> SilenceRules:
    try:
        data = tomllib.loads(text)
        by_type = {str(k): int(v) for k, v in data.get("types", {}).items()}
        by_payer = {str(k): int(v) for k, v in data.get("payers", {}).items()}
        version = str(data["VERSION"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RuleDataError(f"silent_claims.toml: missing or invalid {exc}") from None
    bad = [k for k, v in {**by_type, **by_payer}.items() if v < 1]
    if bad or default_days < 1 or warning_days < 1:
        raise RuleDataError(f"silent_claims.toml: intervals must be at least 1 day ({', '.join(bad)})")
    return SilenceRules(version, by_type, by_payer, default_days, warning_days)


@functools.lru_cache(maxsize=8)
def _load(root: Path, default_days: int, warning_days: int) -> tuple[SilenceRules, Clocks, ChecklistBook]:
    files = RuleFiles(root)
    return (rules_from_text(files.text("silent_claims.toml"), default_days=default_days, warning_days=warning_days),
            Clocks.load(files), ChecklistBook.load(files))


def load_silence_rules(*, default_days: int = 30, warning_days: int = 30,
                       data_dir: Path | str | None = None) -> tuple[SilenceRules, Clocks, ChecklistBook]:
    """The packaged rules with the settings' defaults, the payer clocks and the checklists, read once."""
    return _load(Path(data_dir) if data_dir is not None else rules_root(), default_days, warning_days)


@dataclass(frozen=True, slots=True)
class AwaitingClaim:
    """A claim waiting on its payer since its latest submission (what the timer's query found)."""

    claim_id: str
    submission: Submission
    submitted_on: dt.date  # the submission's date in the billing office's time zone
    total_charge: Decimal | None = None

    @property
    def payer(self) -> Payer:
        return self.submission.payer

    @property
    def service_date(self) -> dt.date | None:
        dates = [line.service_date for line in self.submission.lines if line.service_date]
        return min(dates) if dates else self.submission.service_date_from


@dataclass(frozen=True, slots=True)
class Silence:
    claim: AwaitingClaim
    today: dt.date
    days_silent: int
    interval_days: int
    interval_basis: str
    interval_no: int  # 0: not silent long enough yet
    filing: Clock | None  # the timely-filing limit of the claim's payer, from the date of service
    warning_days: int

    @property
    def inquiry_due(self) -> bool:
        return self.interval_no >= 1

    @property
    def filing_days_left(self) -> int | None:
        return (self.filing.date - self.today).days if self.filing else None

    @property
    def filing_at_risk(self) -> bool:
        """Silent, and the timely-filing limit is today or within the warning window (not already past)."""
        left = self.filing_days_left
        return self.inquiry_due and left is not None and 0 <= left <= self.warning_days

    @property
    def inquiry_key(self) -> tuple[str, str, int]:
        """The idempotency key: the claim, the submission it waits on (a resubmission counts again), the interval."""
        return (self.claim.claim_id, self.claim.submission.event_id, self.interval_no)

    def inquiry_causation_id(self) -> str:
        return "silent-claim:" + str(uuid.uuid5(_NS, "\x1f".join(map(str, self.inquiry_key))))

    def filing_causation_id(self) -> str:
        return "filing-risk:" + str(uuid.uuid5(_NS, f"{self.claim.claim_id}\x1f{self.claim.submission.event_id}"))


def assess(claim: AwaitingClaim, today: dt.date, rules: SilenceRules, clocks: Clocks) -> Silence:
    days, basis = rules.interval_for(claim.payer)
    silent = (today - claim.submitted_on).days
    service = claim.service_date
    filing = None
    if service is not None:
        filing = filing_deadline(clocks.policies.for_payer(claim.payer), service, clocks.holidays)
    return Silence(claim=claim, today=today, days_silent=silent, interval_days=days, interval_basis=basis,
                   interval_no=max(silent // days, 0), filing=filing, warning_days=rules.warning_days)


def _lines(sub: Submission) -> tuple[TaskLine, ...]:
    return tuple(TaskLine(line_id=x.line_id, amount=x.charge, reasons=(), procedure_code=x.procedure.code,
                          modifiers=x.procedure.modifiers, service_date=x.service_date) for x in sub.lines)


def _amount(claim: AwaitingClaim) -> Decimal:
    if claim.total_charge is not None:
        return claim.total_charge
    if claim.submission.total_charge is not None:
        return claim.submission.total_charge
    return sum((x.charge for x in claim.submission.lines), ZERO)


def status_inquiry(s: Silence, *, at: dt.datetime) -> FollowupRequested:
    """The `followups.status-inquiry.v1` request for this interval (ask the payer with a 276)."""
    sub = s.claim.submission
    filing = s.filing
    return FollowupRequested(
        kind="status-inquiry", claim_id=s.claim.claim_id, payer=s.claim.payer, action="review",
        amount=_amount(s.claim),
        reason=(f"no claim status or remittance {s.days_silent} days after the submission of "
                f"{s.claim.submitted_on.isoformat()} (inquiry {s.interval_no}, every {s.interval_days} days): ask the "
                "payer whether it received the claim and where it is (276)"),
        causation_id=s.inquiry_causation_id(), at=at, due_date=s.today, lines=_lines(sub),
        details={"submission_event_id": sub.event_id, "submitted_on": s.claim.submitted_on.isoformat(),
                 "days_silent": s.days_silent, "interval_no": s.interval_no, "interval_days": s.interval_days,
                 "interval_basis": s.interval_basis, "frequency_code": sub.frequency_code,
                 "service_date": s.claim.service_date.isoformat() if s.claim.service_date else None,
                 "filing_deadline": filing.date.isoformat() if filing else None,
                 "filing_days_left": s.filing_days_left},
    )


def filing_risk_task(s: Silence, *, at: dt.datetime, checklists: ChecklistBook,
                     actor: str) -> tuple[Task, TaskChanged]:
    """A `billing` task for a silent claim near its timely-filing limit (the caller checks none exists yet)."""
    assert s.filing is not None
    sub = s.claim.submission
    limit = s.filing.date.isoformat()
    explanation = (f"no claim status or remittance {s.days_silent} days after the submission of "
                   f"{s.claim.submitted_on.isoformat()}, and the timely-filing limit is {limit} "
                   f"({s.filing_days_left} days left; {s.filing.basis}): confirm the payer received the claim (276/277 "
                   "or its portal) and, if not, resubmit it with proof of timely filing before the limit.")
    first = ChecklistItem(id="confirm-receipt", text=f"Payer confirmation that it received the claim, or a "
                                                     f"resubmission before {limit}")
    items = (first, *(i for i in checklists.for_decision(CATEGORY, None) if i.id != first.id))
    task = Task(
        task_id=task_id_for(s.claim.claim_id, sub.payer.id, CATEGORY), claim_id=s.claim.claim_id,
        payer_id=sub.payer.id, payer_type=sub.payer.type, category=CATEGORY, action=ACTION, queue=QUEUE, state="open",
        appealable=False, amount_at_risk=_amount(s.claim), recoverability=0.9, explanation=explanation,
        rule_ids=("silent_claim.filing_limit",), opened_at=at, last_event_at=at,
        source_event_id=s.filing_causation_id(), filing_deadline=s.filing.date,
        filing_deadline_basis=s.filing.basis, lines=_lines(sub), checklist=items, changed=True, origin=ORIGIN)
    event = TaskChanged(task=task, change="opened", from_state=None, to_state="open",
                        causation_id=s.filing_causation_id(), at=at, actor=actor,
                        note=f"silent {s.days_silent} days; timely-filing limit {limit}")
    return task, event
