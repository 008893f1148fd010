"""Modifier checks that explain coding denials (reference 5.3, 5.5): 50 with units or levels, KX on diagnostic facet
injections, JW/JZ on drug lines (a Medicare Part B rule for single-dose containers), liability modifiers that may not
be combined."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from service.domain.model import HistorySession
from service.domain.pain.history import subtype_of
from service.domain.pain.rules import PainRules


@dataclass(frozen=True, slots=True)
class ModifierFinding:
    id: str
    problem: str
    fix: str


def modifier_findings(target: HistorySession, units: Decimal, same_claim: Sequence[HistorySession],
                      history: Sequence[HistorySession], payer_type: str, rules: PainRules, *,
                      drug_waste_required: bool | None = None) -> list[ModifierFinding]:
    """`drug_waste_required`: whether the payer requires JW/JZ (the payer's terms; None: Medicare Part B only)."""
    names = rules.modifiers  # which modifiers mean what (laterality, bilateral, distinct...)
    mods = set(target.procedure.modifiers)
    info = rules.catalog.get(target.procedure.code)
    found: list[ModifierFinding] = []
    # 50 with several units is the bilateral error below, not a units-per-date one
    if info is not None and info.max_units is not None and units > info.max_units and names.bilateral not in mods:
        found.append(ModifierFinding(
            "units_over_max", f"{units.normalize()} units billed where {target.procedure.code} allows "
            f"{info.max_units} per date (MUE, a policy edit that no appeal of the units changes)",
            f"bill {info.max_units} unit{'s' if info.max_units > 1 else ''}"
            + (" with 50 for a bilateral service" if info.bilateral else "")))
    if names.bilateral in mods:
        if units > 1:
            found.append(ModifierFinding("bilateral_units", f"modifier 50 billed with {units.normalize()} units",
                                         "bill one line with 50 and 1 unit"))
        if mods & set(names.laterality):
            found.append(ModifierFinding("bilateral_with_side", "modifier 50 combined with RT/LT on one line",
                                         "keep 50 alone (or RT and LT on two lines if the payer wants them)"))
        if info is not None and info.bilateral is False:
            found.append(ModifierFinding("bilateral_not_allowed", f"{target.procedure.code} takes no bilateral "
                                         "payment (indicator 0)", "remove 50 and bill the service once"))
    if info is not None and not info.is_addon:
        side = mods & set(names.laterality)
        for other in same_claim:
            if (other.line_id != target.line_id and other.procedure.code == target.procedure.code
                    and other.service_date == target.service_date
                    and (set(other.procedure.modifiers) & set(names.laterality)) == side
                    and not (set(other.procedure.modifiers) & set(names.distinct + names.repeat))):
                found.append(ModifierFinding(
                    "levels_on_one_side", f"{target.procedure.code} billed twice on one side the same date",
                    "bill the second level with its add-on code, not a second primary or 50"))
                break
    liability = mods & {names.abn_on_file, names.no_abn, names.statutory_exclusion}
    # KX attests the policy's requirements are met; a GA/GZ/GY line says they may not be, so it takes no KX.
    if (info is not None and info.family in names.kx_families and payer_type in names.kx_payer_types
            and "KX" not in mods and not liability and subtype_of(target, history, rules) == names.kx_subtype):
        found.append(ModifierFinding("kx_missing", "KX missing on a diagnostic facet injection",
                                     "add KX (the LCD's diagnostic-block requirements are met) by correction"))
    waste_rule = payer_type == "medicare" if drug_waste_required is None else drug_waste_required
    # CMS JW/JZ policy: the administered amount is billed on its own line, the discarded amount on a JW line of the
    # same drug; JZ says nothing was discarded, so it never stands next to a JW line of that drug.
    same_drug = [o for o in same_claim if o.line_id != target.line_id and o.procedure.code == target.procedure.code
                 and o.service_date == target.service_date]
    waste_line = any("JW" in o.procedure.modifiers for o in same_drug)
    if info is not None and info.family in names.drug_families and {"JW", "JZ"} <= mods:
        found.append(ModifierFinding("jw_jz_both", "JW and JZ on one drug line",
                                     "JZ when nothing was discarded, else JW on a separate waste line"))
    elif info is not None and info.family in names.drug_families and "JZ" in mods and waste_line:
        found.append(ModifierFinding(
            "jw_jz_conflict", f"{target.procedure.code} is billed with JZ (nothing discarded) and with a JW line "
            "(an amount discarded) the same date", "keep the JW line for the discarded amount and bill the "
            "administered amount without JZ; or, if nothing was discarded, remove the JW line"))
    elif (info is not None and info.family in names.drug_families and waste_rule
          and target.service_date >= names.jz_required_from and not mods & {"JW", "JZ"} and not waste_line):
        if target.procedure.code in names.multi_dose_codes:
            found.append(ModifierFinding(
                "jw_jz_container", f"{target.procedure.code} is usually drawn from a multi-dose vial, which takes "
                "neither JW nor JZ", "check the NDC billed: add JZ (or a JW waste line) only for a single-dose vial"))
        else:
            found.append(ModifierFinding("jw_jz_missing", "neither JW nor JZ on a single-dose drug line (Medicare "
                                         "Part B)", "add JZ (nothing discarded) or a JW line for the discarded amount"))
    if len(liability) > 1:
        found.append(ModifierFinding("liability_combined", f"{'/'.join(sorted(liability))} combined on one line",
                                     "keep the one liability modifier that fits the ABN status"))
    if names.abn_on_file in mods and "KX" in mods:
        found.append(ModifierFinding("kx_with_ga", "KX combined with GA", "KX and GA may not be combined"))
    return found
