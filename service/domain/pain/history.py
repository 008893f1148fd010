"""Claim history per patient and spinal region: rolling 12-month session counts and prerequisites.

`history` is every earlier procedure session of the patient the store knows (any claim, payer or date); these
functions filter by family, region and window themselves. A session is one date: several lines of one date (levels,
sides, add-ons) are one session. Sessions known to be denied do not count toward a frequency limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.clocks import add_months
from service.domain.model import HistorySession
from service.domain.pain.families import ProcedureInfo
from service.domain.pain.rules import FrequencyRule, PainRules, PrerequisiteRule

REGION_WORDS = {"cervical_thoracic": "cervical/thoracic", "lumbar_sacral": "lumbar/sacral", "sacroiliac": "SI joint"}


def region_words(region: str | None) -> str:
    return REGION_WORDS.get(region or "", "")


def _dates(sessions: Iterable[HistorySession]) -> list[dt.date]:
    return sorted({s.service_date for s in sessions})


def _first_per_date(sessions: Iterable[HistorySession]) -> tuple[HistorySession, ...]:
    by_date: dict[dt.date, HistorySession] = {}
    for s in sorted(sessions, key=lambda s: (s.service_date, s.claim_id, s.line_id)):
        by_date.setdefault(s.service_date, s)
    return tuple(by_date.values())


def _in_region(info: ProcedureInfo, target: ProcedureInfo, per_region: bool) -> bool:
    return not per_region or info.region == target.region


def subtype_of(session: HistorySession, history: Sequence[HistorySession], rules: PainRules) -> str | None:
    """Diagnostic or therapeutic, for families whose codes do not say (see pain_rules.toml [families])."""
    info = rules.catalog.get(session.procedure.code)
    if info is None:
        return None
    if info.subtype:
        return info.subtype
    family = rules.families.get(info.family)
    if family is None or family.subtype_rule is None:
        return None
    if family.subtype_rule == "kx_or_first_two" and session.procedure.has("KX"):
        return "diagnostic"
    window_start = add_months(session.service_date, -12)
    earlier = []
    resets = []
    for other in history:
        other_info = rules.catalog.get(other.procedure.code)
        if other_info is None or other_info.region != info.region or not (
                window_start < other.service_date < session.service_date):
            continue
        if other_info.family == info.family:
            earlier.append(other)
        elif other_info.family in family.first_two_reset_by:
            resets.append(other.service_date)
    if resets:
        last_reset = max(resets)
        earlier = [s for s in earlier if s.service_date > last_reset]
    return "diagnostic" if len(_dates(earlier)) < 2 else "therapeutic"


@dataclass(frozen=True, slots=True)
class FrequencyFinding:
    rule: FrequencyRule
    region: str | None
    counted: tuple[HistorySession, ...]  # one per counted date, oldest first
    window_start: dt.date

    @property
    def exceeded(self) -> bool:
        return len(self.counted) >= self.rule.limit

    @property
    def dates(self) -> str:
        return ", ".join(s.service_date.isoformat() for s in self.counted) or "none"

    def describe(self) -> str:
        # the SI joint labels already name their region
        where = f" {region_words(self.region)}" if self.region and self.region != "sacroiliac" else ""
        count = len(self.counted)
        label = self.rule.label + ("" if count == 1 else "s")
        return (f"{count} earlier{where} {label} in the rolling 12 months ({self.dates}) "
                f"against a limit of {self.rule.limit} (reference {self.rule.ref})")


def frequency_finding(target: HistorySession, history: Sequence[HistorySession],
                      rules: PainRules) -> FrequencyFinding | None:
    info = rules.catalog.get(target.procedure.code)
    if info is None:
        return None
    subtype = subtype_of(target, history, rules)
    for rule in rules.frequency:
        if info.family not in rule.families or (rule.subtype and rule.subtype != subtype):
            continue
        window_start = add_months(target.service_date, -rule.window_months)
        counted = []
        for s in history:
            s_info = rules.catalog.get(s.procedure.code)
            if (s_info is None or s_info.family not in rule.families or not _in_region(s_info, info, rule.per_region)
                    or not (window_start < s.service_date < target.service_date) or s.paid is False
                    or (s.claim_id, s.line_id) == (target.claim_id, target.line_id)):
                continue
            if rule.subtype and subtype_of(s, history, rules) != rule.subtype:
                continue
            counted.append(s)
        return FrequencyFinding(rule=rule, region=info.region if rule.per_region else None,
                                counted=_first_per_date(counted), window_start=window_start)
    return None


@dataclass(frozen=True, slots=True)
class PrerequisiteFinding:
    rule: PrerequisiteRule
    region: str | None
    found: tuple[HistorySession, ...]  # one per date
    satisfied_by_repeat: tuple[HistorySession, ...] = ()

    @property
    def missing(self) -> bool:
        return not self.satisfied_by_repeat and len(self.found) < self.rule.needs_count

    def describe(self, rules: PainRules) -> str:
        if self.satisfied_by_repeat:
            first = self.satisfied_by_repeat[0]
            label = rules.catalog.label(rules.catalog.family(first.procedure.code) or "")
            return f"an earlier {label} on {first.service_date.isoformat()} makes this a repeat procedure"
        where = f" in the {region_words(self.region)} region" if self.region else ""
        if not self.found:
            return f"{self.rule.missing}{where} (reference {self.rule.ref})"
        dates = ", ".join(s.service_date.isoformat() for s in self.found)
        return (f"only {len(self.found)} of the {self.rule.needs_count} required earlier sessions on file{where} "
                f"({dates}) (reference {self.rule.ref})")


def prerequisite_finding(target: HistorySession, same_claim: Sequence[HistorySession],
                         history: Sequence[HistorySession], rules: PainRules) -> PrerequisiteFinding | None:
    info = rules.catalog.get(target.procedure.code)
    if info is None:
        return None
    same_date_families = {rules.catalog.family(s.procedure.code)
                          for s in [*same_claim, *history] if s.service_date == target.service_date}
    for rule in rules.prerequisites:
        applies = info.family in rule.families or (
            info.family in rule.with_families_same_date and bool(same_date_families & rule.families))
        if not applies:
            continue
        dates_excluded = {s.service_date for s in history
                          if rules.catalog.family(s.procedure.code) in rule.needs_without_families_same_date}
        found, repeats = [], []
        for s in history:
            s_info = rules.catalog.get(s.procedure.code)
            if s_info is None or s.service_date >= target.service_date or not _in_region(s_info, info, rule.per_region):
                continue
            if s_info.family in rule.satisfied_by_families:
                repeats.append(s)
            elif s_info.family in rule.needs_families and s.service_date not in dates_excluded:
                found.append(s)
        return PrerequisiteFinding(rule=rule, region=info.region if rule.per_region else None,
                                   found=_first_per_date(found), satisfied_by_repeat=_first_per_date(repeats))
    return None
