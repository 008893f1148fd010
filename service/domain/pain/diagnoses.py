"""Lines whose diagnoses their procedure's coverage policy can never accept: an epidural steroid injection billed
for axial (non-radicular) pain only, where the policy covers radicular pain. Read from check_rules.toml
[diagnoses.<group>] (`families`, `axial`, `section`), the table the pre-submission check and the letters read, so
the three agree on what "axial only" means."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.model import Submission
from service.domain.ruledata import RuleFiles


def _key(code: str) -> str:
    """ICD-10-CM as the lists hold it: upper case, no dot (M54.50 and M5450 are one code)."""
    return re.sub(r"[^0-9A-Z]", "", code.upper())


@dataclass(frozen=True, slots=True)
class AxialRule:
    group: str
    families: frozenset[str]
    axial: tuple[str, ...]  # ICD-10-CM prefixes naming axial pain
    section: str  # what the policy covers, in words


@dataclass(frozen=True, slots=True)
class AxialOnly:
    """A line pointed to axial-pain diagnoses only, under a policy that covers radicular pain."""

    diagnoses: tuple[str, ...]
    rule: AxialRule

    def describe(self) -> str:
        return (f"the line points to axial pain only ({', '.join(self.diagnoses)}) and its coverage policy "
                f"covers radicular pain, not axial pain ({self.rule.section}), so no appeal can show its "
                "criteria met; only a corrected claim pointing to a radicular diagnosis the record documents would "
                "be paid, else the charge is not recoverable")


class AxialRules:
    def __init__(self, rules: tuple[AxialRule, ...]) -> None:
        self._by_family = {f: r for r in rules for f in r.families}

    @classmethod
    def from_table(cls, diagnoses: Mapping[str, Mapping[str, Any]]) -> AxialRules:
        return cls(tuple(AxialRule(group=name, families=frozenset(body.get("families", ())),
                                   axial=tuple(_key(c) for c in body["axial"]), section=str(body.get("section", "")))
                         for name, body in diagnoses.items() if body.get("axial")))

    @classmethod
    def load(cls, files: RuleFiles) -> AxialRules:
        return cls.from_table(files.toml("check_rules").get("diagnoses", {}))

    def axial_only(self, family: str | None, submission: Submission | None, line_id: str | None) -> AxialOnly | None:
        """The line's pointed diagnoses when every one names axial pain under its family's policy (None: the rule
        does not apply, or the submission on file does not say). A line the submission does not list, or that points
        nowhere, is judged by all of the claim's diagnoses."""
        rule = self._by_family.get(family) if family else None
        if rule is None or submission is None or not submission.diagnoses:
            return None
        line = next((x for x in submission.lines if x.line_id == line_id), None)
        pointers = line.diagnosis_pointers if line is not None else ()
        pointed = tuple(submission.diagnoses[p - 1] for p in pointers if 0 < p <= len(submission.diagnoses)) \
            or submission.diagnoses
        if all(_key(code).startswith(rule.axial) for code in pointed):
            return AxialOnly(pointed, rule)
        return None
