"""Bundling: NCCI pairs that meet on one date (reference 5.6) and add-on codes billed without their primary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.model import HistorySession
from service.domain.pain.rules import NcciPair, PainRules


@dataclass(frozen=True, slots=True)
class PairFinding:
    pair: NcciPair
    partner: HistorySession  # the column-1 service the target bundles into
    bypass_present: bool
    other_side: bool  # the two lines carry opposite RT/LT

    @property
    def recoverable(self) -> bool:
        return self.pair.indicator == 1


@dataclass(frozen=True, slots=True)
class AddonFinding:
    primaries: tuple[str, ...]  # the codes that would qualify
    partner: HistorySession | None  # a qualifying primary on file the same date, if any


def _side(session: HistorySession, rules: PainRules) -> str | None:
    sides = [m for m in session.procedure.modifiers if m in rules.modifiers.laterality]
    return sides[0] if len(sides) == 1 else None


def pair_finding(target: HistorySession, same_date: Sequence[HistorySession], rules: PainRules) -> PairFinding | None:
    """The NCCI pair that makes `target` (column 2) part of another service the same date, if any."""
    code = target.procedure.code
    info = rules.catalog.get(code)
    for pair in rules.ncci:
        if code not in pair.column2:
            continue
        for other in same_date:
            if other.procedure.code not in pair.column1 or (other.claim_id, other.line_id) == (
                    target.claim_id, target.line_id):
                continue
            other_info = rules.catalog.get(other.procedure.code)
            if pair.same_region and (info is None or other_info is None or info.region != other_info.region):
                continue
            side_a, side_b = _side(target, rules), _side(other, rules)
            return PairFinding(pair=pair, partner=other,
                               bypass_present=target.procedure.has(*pair.bypass) if pair.bypass else False,
                               other_side=bool(side_a and side_b and side_a != side_b))
    return None


def addon_finding(target: HistorySession, same_date: Sequence[HistorySession], rules: PainRules) -> AddonFinding | None:
    """For an add-on code: which primary it needs and whether one is on file the same date."""
    info = rules.catalog.get(target.procedure.code)
    if info is None or not info.is_addon:
        return None
    partner = next((s for s in same_date if s.procedure.code in info.addon_of and s.paid is not False), None)
    if partner is None:
        partner = next((s for s in same_date if s.procedure.code in info.addon_of), None)
    return AddonFinding(primaries=info.addon_of, partner=partner)
