"""What the check rules read: the claim as lines with their procedure facts, what is known about the patient
(history, earlier submissions, authorizations on file), the imported NCCI tables, and the loaded rule tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.authorizations import Authorization
from service.domain.clocks import Clocks
from service.domain.model import HistorySession, Submission, SubmittedLine
from service.domain.pain import PainRules, ProcedureInfo
from service.domain.policy import CoveragePolicies, FamilyPolicy
from service.domain.presubmission.findings import Finding
from service.domain.presubmission.ncci import NcciTables
from service.domain.presubmission.rules import CheckRules, PreventionCheck
from service.domain.pricing import PricingRules

LATERALITY = ("RT", "LT")
BILATERAL = "50"
ABN_ON_FILE = "GA"


@dataclass(frozen=True, slots=True)
class PriorSubmission:
    """An earlier submission of the patient (or of the same claim id). `accepted` False: the payer's front door
    rejected it (277CA), so the same claim sent again is no duplicate."""

    submission: Submission
    accepted: bool = True


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What is known around one claim. `history`: the patient's sessions on other claims (any date; the rules pick);
    `authorizations` None: the register was not read; `history_complete`: the history is the practice's whole
    record (the database), so a session that is not in it did not happen here."""

    submitted_on: dt.date
    history: tuple[HistorySession, ...] = ()
    earlier: tuple[PriorSubmission, ...] = ()
    authorizations: tuple[Authorization, ...] | None = None
    ncci: NcciTables = field(default_factory=NcciTables)
    history_complete: bool = False
    prevention: tuple[PreventionCheck, ...] = ()


@dataclass(frozen=True, slots=True)
class LineView:
    line: SubmittedLine
    session: HistorySession  # the line as a session of this claim (for the pain-history functions)
    info: ProcedureInfo | None

    @property
    def line_id(self) -> str:
        return self.line.line_id

    @property
    def code(self) -> str:
        return self.line.procedure.code

    @property
    def modifiers(self) -> tuple[str, ...]:
        return self.line.procedure.modifiers

    @property
    def family(self) -> str | None:
        return self.info.family if self.info else None

    @property
    def day(self) -> dt.date:
        return self.session.service_date

    @property
    def units(self) -> Decimal:
        return self.line.units

    @property
    def is_addon(self) -> bool:
        return self.info is not None and self.info.is_addon

    def has(self, *modifiers: str) -> bool:
        return any(m in self.modifiers for m in modifiers)

    @property
    def text(self) -> str:
        """The procedure as billed: 64483-LT."""
        return "-".join((self.code, *self.modifiers))


@dataclass(frozen=True, slots=True)
class ClaimView:
    sub: Submission
    lines: tuple[LineView, ...]

    @classmethod
    def of(cls, sub: Submission, pain: PainRules, fallback_day: dt.date) -> ClaimView:
        lines = []
        for line in sub.lines:
            day = line.service_date or sub.service_date_from or fallback_day
            session = HistorySession(claim_id=sub.claim_id, line_id=line.line_id, service_date=day,
                                     procedure=line.procedure, paid=None, detail=line.detail)
            lines.append(LineView(line, session, pain.catalog.get(line.procedure.code)))
        return cls(sub, tuple(lines))

    @property
    def claim_id(self) -> str:
        return self.sub.claim_id

    @property
    def sessions(self) -> tuple[HistorySession, ...]:
        return tuple(x.session for x in self.lines)

    def same_date(self, day: dt.date) -> list[LineView]:
        return [x for x in self.lines if x.day == day]

    def first_of_family(self, target: LineView) -> bool:
        """Whether `target` is the line a per-session rule speaks on: the first primary line of its family that date
        (an add-on only when no primary of the family is billed that date)."""
        same = [x for x in self.same_date(target.day) if x.family == target.family]
        primaries = [x for x in same if not x.is_addon]
        return (primaries or same)[0] is target

    def diagnoses_of(self, line: LineView) -> list[str]:
        """The diagnoses the line points to (all of the claim's when it points to none)."""
        dx = self.sub.diagnoses
        picked = [dx[p - 1] for p in line.line.diagnosis_pointers if 1 <= p <= len(dx)]
        return picked or list(dx)


@dataclass(frozen=True, slots=True)
class Tools:
    """The rule tables the check reads (loaded once)."""

    pain: PainRules
    coverage: CoveragePolicies
    rules: CheckRules
    clocks: Clocks
    pricing: PricingRules

    def policy(self, sub: Submission, family: str | None, day: dt.date) -> FamilyPolicy:
        return self.coverage.policy_for(sub.payer.type, sub.payer.id, family, day)

    def finding(self, claim: ClaimView, line: LineView | None, rule_id: str, message: str, fix: str, *,
                severity: str | None = None, category: str | None = None) -> list[Finding]:
        """A finding of the rule (none when the rule is turned off), at its data severity unless one is given."""
        rule = self.rules.rule(rule_id)
        if rule is None:
            return []
        return [Finding(claim_id=claim.claim_id, line_id=line.line_id if line else None, rule_id=rule_id,
                        category=category or rule.category, severity=severity or rule.severity, message=message,
                        fix=fix)]

    def severity(self, rule_id: str, policy_known: bool) -> str | None:
        rule = self.rules.rule(rule_id)
        if rule is None:
            return None
        return rule.severity if policy_known else (rule.unknown_policy or rule.severity)


def codes_text(lines: Iterable[LineView]) -> str:
    return ", ".join(x.text for x in lines)
