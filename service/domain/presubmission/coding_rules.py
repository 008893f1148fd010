"""Coding rules of the check: modifiers (bilateral billing, side, JW/JZ, 25 on a same-day visit, KX, combinations)
and bundling (imaging included in the injection, add-ons without their primary, NCCI pairs, MUE units)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from service.domain.pain.bundling import addon_finding, pair_finding
from service.domain.pain.modifiers import modifier_findings
from service.domain.presubmission.context import BILATERAL, LATERALITY, CheckContext, ClaimView, LineView, Tools
from service.domain.presubmission.coverage_rules import policy_cite
from service.domain.presubmission.findings import WARN, Finding
from service.domain.presubmission.ncci import MueEdit

# modifier_findings ids -> the check rule that reports them (None: another rule of the check covers it)
_MODIFIER_RULES = {
    "jw_jz_missing": "modifier.drug_waste", "jw_jz_both": "modifier.drug_waste",
    "jw_jz_conflict": "modifier.drug_waste", "kx_missing": "modifier.kx_missing",
    "bilateral_units": "modifier.combination", "bilateral_with_side": "modifier.combination",
    "levels_on_one_side": "modifier.combination", "liability_combined": "modifier.combination",
    "kx_with_ga": "modifier.combination", "bilateral_not_allowed": None, "units_over_max": None,
    "jw_jz_container": None,  # without the NDC a multi-dose vial cannot be told apart: not a finding
}


def _sides(line: LineView) -> set[str]:
    return set(line.modifiers) & set(LATERALITY)


def bilateral(claim: ClaimView, tools: Tools) -> list[Finding]:
    """RT and LT lines of one code and date where the payer pays one line with 50; 50 where the code takes none."""
    out: list[Finding] = []
    sub = claim.sub
    one_line = tools.rules.wants_one_bilateral_line(sub.payer.type, sub.payer.id)
    by_code: dict[tuple[str, object], list[LineView]] = defaultdict(list)
    for line in claim.lines:
        by_code[(line.code, line.day)].append(line)
    for (code, day), lines in by_code.items():
        right = [x for x in lines if _sides(x) == {"RT"} and not x.has(BILATERAL)]
        left = [x for x in lines if _sides(x) == {"LT"} and not x.has(BILATERAL)]
        if one_line and right and left:
            second = max(right[0], left[0], key=lambda x: claim.lines.index(x))
            cite = tools.rules.bilateral_cite + " [verify]"
            message = (f"{code} is billed on two lines, {right[0].text} and {left[0].text}, for {day}: "
                       f"{sub.payer.id} pays a bilateral procedure as one line with modifier 50, so the second side "
                       f"reads as a duplicate (OA-18) ({cite})")
            fix = f"bill one line {code}-50 with 1 unit instead of the RT and LT lines"
            out += tools.finding(claim, second, "modifier.bilateral_two_lines", message, fix)
    for line in claim.lines:
        if not line.has(BILATERAL):
            continue
        indicators = tools.pricing.indicators(line.code)
        indicator = indicators.bilateral if indicators is not None else None
        if indicator == "0" or (indicator is None and line.info is not None and line.info.bilateral is False):
            message = (f"{line.text}: {line.code} has bilateral indicator 0 (MPFS), so modifier 50 is not a valid "
                       "way to bill it and brings no bilateral payment")
            fix = "remove 50 and bill the service once (per the code's own unit rules)"
            out += tools.finding(claim, line, "modifier.bilateral_not_allowed", message, fix)
    return out


def side(claim: ClaimView, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    deny = claim.sub.payer.type in tools.rules.side_deny_for
    for line in claim.lines:
        if line.info is None or line.info.bilateral is not True or line.line.detail.side:
            continue
        if _sides(line) or line.has(BILATERAL):
            continue
        message = f"{line.text} is a one-sided procedure billed without RT, LT or 50: the payer cannot tell the side"
        fix = "add RT or LT (or one line with 50 and 1 unit when both sides were treated)"
        out += tools.finding(claim, line, "modifier.side_missing", message, fix, severity=None if deny else WARN)
    return out


def em_without_25(claim: ClaimView, tools: Tools) -> list[Finding]:
    pair = next((p for p in tools.pain.ncci if p.id == "em_same_day"), None)
    if pair is None:
        return []
    out: list[Finding] = []
    for line in claim.lines:
        if line.code not in pair.column2 or line.has(*pair.bypass):
            continue
        injections = [x for x in claim.same_date(line.day) if x.code in pair.column1]
        if not injections:
            continue
        message = (f"{line.text} is billed on {line.day} with {injections[0].text}: {pair.why}, so without "
                   f"modifier 25 the visit is bundled into the injection (NCCI; reference {pair.ref})")
        fix = ("add 25 to the visit only if the note documents a significant, separately identifiable evaluation; "
               "otherwise do not bill the visit")
        out += tools.finding(claim, line, "modifier.em_without_25", message, fix)
    return out


def modifiers(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    """JW/JZ, KX and the combinations the pain layer's modifier checks know."""
    out: list[Finding] = []
    sub = claim.sub
    terms = tools.coverage.terms(sub.payer.type, sub.payer.id)
    history = (*ctx.history, *claim.sessions)
    for line in claim.lines:
        found = modifier_findings(line.session, line.units, claim.sessions, history, sub.payer.type, tools.pain,
                                  drug_waste_required=terms.drug_waste_required)
        seen: set[str] = set()
        for item in found:
            rule_id = _MODIFIER_RULES.get(item.id, "modifier.combination")
            if rule_id is None or rule_id in seen:
                continue
            if item.id == "levels_on_one_side" and (line.info is None or line.info.region is None):
                continue  # levels are spinal: two lines of a drug (a JW waste line) or a visit are something else
            seen.add(rule_id)
            if rule_id == "modifier.drug_waste":
                cite = tools.coverage.drug_waste_basis
            elif rule_id == "modifier.kx_missing":
                cite = policy_cite(tools, claim, line.family, line.day,
                                   "KX on every diagnostic facet injection (the LCD's requirements are met)")
            else:
                cite = "reference 5.5"
            out += tools.finding(claim, line, rule_id, f"{line.text}: {item.problem} ({cite})", item.fix)
    return out


# -- bundling ------------------------------------------------------------------------------------------------------

def addons(claim: ClaimView, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    for line in claim.lines:
        same_date = [x.session for x in claim.same_date(line.day)]
        found = addon_finding(line.session, same_date, tools.pain)
        if found is None or found.partner is not None:
            continue
        message = (f"add-on {line.text} has no primary code ({' or '.join(found.primaries)}) on this claim for "
                   f"{line.day}: an add-on is paid only with its primary (B15/N122)")
        fix = f"bill the primary ({' or '.join(found.primaries)}) on the same claim, or remove the add-on"
        out += tools.finding(claim, line, "bundling.addon_without_primary", message, fix)
    return out


def _bypassed(a: LineView, b: LineView, tools: Tools) -> bool:
    """A modifier the NCCI edit accepts is on the column-2 line, or the two lines are on opposite sides."""
    if set(b.modifiers) & tools.rules.ncci_bypass:
        return True
    return bool(_sides(a) and _sides(b) and not _sides(a) & _sides(b))


def pairs(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    """The pain rules' NCCI pairs, then the imported CMS table's pairs the rules do not hold."""
    out: list[Finding] = []
    flagged: set[str] = set()
    for line in claim.lines:
        same_date = [x.session for x in claim.same_date(line.day)]
        found = pair_finding(line.session, same_date, tools.pain)
        if found is None or found.pair.id in tools.rules.ncci_skip_pairs:
            continue
        partner = "-".join((found.partner.procedure.code, *found.partner.procedure.modifiers))
        why = f"{found.pair.why} (NCCI; reference {found.pair.ref})"
        if found.pair.indicator == 0:
            message = f"{line.text} is billed with {partner} on {line.day}: {why}, so it is never paid separately"
            fix = f"remove the {line.code} line"
            out += tools.finding(claim, line, "bundling.imaging_included" if found.pair.id == "imaging_included"
                                 else "bundling.ncci_pair", message, fix)
            flagged.add(line.line_id)
        elif not found.bypass_present and not found.other_side:
            message = f"{line.text} bundles into {partner} on {line.day}: {why}"
            fix = (f"remove {line.code}, or add {found.pair.bypass[0]} only if the note documents a distinct service "
                   "(another level, side or session)")
            out += tools.finding(claim, line, "bundling.ncci_pair", message, fix)
            flagged.add(line.line_id)
    if not ctx.ncci.pairs:
        return out
    for b in claim.lines:
        if b.line_id in flagged:
            continue
        for a in claim.same_date(b.day):
            if a is b or a.code == b.code:
                continue
            edit = ctx.ncci.pair(a.code, b.code, b.day)
            if edit is None or edit.modifier_indicator == "9":
                continue
            if edit.modifier_indicator == "1" and _bypassed(a, b, tools):
                continue
            rationale = f"; {edit.rationale}" if edit.rationale else ""
            message = (f"{b.text} is column 2 of the NCCI edit {a.code}/{b.code} (CMS PTP table, effective "
                       f"{edit.effective.isoformat()}, modifier indicator {edit.modifier_indicator}{rationale}): "
                       f"billed with {a.text} on {b.day}, it is not paid")
            fix = (f"remove {b.code} (no modifier bypasses this edit)" if edit.modifier_indicator == "0" else
                   f"remove {b.code}, or add an NCCI-associated modifier (XS, XU, XE, 59) only when the note documents "
                   "a distinct service")
            out += tools.finding(claim, b, "bundling.ncci_pair", message, fix)
            break
    return out


def units(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    """MUE: units per line or per date above the code's value (the imported table, else procedures.csv)."""
    out: list[Finding] = []
    by_code: dict[tuple[str, object], list[LineView]] = defaultdict(list)
    for line in claim.lines:
        by_code[(line.code, line.day)].append(line)
    for (code, day), lines in by_code.items():
        edit = ctx.ncci.mue.get(code)
        source = "CMS MUE table"
        if edit is None:
            info = lines[0].info
            if info is None or info.max_units is None:
                continue
            edit = MueEdit(code=code, max_units=info.max_units, adjudication="")
            source = "MUE per date of service, procedures.csv [verify against the CMS MUE table]"
        if edit.adjudication == "1":
            over = [(x, x.units) for x in lines if x.units > edit.max_units]
        else:
            # RT and LT lines of one code are one bilateral service (the bilateral rule reports their form)
            right = sum((x.units for x in lines if _sides(x) == {"RT"}), Decimal(0))
            left = sum((x.units for x in lines if _sides(x) == {"LT"}), Decimal(0))
            rest = sum((x.units for x in lines if _sides(x) not in ({"RT"}, {"LT"})), Decimal(0))
            total = rest + max(right, left)
            over = [(lines[-1], total)] if total > edit.max_units else []
        for line, billed in over:
            per = "line" if edit.adjudication == "1" else "date of service"
            policy = {"2": "; indicator 2: a policy limit no appeal of the units changes",
                      "3": "; indicator 3: clinical, appealable with records"}.get(edit.adjudication, "")
            message = (f"{billed.normalize()} units of {code} on {day} where the MUE allows {edit.max_units} per "
                       f"{per} ({source}{policy})")
            fix = (f"bill {edit.max_units} unit{'s' if edit.max_units > 1 else ''}"
                   + (" (both sides: one line with 50)" if line.info and line.info.bilateral else ""))
            out += tools.finding(claim, line, "bundling.mue_units", message, fix)
    return out
