"""Session rules of the check: what one date of service may hold under the coverage policies (levels per session,
one spinal region and one approach per ESI session, one trigger-point code, sedation with an injection), and urine
drug testing (a presumptive test first, broad definitive panels, how often). These are coverage limits of an LCD or
its billing article, not NCCI edits: no modifier makes a second service payable, so the fixes never suggest one."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from service.domain.authorizations import sides_of
from service.domain.pain.history import region_words
from service.domain.policy import LevelLimit
from service.domain.presubmission.context import ABN_ON_FILE, CheckContext, ClaimView, LineView, Tools
from service.domain.presubmission.coverage_rules import policy_cite
from service.domain.presubmission.findings import WARN, Finding
from service.domain.presubmission.rules import SessionRule


def _not_covered_fix(claim: ClaimView, what: str) -> str:
    if claim.sub.payer.type == "medicare":
        return (f"{what}; a service past the policy's limit is not covered: an ABN signed before the session, billed "
                "with GA, makes the patient liable")
    return f"{what}; a service past the policy's limit is not covered unless the plan approves it before the session"


def _live(claim: ClaimView) -> list[LineView]:
    """The lines the session rules count: procedures of the pain rules not billed with GA (an ABN expects the
    denial)."""
    return [x for x in claim.lines if x.info is not None and not x.has(ABN_ON_FILE)]


# -- levels per session --------------------------------------------------------------------------------------------

def levels(claim: ClaimView, tools: Tools) -> list[Finding]:
    """More levels of a family in one region on one date (on either side) than the payer's policy covers: the
    primary line and each add-on unit is one level; a line with 50 is a level on both sides."""
    out: list[Finding] = []
    groups: dict[tuple[dt.date, str | None, str | None], list[LineView]] = defaultdict(list)
    for x in _live(claim):
        groups[(x.day, x.family, x.info.region if x.info else None)].append(x)
    for (day, family, region), lines in groups.items():
        policy = tools.policy(claim.sub, family, day)
        limit: LevelLimit | None = policy.levels if policy.known else tools.coverage.policy_for(
            "medicare", None, family, day).levels
        if limit is None or family not in limit.families:
            continue
        severity = tools.severity("session.levels", policy.known)
        if severity is None:
            continue
        over = _past_limit(lines, limit.limit)
        if over is None:
            continue
        line, count, side = over
        where = f" of the {region_words(region)} region" if region_words(region) else ""
        label = tools.pain.catalog.label(family or "")
        cite = limit.cite.text() if policy.known else (f"the Medicare limit: {limit.cite.text()}; "
                                                       f"{policy.unknown_text()}")
        message = (f"{line.text} is level {count}{where} on {'the ' if side != 'each side' else ''}{side} in one "
                   f"{label} session on {day.isoformat()}: "
                   f"the policy covers at most {limit.limit} level{'s' if limit.limit != 1 else ''} per session "
                   f"({cite})")
        fix = _not_covered_fix(claim, f"bill the {limit.limit} level{'s' if limit.limit != 1 else ''} the policy "
                                      "covers: the add-on units beyond it are not paid")
        out += tools.finding(claim, line, "session.levels", message, fix, severity=severity)
    return out


def _past_limit(lines: list[LineView], limit: int) -> tuple[LineView, int, str] | None:
    """The line that takes a side past `limit` levels (each unit a level), the count, and the side in words."""
    sides = [sides_of(x.modifiers, x.line.detail.side) for x in lines]
    known = sorted({s for found in sides if found for s in found})
    for side in known or [None]:
        count = Decimal(0)
        for x, found in zip(lines, sides, strict=True):
            if side is not None and found is not None and side not in found:
                continue
            count += x.units
            if count > limit:
                both = found is not None and len(found) == 2
                return x, int(count), "each side" if both else (f"{side} side" if side else "side billed")
    return None


# -- one region, one approach, one code -------------------------------------------------------------------------------

def combinations(claim: ClaimView, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    live = _live(claim)
    for rule in tools.rules.sessions:
        by_day: dict[dt.date, list[LineView]] = defaultdict(list)
        for x in live:
            if x.family in rule.families:
                by_day[x.day].append(x)
        for day, lines in by_day.items():
            for first, second in _too_many(rule, lines):
                out += _combination_finding(claim, tools, rule, day, first, second)
    return out


def _region(x: LineView) -> str | None:
    return x.info.region if x.info else None


def _value(rule: SessionRule, x: LineView) -> str | None:
    """What the rule counts distinct values of on one date."""
    return {"region": _region(x), "family_in_region": x.family, "code": x.code}[rule.per]


def _too_many(rule: SessionRule, lines: list[LineView]) -> list[tuple[LineView, LineView]]:
    """Pairs (the first line, the line past the limit) where one date holds more than `most` distinct values."""
    if rule.per == "family_in_region":
        by_region: dict[str | None, list[LineView]] = defaultdict(list)
        for x in lines:
            by_region[_region(x)].append(x)
        groups = list(by_region.values())
    else:
        groups = [lines]

    def key(x: LineView) -> str | None:
        return _value(rule, x)

    found = []
    for group in groups:
        seen: list = []
        for x in group:
            value = key(x)
            if value in seen:
                continue
            seen.append(value)
            if len(seen) > rule.most:
                first = next(y for y in group if key(y) == seen[0])
                found.append((first, x))
                break
    return found


def _combination_finding(claim: ClaimView, tools: Tools, rule: SessionRule, day: dt.date, first: LineView,
                         second: LineView) -> list[Finding]:
    policy = tools.policy(claim.sub, second.family, day)
    severity = tools.severity(rule.rule, policy.known)
    if severity is None:
        return []
    cite = policy_cite(tools, claim, second.family, day, rule.section, rule.verify)
    message = (f"{first.text} and {second.text} on {day.isoformat()} are {rule.what} in one session: the policy "
               f"covers one ({cite}); this is a coverage limit, not an NCCI edit, so XS or 59 does not make the "
               "second payable")
    fix = _not_covered_fix(claim, (rule.fix or "bill the one service the note documents as the session's")
                           + f" ({first.code} or {second.code}, not both)")
    return tools.finding(claim, second, rule.rule, message, fix, severity=severity)


# -- sedation --------------------------------------------------------------------------------------------------------

def sedation(claim: ClaimView, tools: Tools) -> list[Finding]:
    rule = tools.rules.sedation
    if rule is None:
        return []
    out: list[Finding] = []
    for line in claim.lines:
        if line.family not in rule.families:
            continue
        injection = next((x for x in claim.same_date(line.day) if x.family in rule.with_families), None)
        if injection is None:
            continue
        cite = policy_cite(tools, claim, injection.family, line.day, rule.section, rule.verify)
        message = (f"{line.text} (sedation or anesthesia) is billed with {injection.text} on {line.day.isoformat()}: "
                   f"{cite}")
        fix = ("send it only with the reason the note documents (for example, a documented inability to stay still "
               "or a failed attempt without it); without one, do not bill the sedation")
        out += tools.finding(claim, line, "session.sedation", message, fix)
    return out


# -- urine drug testing ----------------------------------------------------------------------------------------------

def drug_testing(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    udt = tools.rules.udt
    if not udt.definitive:
        return []
    out: list[Finding] = []
    cite = udt.cite + (" [verify]" if udt.verify else "")
    if claim.sub.payer.type not in ("medicare", "medicare_advantage"):
        cite += "; the Medicare reading: the plan's own drug testing policy is not on file"

    def days_of(codes: frozenset[str]) -> set[dt.date]:
        """The dates the patient had one of `codes`: earlier claims and this one."""
        return ({s.service_date for s in ctx.history if s.procedure.code.upper() in codes}
                | {x.day for x in claim.lines if x.code.upper() in codes})

    definitive_days, presumptive_days = days_of(udt.definitive), days_of(udt.presumptive)
    spoken: set[dt.date] = set()
    for line in claim.lines:
        code = line.code.upper()
        if code not in udt.definitive or line.has(ABN_ON_FILE):
            continue
        if line.day not in presumptive_days:
            message = (f"{line.text} (definitive drug testing) on {line.day.isoformat()} has no presumptive test that "
                       f"date: definitive testing is covered to confirm an unexpected or inconsistent presumptive "
                       f"result, or for a drug no presumptive test detects ({cite})")
            fix = ("bill the presumptive test the definitive one followed, or keep in the record why it was skipped "
                   "(the drug no presumptive test detects) and the order naming each drug class")
            out += tools.finding(claim, line, "udt.presumptive_first", message, fix)
        if code in udt.broad:
            message = (f"{line.text} bills a definitive panel of 22 or more drug classes: each class needs its own "
                       f"reason in the patient's individual order; a standing or blanket panel is not covered "
                       f"({cite})")
            fix = ("bill the definitive code for the number of classes the order names with a reason (G0480 1-7, "
                   "G0481 8-14, G0482 15-21); keep G0483 for an order that justifies 22 or more")
            out += tools.finding(claim, line, "udt.broad_panel", message, fix)
        if line.day in spoken:
            continue
        spoken.add(line.day)
        days = sorted(definitive_days)
        for rule in udt.frequency:
            counted = [d for d in days if line.day - dt.timedelta(days=rule.days) < d <= line.day]
            if len(counted) <= rule.most:
                continue
            shown = ", ".join(d.isoformat() for d in counted)
            message = f"{line.text}: definitive drug tests on {shown}: {rule.why} ({cite})"
            fix = ("bill it only with the patient's documented risk level and the reason for this test in the "
                   "record; otherwise test at the interval the risk level supports")
            out += tools.finding(claim, line, "udt.frequency", message, fix, severity=WARN)
            break
    return out
