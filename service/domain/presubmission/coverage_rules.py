"""Coverage rules of the check: the diagnoses a policy accepts, session limits and intervals from the patient's
history, what must be on file first and what a repeat session needs, and prior authorization."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from service.domain.authorizations import BilledService, covering, sides_of, why_not
from service.domain.clocks import add_months
from service.domain.pain.history import (
    LIKELY_NOT_MET,
    MISSING,
    NOT_MET,
    frequency_finding,
    prerequisite_finding,
    region_words,
    repeat_finding,
)
from service.domain.policy import FamilyPolicy
from service.domain.presubmission.context import ABN_ON_FILE, CheckContext, ClaimView, LineView, Tools
from service.domain.presubmission.findings import WARN, Finding


def policy_cite(tools: Tools, claim: ClaimView, family: str | None, day: dt.date, section: str,
                verify: bool = False) -> str:
    """The payer's coverage document and the section a rule rests on; for a payer whose own policy is not on file,
    the Medicare LCD's, said as such."""
    policy = tools.policy(claim.sub, family, day)
    source = policy if policy.known else tools.coverage.policy_for("medicare", None, family, day)
    document = _document(tools, source)
    flag = " [verify]" if verify or source.documents_verify else ""
    if policy.known:
        return f"{policy.terms.label} coverage, {document or policy.source}: {section}{flag}"
    return f"the Medicare {document or 'policy'} list ({section}){flag}; {policy.unknown_text()}"


def _document(tools: Tools, policy: FamilyPolicy) -> str:
    """The LCD (and billing article, and MAC) the policy follows for the payer's jurisdiction, in words."""
    found = policy.lcd_citation
    if found is not None:
        return (f"LCD {found.lcd} ({found.title})" + (f", billing article {found.article}" if found.article else "")
                + (f", {found.contractor}" if found.contractor else ""))
    citations = tools.coverage.citations
    if policy.lcd_policy is None or citations is None or policy.lcd_policy not in citations.titles:
        return ""
    return (f"LCD {citations.titles[policy.lcd_policy]} of {citations.where(policy.terms.jurisdiction)} (its number "
            "is not on file)")


def _icd(code: str) -> str:
    """ICD-10-CM as people write it (M54.16), whichever way the claim carried it (HI sends M5416)."""
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _skip_abn(line: LineView) -> bool:
    """A line billed with GA already expects the denial (the signed ABN makes the patient liable)."""
    return line.has(ABN_ON_FILE)


# -- diagnoses -----------------------------------------------------------------------------------------------------

def diagnosis(claim: ClaimView, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    for line in claim.lines:
        listed = tools.rules.diagnoses_for(line.family)
        if listed is None or _skip_abn(line) or not claim.first_of_family(line):
            continue
        dx = claim.diagnoses_of(line)
        if any(listed.covers(code) for code in dx):
            continue
        policy = tools.policy(claim.sub, line.family, line.day)
        cite = policy_cite(tools, claim, line.family, line.day, listed.section, listed.verify)
        label = tools.pain.catalog.label(line.family or "")
        shown = ", ".join(_icd(code) for code in dx) or "no diagnosis"
        if dx and all(listed.is_axial(code) for code in dx):
            rule_id = "diagnosis.axial_only"
            message = (f"{line.text} ({label}) is billed with axial pain only ({shown}): the policy covers radicular "
                       f"pain, not axial pain ({cite})")
            fix = ("point the line to the radicular diagnosis the note documents (radiculopathy, stenosis with "
                   "claudication); if there is none, the injection is not covered: an ABN signed before it, billed "
                   "with GA, makes the patient liable")
        else:
            rule_id = "diagnosis.not_covered"
            message = (f"{line.text} ({label}) is billed with {shown}, none of which the policy accepts for it "
                       f"({cite})")
            fix = ("point the line to a covered diagnosis the note documents; if none applies, the service is not "
                   "covered: get an ABN (GA) before it, or the plan's approval")
        severity = tools.severity(rule_id, policy.known)
        if severity is not None:
            out += tools.finding(claim, line, rule_id, message, fix, severity=severity)
    return out


# -- history: session limits, intervals, prerequisites, repeats ---------------------------------------------------

def _abn_fix(claim: ClaimView, eligible: dt.date | None) -> str:
    wait = f", or wait until {eligible.isoformat()} when the oldest counted session leaves the window" if eligible \
        else ""
    if claim.sub.payer.type == "medicare":
        return ("a session past the limit is not covered: have the patient sign an ABN before it and bill the line "
                f"with GA (the patient is then liable){wait}")
    return f"a session past the limit is not covered: ask the plan for an exception before it{wait}"


def _sessions(claim: ClaimView, tools: Tools) -> Iterator[tuple[LineView, FamilyPolicy]]:
    """The line each procedure session speaks on (see `first_of_family`), with the payer's policy for its family;
    a session billed with GA (an ABN on file) expects its denial and is left out."""
    for line in claim.lines:
        if line.info is not None and not _skip_abn(line) and claim.first_of_family(line):
            yield line, tools.policy(claim.sub, line.family, line.day)


def frequency(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    for line, policy in _sessions(claim, tools):
        if not policy.known or not policy.frequency_limits:
            continue
        found = frequency_finding(line.session, ctx.history, tools.pain, policy.frequency_limits)
        if found is None or not found.exceeded:
            continue
        count = len(found.counted) + 1
        where = f" in the {region_words(found.region)} region" if found.region and found.region != "sacroiliac" else ""
        nth = {1: "st", 2: "nd", 3: "rd"}.get(count if count < 20 else count % 10, "th")
        eligible = add_months(found.counted[0].service_date, found.rule.window_months) if found.counted else None
        message = (f"{line.text} would be the {count}{nth} {found.rule.label}{where} in the rolling "
                   f"{found.rule.window_months} months: claim history shows {found.describe()}")
        severity = None if found.rule.hard else WARN
        out += tools.finding(claim, line, "frequency.limit", message, _abn_fix(claim, eligible), severity=severity)
    return out


def interval(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    for line in claim.lines:
        if line.info is None or not claim.first_of_family(line):
            continue
        for rule in tools.rules.intervals:
            if line.family not in rule.families or claim.sub.payer.type not in rule.payer_types:
                continue
            earlier = [s.service_date for s in ctx.history if s.paid is not False and s.service_date < line.day
                       and (info := tools.pain.catalog.get(s.procedure.code)) is not None
                       and info.family in rule.families and info.region == line.info.region]
            if not earlier:
                continue
            last = max(earlier)
            days = (line.day - last).days
            if days >= rule.min_days:
                continue
            message = (f"{line.text} comes {days} days after the {rule.label} of {last.isoformat()}: {rule.cite}"
                       + (" [verify]" if rule.verify else ""))
            fix = (f"schedule it at least {rule.min_days} days after the last one "
                   f"({(last + dt.timedelta(days=rule.min_days)).isoformat()}), or check the plan's own interval")
            out += tools.finding(claim, line, "frequency.interval", message, fix)
    return out


def prerequisites(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    return [f for line, policy in _sessions(claim, tools)
            for f in _repeat_or_prerequisite(claim, line, ctx, tools, policy)]


def _repeat_or_prerequisite(claim: ClaimView, line: LineView, ctx: CheckContext, tools: Tools,
                            policy: FamilyPolicy) -> list[Finding]:
    repeat = repeat_finding(line.session, ctx.history, tools.pain, policy.repeat) if policy.known else None
    if repeat is not None:
        if repeat.verdict not in (NOT_MET, LIKELY_NOT_MET):
            return []
        message = f"{line.text} repeats an earlier session: {repeat.describe()}"
        fix = (f"document the relief after the session of {repeat.earlier.service_date.isoformat()} on the same "
               f"scale and how long it lasted ({repeat.criterion.relief_words}); if it fell short, the repeat is not "
               "covered: an ABN (GA) before it makes the patient liable")
        severity = WARN if repeat.verdict == LIKELY_NOT_MET else None
        return tools.finding(claim, line, "history.repeat", message, fix, severity=severity)
    prereq = prerequisite_finding(line.session, claim.sessions, ctx.history, tools.pain,
                                  policy.prerequisite if policy.known else None, policy.repeat)
    if prereq is None or prereq.verdict not in (MISSING, NOT_MET):
        return []
    severity = tools.severity("history.prerequisite", policy.known)
    if severity is None:
        return []
    read = "claim history shows"
    if prereq.verdict == MISSING and not ctx.history_complete:
        # only the input was read: what is absent from it may be on file elsewhere, so it is a question, not a denial
        severity, read = WARN, "the claims read (this input only, not the practice's history) show"
    message = f"{line.text}: {read} {prereq.describe(tools.pain)}"
    needed = prereq.rule.checklist[:1].lower() + prereq.rule.checklist[1:]
    fix = (f"bill it once the chart holds {needed}; otherwise the service is not covered: an ABN (GA) before it "
           "makes the patient liable")
    return tools.finding(claim, line, "history.prerequisite", message, fix, severity=severity)


# -- prior authorization -------------------------------------------------------------------------------------------

def _levels(claim: ClaimView, target: LineView) -> int | None:
    """Levels of the family billed that session on the target's side(s): the documented levels, else the units of
    the family's lines (an add-on line per additional level)."""
    if target.line.detail.levels:
        return len(target.line.detail.levels)
    sides = sides_of(target.modifiers, target.line.detail.side)
    total = 0
    for x in claim.same_date(target.day):
        if x.family != target.family:
            continue
        other = sides_of(x.modifiers, x.line.detail.side)
        if sides and other and not sides & other:
            continue
        total += int(x.units)
    return total or None


def needs_authorization(claim: ClaimView, line: LineView, tools: Tools) -> tuple[bool, str]:
    """Whether the payer requires prior authorization for the line, and the source that says so."""
    sub = claim.sub
    policy = tools.policy(sub, line.family, line.day)
    if policy.authorization_required:
        return True, f"{policy.terms.label} coverage terms (coverage.toml)"
    if tools.rules.needs_authorization(sub.payer.type, sub.payer.id, line.code, line.family):
        if tools.rules.payer_specific_authorization(sub.payer.id):
            return True, f"the practice's prior-authorization list for payer {sub.payer.id}"
        return True, tools.rules.auth_cite + (" [verify]" if tools.rules.auth_verify else "")
    return False, ""


def billed_service(claim: ClaimView, line: LineView, tools: Tools) -> BilledService:
    scopes = frozenset({line.code, *(x for x in (line.family,) if x), *tools.rules.groups_of(line.family)})
    return BilledService(payer_id=claim.sub.payer.id, code=line.code, scopes=scopes, service_date=line.day,
                         sides=sides_of(line.modifiers, line.line.detail.side), levels=_levels(claim, line),
                         units=int(line.units))


def authorization(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    sub = claim.sub
    for line in claim.lines:
        if line.is_addon and not claim.first_of_family(line):
            continue  # the primary line speaks for the session's authorization
        required, source = needs_authorization(claim, line, tools)
        if not required:
            continue  # a drug, a visit, imaging: what the authorization is for is the procedure line
        number = line.line.prior_authorization or sub.prior_authorization
        service = billed_service(claim, line, tools)
        if number:
            on_file = [a for a in ctx.authorizations or () if a.auth_number == number]
            if on_file and all(why_not(a, service) for a in on_file):
                reason = why_not(on_file[0], service)
                message = (f"{line.text}: the claim carries authorization {number}, but the register's "
                           f"{on_file[0].describe()} does not cover it as billed: {reason}")
                fix = ("ask the plan to update the authorization (more levels, the other side, new dates) before "
                       "the claim goes, or bill what was authorized")
                out += tools.finding(claim, line, "authorization.not_covering", message, fix)
            continue
        found = covering(ctx.authorizations, service) if ctx.authorizations else None
        if found is not None:
            message = (f"{line.text}: {found.describe()} is on file for this patient, but the claim carries no "
                       f"authorization number, so the payer will deny it as unauthorized (CO-197); required by "
                       f"{source}")
            fix = f"add REF*G1 {found.auth_number} to the claim (or to the line) before sending it"
            out += tools.finding(claim, line, "authorization.not_on_claim", message, fix)
            continue
        register = ("none in the authorization register covers it" if ctx.authorizations is not None
                    else "the authorization register was not read")
        message = (f"{line.text} needs prior authorization ({source}): no authorization number is on the claim and "
                   f"{register}")
        fix = ("obtain the authorization before the service and put its number on the claim (REF*G1); if it was "
               "obtained, add it to the register (`denials auths import`)")
        out += tools.finding(claim, line, "authorization.missing", message, fix)
    return out
