"""Duplicate denials (CARC 18): a true duplicate repeats a service already on file; a false one differs by side,
level or session (RT/LT, an add-on level, 76/77/XE) and needs the right modifier, not a write-off (reference 2.9).
An add-on code carrying 76/77 is a coding error, not a repeat: an additional level is another unit of the add-on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from service.domain.model import HistorySession
from service.domain.pain.rules import PainRules


@dataclass(frozen=True, slots=True)
class DuplicateFinding:
    verdict: Literal["true", "false", "unknown"]
    reason: str
    match: HistorySession | None = None
    kind: str = ""  # false duplicates: "sides" (the other side), "addon_level", "addon_units" (76 on an add-on),
    # "marker" (76/77/XE on a primary)


def _sides(session: HistorySession, rules: PainRules) -> frozenset[str]:
    mods = set(session.procedure.modifiers)
    if rules.modifiers.bilateral in mods:
        return frozenset(rules.modifiers.laterality)
    return frozenset(mods & set(rules.modifiers.laterality))


def duplicate_finding(target: HistorySession, same_claim: Sequence[HistorySession],
                      history: Sequence[HistorySession], rules: PainRules) -> DuplicateFinding:
    """Compare the denied line with the same code on the same date elsewhere on the claim or in history.

    History rows of this same claim that were never adjudicated (`paid is None`) are the submission itself, not an
    earlier service, so they are ignored."""
    code = target.procedure.code
    candidates = [s for s in same_claim
                  if s.procedure.code == code and s.service_date == target.service_date and s.line_id != target.line_id]
    candidates += [s for s in history
                   if s.procedure.code == code and s.service_date == target.service_date
                   and not (s.claim_id == target.claim_id and (s.line_id == target.line_id or s.paid is None))]
    marker = [m for m in target.procedure.modifiers if m in rules.modifiers.repeat + rules.modifiers.distinct]
    info = rules.catalog.get(code)
    if info is not None and info.is_addon and any(m in rules.modifiers.repeat for m in marker):
        return DuplicateFinding("false", f"{code} is an add-on code: an additional level is another unit of it, not "
                                         f"a repeat procedure ({marker[0]})", candidates[0] if candidates else None,
                                kind="addon_units")
    if marker:
        return DuplicateFinding("false", f"the line carries {marker[0]}, marking a repeat or separate session",
                                candidates[0] if candidates else None, kind="marker")
    if not candidates:
        return DuplicateFinding("unknown", "no earlier service with the same code and date is on file: check "
                                           "whether the original was paid")
    target_sides = _sides(target, rules)
    for match in candidates:
        match_sides = _sides(match, rules)
        if target_sides and match_sides and not (target_sides & match_sides):
            return DuplicateFinding(
                "false", f"it is the {'/'.join(sorted(target_sides))} side and the service on file is "
                         f"{'/'.join(sorted(match_sides))}", match, kind="sides")
    exact = next((m for m in candidates if set(m.procedure.modifiers) == set(target.procedure.modifiers)), None)
    if exact is not None and exact.claim_id != target.claim_id:
        # A whole claim sent again: its add-on lines are as much a duplicate as its primary line.
        return DuplicateFinding("true", "the same code, modifiers and date are already on file", exact)
    if info is not None and info.is_addon:
        return DuplicateFinding("false", "an add-on code repeats once per additional level", candidates[0],
                                kind="addon_level")
    if exact is not None and exact.claim_id == target.claim_id and exact in same_claim:
        # Two identical lines on one claim: a keying duplicate, or a second level that needed the add-on code.
        return DuplicateFinding("unknown", "the same code and modifiers are billed twice on this claim: if a second "
                                           "level was done it takes the add-on code, else it is a keying duplicate",
                                exact)
    if exact is not None:
        return DuplicateFinding("true", "the same code, modifiers and date are already on file", exact)
    return DuplicateFinding("unknown", "a service with the same code and date is on file with other modifiers: "
                                       "compare the two", candidates[0])
