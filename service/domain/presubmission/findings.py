"""What the check says about a claim: findings (one per rule and line), and the claim's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DENY, WARN = "deny", "warn"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason the claim is likely to be denied (`deny`) or may be (`warn`): what and why with the policy cited
    (`message`), and what to change (`fix`). `line_id` None: the finding is about the whole claim."""

    claim_id: str
    line_id: str | None
    rule_id: str
    category: str
    severity: str
    message: str
    fix: str

    def as_json(self) -> dict[str, Any]:
        return {"claim_id": self.claim_id, "line_id": self.line_id, "rule_id": self.rule_id,
                "category": self.category, "severity": self.severity, "message": self.message, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """How one claim came out of the check: `passed` when nothing is likely to be denied (warnings may remain)."""

    claim_id: str
    event_id: str
    denies: int
    warnings: int
    rule_ids: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.denies == 0

    @property
    def outcome(self) -> str:
        return "flagged" if self.denies else ("warned" if self.warnings else "passed")


def outcome_of(claim_id: str, event_id: str, findings: Sequence[Finding]) -> ClaimOutcome:
    return ClaimOutcome(claim_id=claim_id, event_id=event_id,
                        denies=sum(1 for f in findings if f.severity == DENY),
                        warnings=sum(1 for f in findings if f.severity == WARN),
                        rule_ids=tuple(dict.fromkeys(f.rule_id for f in findings)))
