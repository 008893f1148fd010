"""Claim history per patient, spinal region, side and level: rolling session counts, prerequisites and repeat
criteria.

`history` is every earlier procedure session of the patient the store knows (any claim, payer or date); these
functions filter by family, region and window themselves. A session is one date: several lines of one date (levels,
sides, add-ons) are one session. Sessions known to be denied do not count toward a frequency limit.

Which limits and thresholds apply is payer policy (`service.domain.policy`); the functions take them as arguments
and fall back to the structural rules of `pain_rules.toml` (and the Medicare LCD limits) when given none. What a
rule needs and the history does not hold (the side, the levels, the documented relief) makes its verdict
`undecidable`, never `not_met`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.clocks import add_months
from service.domain.model import HistorySession
from service.domain.pain.families import ProcedureInfo
from service.domain.pain.rules import FrequencyRule, PainRules, PrerequisiteRule
from service.domain.policy import PrerequisiteCriteria, RepeatCriterion

REGION_WORDS = {"cervical_thoracic": "cervical/thoracic", "lumbar_sacral": "lumbar/sacral", "sacroiliac": "SI joint"}
SIDE_WORDS = {"left": "left", "right": "right"}
_MODIFIER_SIDES = {"RT": frozenset({"right"}), "LT": frozenset({"left"}), "50": frozenset({"left", "right"})}
_DETAIL_SIDES = {"left": frozenset({"left"}), "right": frozenset({"right"}),
                 "bilateral": frozenset({"left", "right"})}

# Verdicts of a prerequisite or repeat rule, worst first. LIKELY_NOT_MET: short only of a threshold the document's
# text has not confirmed (flag it, do not write off on it).
MISSING, NOT_MET, UNDECIDABLE, MET = "missing", "not_met", "undecidable", "met"
LIKELY_NOT_MET = "likely_not_met"
_ORDER = {MISSING: 0, NOT_MET: 1, UNDECIDABLE: 2, MET: 3}


def region_words(region: str | None) -> str:
    return REGION_WORDS.get(region or "", "")


def sides_of(session: HistorySession) -> frozenset[str] | None:
    """The sides treated: what the platform said, else RT/LT/50 on the line; None when not known."""
    if session.detail.side in _DETAIL_SIDES:
        return _DETAIL_SIDES[session.detail.side]
    found: set[str] = set()
    for modifier in session.procedure.modifiers:
        found |= _MODIFIER_SIDES.get(modifier, frozenset())
    return frozenset(found) or None


def side_words(sides: frozenset[str] | None) -> str:
    if not sides:
        return "side not known"
    return "bilateral" if len(sides) == 2 else f"{next(iter(sides))} side"


def levels_of(session: HistorySession) -> frozenset[str]:
    return frozenset(level.upper().replace(" ", "") for level in session.detail.levels)


def _dates(sessions: Iterable[HistorySession]) -> list[dt.date]:
    return sorted({s.service_date for s in sessions})


def _first_per_date(sessions: Iterable[HistorySession]) -> tuple[HistorySession, ...]:
    by_date: dict[dt.date, HistorySession] = {}
    for s in sorted(sessions, key=lambda s: (s.service_date, s.claim_id, s.line_id)):
        by_date.setdefault(s.service_date, s)
    return tuple(by_date.values())


def _merge_per_date(sessions: Iterable[HistorySession]) -> tuple[HistorySession, ...]:
    """One session per date, keeping the most informative line (the one that carries the documented detail)."""
    by_date: dict[dt.date, HistorySession] = {}
    for s in sorted(sessions, key=lambda s: (s.service_date, s.claim_id, s.line_id)):
        kept = by_date.get(s.service_date)
        if kept is None or (kept.detail.empty and not s.detail.empty):
            by_date[s.service_date] = s
    return tuple(by_date.values())


def _in_region(info: ProcedureInfo, target: ProcedureInfo, per_region: bool) -> bool:
    return not per_region or info.region == target.region


def subtype_of(session: HistorySession, history: Sequence[HistorySession], rules: PainRules) -> str | None:
    """Diagnostic or therapeutic: what the platform documented, else what the code or KX says, else (for families
    whose codes do not say, pain_rules.toml [families]) the first two sessions in a region are the diagnostic pair."""
    info = rules.catalog.get(session.procedure.code)
    if info is None:
        return None
    if session.detail.intent in ("diagnostic", "therapeutic"):
        return session.detail.intent
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


# -- session limits -----------------------------------------------------------------------------------------------


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

    @property
    def staged_sides(self) -> bool:
        """Counted sessions on different dates treated different sides (a staged bilateral procedure)."""
        sides = [sides_of(s) for s in self.counted]
        known = [s for s in sides if s]
        return len(known) >= 2 and len(set(known)) >= 2

    def describe(self) -> str:
        # the SI joint labels already name their region
        where = f" {region_words(self.region)}" if self.region and self.region != "sacroiliac" else ""
        count = len(self.counted)
        label = self.rule.label + ("" if count == 1 else "s")
        return (f"{count} earlier{where} {label} in the rolling {self.rule.window_months} months ({self.dates}) "
                f"against a limit of {self.rule.limit} ({self.rule.ref})")


def frequency_finding(target: HistorySession, history: Sequence[HistorySession], rules: PainRules,
                      limits: Sequence[FrequencyRule] | None = None) -> FrequencyFinding | None:
    """The sessions that count against the limit for `target`. `limits`: the payer's own (policy_for); None: the
    Medicare LCD limits of `rules.frequency`; an empty sequence: no limit is known, so no finding."""
    info = rules.catalog.get(target.procedure.code)
    if info is None:
        return None
    subtype = subtype_of(target, history, rules)
    for rule in (rules.frequency if limits is None else limits):
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
                                counted=_merge_per_date(counted), window_start=window_start)
    return None


# -- what an earlier session must have achieved -------------------------------------------------------------------


def _site_match(earlier: HistorySession, target: HistorySession, side: str | None) -> str:
    """yes / no / unknown: does `earlier` cover `side` and every level of `target`?"""
    sides = sides_of(earlier)
    if side is not None:
        if sides is None:
            return "unknown"
        if side not in sides:
            return "no"
    wanted, have = levels_of(target), levels_of(earlier)
    if not wanted or not have:
        return "unknown"
    return "yes" if wanted <= have else "no"


def _relief(session: HistorySession, minimum: int | None) -> str:
    """good / bad / unknown against a minimum relief percent (None: relief is not part of the rule)."""
    if minimum is None:
        return "good"
    if session.detail.relief_percent is None:
        return "unknown"
    return "good" if session.detail.relief_percent >= minimum else "bad"


def _relief_text(session: HistorySession) -> str:
    d = session.detail
    if d.relief_percent is None:
        return f"{session.service_date.isoformat()} (relief not documented)"
    lasted = f" for {d.relief_days} days" if d.relief_days is not None else ""
    return f"{session.service_date.isoformat()} ({d.relief_percent}% relief{lasted})"


@dataclass(frozen=True, slots=True)
class SideVerdict:
    side: str | None
    verdict: str
    good: tuple[HistorySession, ...] = ()
    unsure: tuple[HistorySession, ...] = ()
    below: tuple[HistorySession, ...] = ()
    why_unsure: tuple[str, ...] = ()
    elsewhere: tuple[tuple[HistorySession, str], ...] = ()  # on file, but at another side or other levels (why)


@dataclass(frozen=True, slots=True)
class PrerequisiteFinding:
    rule: PrerequisiteRule
    region: str | None
    found: tuple[HistorySession, ...]  # one per date: every earlier session of the needed families that could count
    satisfied_by_repeat: tuple[HistorySession, ...] = ()
    criteria: PrerequisiteCriteria | None = None  # the payer's thresholds; None: structural rule only
    sides: tuple[SideVerdict, ...] = ()
    not_counted: tuple[tuple[HistorySession, str], ...] = ()  # sessions of the needed families that cannot count (why)

    @property
    def verdict(self) -> str:
        if self.satisfied_by_repeat:
            return MET
        if not self.sides:
            return MISSING if len(self.found) < self.rule.needs_count else MET
        return min((v.verdict for v in self.sides), key=_ORDER.__getitem__)

    @property
    def missing(self) -> bool:
        """Nothing on file meets the rule (none at all, too few, or documented below the threshold)."""
        return self.verdict in (MISSING, NOT_MET)

    def describe(self, rules: PainRules) -> str:
        if self.satisfied_by_repeat:
            first = self.satisfied_by_repeat[-1]
            label = rules.catalog.label(rules.catalog.family(first.procedure.code) or "")
            return f"an earlier {label} on {first.service_date.isoformat()} at the same site makes this a repeat"
        region = f"{region_words(self.region)} region" if self.region else ""
        ref = f" ({self.criteria.cite.text()})" if self.criteria else f" (reference {self.rule.ref})"
        parts = []
        for v in self.sides or (SideVerdict(None, self.verdict, good=self.found),):
            if v.side and region:
                at = f" at the {v.side} side of the {region}"
            elif v.side:
                at = f" at the {v.side} side"
            else:
                at = f" in the {region}" if region else ""
            need = self.rule.needs_count
            if v.verdict == MET:
                parts.append(f"{need} qualifying sessions{at} on file: "
                             + ", ".join(_relief_text(s) if self.criteria and self.criteria.min_relief_percent
                                         else s.service_date.isoformat() for s in v.good[:need]))
            elif v.verdict == UNDECIDABLE:
                parts.append(f"whether {need} qualifying sessions{at} are on file cannot be decided: "
                             + "; ".join(dict.fromkeys(v.why_unsure)))
            elif v.verdict == NOT_MET:
                minimum = self.criteria.min_relief_percent if self.criteria else None
                shown = ", ".join(_relief_text(s) for s in v.below)
                parts.append(f"the sessions{at} on file fall short of the required {minimum}% relief: {shown}")
            elif not (v.good or v.unsure):
                parts.append(f"{self.rule.missing}{at}{self._not_counting(v)}")
            else:
                usable = len(v.good) + len(v.unsure)
                parts.append(f"only {usable} of the {need} required earlier sessions{at} on file"
                             f"{self._not_counting(v)}")
        return "; ".join(parts) + ref

    def _not_counting(self, v: SideVerdict) -> str:
        """The sessions of the needed families on file that do not count here, each with why."""
        minimum = self.criteria.min_relief_percent if self.criteria else None
        below = [(s, f"{s.detail.relief_percent}% relief, below the {minimum}%") for s in v.below]
        items = sorted({*self.not_counted, *v.elsewhere, *below}, key=lambda item: item[0].service_date)
        if not items:
            return ""
        shown = ", ".join(f"{s.service_date.isoformat()} ({why})" for s, why in items)
        return f" (on file but not counted: {shown})"


def _qualifies_as_needed(s: HistorySession, history: Sequence[HistorySession], rules: PainRules,
                         criteria: PrerequisiteCriteria | None) -> bool:
    if s.detail.intent == "therapeutic":
        return criteria is None or not criteria.diagnostic_only
    if criteria is not None and criteria.diagnostic_only and s.detail.intent is None:
        return subtype_of(s, history, rules) != "therapeutic"
    return True


def _elsewhere(earlier: HistorySession, target: HistorySession, side: str | None) -> str:
    """Why `earlier` is not at the site of `target`: its side, or its levels."""
    sides = sides_of(earlier)
    if side is not None and sides is not None and side not in sides:
        return f"{side_words(sides)}"
    return (f"at {', '.join(sorted(levels_of(earlier)))}, while this session treats "
            f"{', '.join(sorted(levels_of(target)))}")


def _side_verdict(side: str | None, candidates: Sequence[HistorySession], target: HistorySession, need: int,
                  criteria: PrerequisiteCriteria | None) -> SideVerdict:
    good, unsure, below, why, elsewhere = [], [], [], [], []
    minimum = criteria.min_relief_percent if criteria else None
    for s in candidates:
        site = _site_match(s, target, side) if (criteria is None or criteria.same_site or side) else "yes"
        if site == "no":
            elsewhere.append((s, _elsewhere(s, target, side)))
            continue
        if criteria is None and site == "unknown" and (side is None or sides_of(s) is not None):
            site = "yes"  # the structural rule asks only for the side, and that matched (or nobody knows it)
        relief = _relief(s, minimum)
        if relief == "bad":
            below.append(s)
            continue
        if site == "yes" and relief == "good":
            good.append(s)
            continue
        unsure.append(s)
        day = s.service_date.isoformat()
        if site == "unknown":
            if side is not None and sides_of(s) is None:
                why.append(f"the side of the {day} session is not on file")
            else:
                why.append("the levels treated (this session's or the earlier ones') are not on file")
        if relief == "unknown":
            why.append(f"the relief after the {day} session is not documented")
    if len(good) >= need:
        verdict = MET
    elif len(good) + len(unsure) >= need:
        verdict = UNDECIDABLE
    elif below and len(good) + len(unsure) + len(below) >= need:
        verdict = NOT_MET
    else:
        verdict = MISSING
    return SideVerdict(side, verdict, tuple(good), tuple(unsure), tuple(below), tuple(why), tuple(elsewhere))


def prerequisite_finding(target: HistorySession, same_claim: Sequence[HistorySession],
                         history: Sequence[HistorySession], rules: PainRules,
                         criteria: PrerequisiteCriteria | None = None,
                         repeat: RepeatCriterion | None = None) -> PrerequisiteFinding | None:
    """What must be on file before `target`: the structural rule of pain_rules.toml, judged against the payer's
    `criteria` when given (diagnostic blocks only, at the side and levels treated, each with the documented relief).
    A repeat of the same procedure at the same site (per `repeat`, else anywhere in the region) rests on the earlier
    one instead."""
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
        if (criteria is not None and info.family not in criteria.families
                and info.family not in rule.with_families_same_date):
            criteria = None
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
        target_sides = sides_of(target)
        if repeat is not None and repeat.same_site:
            repeats = [s for s in repeats if any(_site_match(s, target, side) != "no"
                                                 for side in (target_sides or {None}))]
        merged = _merge_per_date(found)
        candidates = [s for s in merged if _qualifies_as_needed(s, history, rules, criteria)]
        not_counted = tuple((s, "documented as therapeutic" if s.detail.intent == "therapeutic" else
                             "read as therapeutic: not one of the first two blocks in the region")
                            for s in merged if s not in candidates)
        sides: tuple[SideVerdict, ...] = ()
        if not repeats and (criteria is not None or target_sides is not None):
            sides = tuple(_side_verdict(side, candidates, target, rule.needs_count, criteria)
                          for side in sorted(target_sides or {None}, key=lambda x: x or ""))
        return PrerequisiteFinding(rule=rule, region=info.region if rule.per_region else None,
                                   found=tuple(candidates), satisfied_by_repeat=_first_per_date(repeats),
                                   criteria=criteria, sides=sides, not_counted=not_counted)
    return None


@dataclass(frozen=True, slots=True)
class RepeatFinding:
    """A repeat of the same procedure: whether the earlier session achieved what the payer's criterion asks."""

    criterion: RepeatCriterion
    earlier: HistorySession
    interval_days: int
    verdict: str
    why: str

    def describe(self) -> str:
        return f"{self.why} ({self.criterion.cite.text()})"


def repeat_finding(target: HistorySession, history: Sequence[HistorySession], rules: PainRules,
                   criterion: RepeatCriterion | None) -> RepeatFinding | None:
    """None when `target` is not a repeat (no earlier session of the family at the same site or region)."""
    info = rules.catalog.get(target.procedure.code)
    if info is None or criterion is None or info.family not in criterion.families:
        return None
    window_start = (add_months(target.service_date, -criterion.window_months)
                    if criterion.window_months is not None else None)
    target_sides = sides_of(target)
    earlier = []
    for s in history:
        s_info = rules.catalog.get(s.procedure.code)
        if (s_info is None or s_info.family not in criterion.families or s_info.region != info.region
                or s.service_date >= target.service_date or s.paid is False
                or (window_start is not None and s.service_date <= window_start)):
            continue
        if criterion.same_site and any(_site_match(s, target, side) == "no" for side in (target_sides or {None})):
            continue
        earlier.append(s)
    if not earlier:
        return None
    prior = _merge_per_date(earlier)[-1]
    interval = (target.service_date - prior.service_date).days
    d = prior.detail
    day = prior.service_date.isoformat()
    need = f"{criterion.relief_words}"
    short = LIKELY_NOT_MET if criterion.duration_verify else NOT_MET
    unconfirmed = " (the duration is to be verified in the document)" if criterion.duration_verify else ""
    if d.relief_percent is not None and d.relief_percent < criterion.min_relief_percent:
        return RepeatFinding(criterion, prior, interval, NOT_MET,
                             f"the session of {day} gave {d.relief_percent}% relief, short of {need}")
    if interval < criterion.min_relief_days and (d.relief_percent is not None or not criterion.duration_verify):
        return RepeatFinding(criterion, prior, interval, short,
                             f"repeated {interval} days after the session of {day}, sooner than the "
                             f"{criterion.min_relief_days} days the relief must have lasted ({need}){unconfirmed}")
    if d.relief_percent is None or d.relief_days is None:
        missing = "relief" if d.relief_percent is None else "how long the relief lasted"
        sooner = (f"; it was repeated {interval} days after it, sooner than the {criterion.min_relief_days} days "
                  f"the relief must have lasted{unconfirmed}" if interval < criterion.min_relief_days else "")
        return RepeatFinding(criterion, prior, interval, UNDECIDABLE,
                             f"the repeat criterion ({need}) cannot be decided: the {missing} after the session of "
                             f"{day} is not on file{sooner}")
    if d.relief_days < criterion.min_relief_days:
        return RepeatFinding(criterion, prior, interval, short,
                             f"the session of {day} gave {d.relief_percent}% relief for {d.relief_days} days, short "
                             f"of {need}{unconfirmed}")
    return RepeatFinding(criterion, prior, interval, MET,
                         f"the session of {day} gave {d.relief_percent}% relief for {d.relief_days} days, meeting "
                         f"{need}")
