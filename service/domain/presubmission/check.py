"""The pre-submission check: "will this claim be denied, and why?" before it leaves, from the same payer policy,
pain rules and code tables the classifier reads after the fact.

`Checker.check(submission, context)` runs every rule of `check_rules.toml` on one submitted claim and returns its
findings, claim-level ones first, then each line's in line order. Pure: the context (the patient's history, earlier
submissions, authorizations on file, imported NCCI tables) is read by the caller.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from service.domain.clocks import Clocks
from service.domain.model import Submission
from service.domain.pain import PainRules
from service.domain.policy import load_coverage
from service.domain.presubmission import claim_rules, coding_rules, coverage_rules, session_rules
from service.domain.presubmission.context import CheckContext, ClaimView, Tools
from service.domain.presubmission.findings import Finding
from service.domain.presubmission.rules import CheckRules
from service.domain.pricing import load_pricing_rules
from service.domain.ruledata import RuleFiles, rules_root


class Checker:
    """The rule tables, loaded once; `check` is a pure function of its arguments."""

    def __init__(self, files: RuleFiles | None = None) -> None:
        files = files or RuleFiles()
        pain = PainRules.load(files)
        self.tools = Tools(pain=pain, coverage=load_coverage(files.root),
                           rules=CheckRules.from_table(files.toml("check_rules"), pain.families),
                           clocks=Clocks.load(files), pricing=load_pricing_rules(files.root))

    @property
    def rules(self) -> CheckRules:
        return self.tools.rules

    @property
    def version(self) -> str:
        return self.tools.rules.version

    def with_payers(self, payers: Mapping[str, Mapping[str, Any]]) -> Checker:
        """The same rules with a clinic's knowledge of its payers (see `CheckRules.with_payers`)."""
        rules = self.tools.rules.with_payers(payers)
        clone = object.__new__(Checker)
        clone.tools = replace(self.tools, rules=rules)
        return clone

    def check(self, submission: Submission, context: CheckContext) -> list[Finding]:
        claim = ClaimView.of(submission, self.tools.pain, context.submitted_on)
        t = self.tools
        found = [
            *claim_rules.replacement(claim, t),
            *claim_rules.timely_filing(claim, context, t),
            *claim_rules.duplicates(claim, context, t),
            *coverage_rules.invalid_diagnoses(claim, t),
            *coverage_rules.diagnosis(claim, t),
            *coverage_rules.frequency(claim, context, t),
            *coverage_rules.interval(claim, context, t),
            *coverage_rules.prerequisites(claim, context, t),
            *coverage_rules.authorization(claim, context, t),
            *session_rules.levels(claim, t),
            *session_rules.combinations(claim, t),
            *session_rules.sedation(claim, t),
            *session_rules.drug_testing(claim, context, t),
            *coding_rules.bilateral(claim, t),
            *coding_rules.side(claim, t),
            *coding_rules.em_without_25(claim, t),
            *coding_rules.modifiers(claim, context, t),
            *coding_rules.addons(claim, t),
            *coding_rules.pairs(claim, context, t),
            *coding_rules.units(claim, context, t),
        ]
        found += claim_rules.prevention(claim, context, t, found)
        order = {line.line_id: i for i, line in enumerate(submission.lines)}
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda f: -1 if f.line_id is None else order.get(f.line_id, len(order)))


@functools.lru_cache(maxsize=4)
def _cached(root: Path) -> Checker:
    return Checker(RuleFiles(root))


def load_checker(data_dir: Path | str | None = None) -> Checker:
    """The checker over the packaged rule tables (or another directory), loaded once."""
    return _cached(Path(data_dir) if data_dir is not None else rules_root())


def submitted_on(submission: Submission, today: dt.date | None = None) -> dt.date:
    """The day the claim is (or was) submitted: the event's date (the 837's BHT), unless told otherwise."""
    return today or submission.occurred_at.date()
