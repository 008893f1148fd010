"""Coverage rules of the check: the diagnoses a policy accepts, session limits and intervals from the patient's
history, what must be on file first and what a repeat session needs, and prior authorization."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

from service.domain.authorizations import (
    Authorization,
    BilledService,
    EarlierUse,
    covering,
    reasons,
    sessions_used,
    sides_of,
    why_not,
)
from service.domain.clocks import add_months
from service.domain.pain.history import (
    LIKELY_NOT_MET,
    MISSING,
    NOT_MET,
    RepeatFinding,
    frequency_finding,
    prerequisite_finding,
    region_words,
    repeat_finding,
)
from service.domain.policy import FamilyPolicy
from service.domain.presubmission.context import ABN_ON_FILE, CheckContext, ClaimView, LineView, Tools
from service.domain.presubmission.findings import DENY, WARN, Finding


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

def invalid_diagnoses(claim: ClaimView, tools: Tools) -> list[Finding]:
    """A diagnosis code that has subdivisions (M54.5 since FY2022): not valid on a claim, which is rejected whole."""
    table = tools.rules.invalid_diagnoses
    days = [x.day for x in claim.lines]
    if not table.codes or not days:
        return []
    first = min(days)
    out: list[Finding] = []
    for code in dict.fromkeys(claim.sub.diagnoses):
        if not table.invalid_on(code, first):
            continue
        shown = _icd(code)
        message = (f"diagnosis {shown} is an ICD-10-CM category with subdivisions on the date of service "
                   f"({first.isoformat()}), not a valid code on a claim: the clearinghouse or payer rejects the claim "
                   f"(277CA) or denies it for an invalid diagnosis (CO-16 with M76) ({table.source} [verify])")
        fix = (f"code it to the last character the note supports (a code that begins {shown} with more characters), "
               "and point the lines to it")
        out += tools.finding(claim, None, "diagnosis.invalid", message, fix)
    return out


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
        uncertain = [code for code in dx if listed.is_uncertain(code)]
        if uncertain:
            message = (f"{line.text} ({label}) is billed with {shown}: {listed.uncertain_note} ({cite})")
            fix = ("confirm the note documents what the policy covers (radicular pain, with the exam and imaging that "
                   "support it) and point the line to the code that says so")
            out += tools.finding(claim, line, "diagnosis.not_covered", message, fix, severity=WARN)
            continue
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


def _intent_inferred(line: LineView, tools: Tools) -> bool:
    """Whether the session's diagnostic/therapeutic intent is only read from its place in the history: nothing
    documented it, its code does not say, and no KX marks it (27096 billed without the note's intent)."""
    if line.info is None or line.line.detail.intent in ("diagnostic", "therapeutic") or line.info.subtype:
        return False
    family = tools.pain.families.get(line.info.family)
    if family is None or family.subtype_rule is None:
        return False
    return not (family.subtype_rule == "kx_or_first_two" and line.has("KX"))


def frequency(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    for line, policy in _sessions(claim, tools):
        if not policy.known or not policy.frequency_limits:
            continue
        found = frequency_finding(line.session, ctx.history, tools.pain, policy.frequency_limits)
        if found is None or not found.exceeded:
            continue
        severity = None if found.rule.hard else WARN
        unsure = ""
        if found.rule.subtype == "diagnostic" and _intent_inferred(line, tools):
            # Nothing says this session is diagnostic: read it as therapeutic (the larger limit), and only warn that
            # it would be past the diagnostic one.
            therapeutic = replace(line.session, detail=replace(line.line.detail, intent="therapeutic"))
            other = frequency_finding(therapeutic, ctx.history, tools.pain, policy.frequency_limits)
            if other is None or not other.exceeded:
                severity = WARN
                unsure = ("; its intent is not documented, so it counts as therapeutic, within that limit: if the "
                          "note calls it diagnostic, it is past the diagnostic limit")
            else:
                found = other
        count = len(found.counted) + 1
        where = f" in the {region_words(found.region)} region" if found.region and found.region != "sacroiliac" else ""
        nth = {1: "st", 2: "nd", 3: "rd"}.get(count if count < 20 else count % 10, "th")
        eligible = add_months(found.counted[0].service_date, found.rule.window_months) if found.counted else None
        message = (f"{line.text} would be the {count}{nth} {found.rule.label}{where} in the rolling "
                   f"{found.rule.window_months} months: claim history shows {found.describe()}{unsure}")
        fix = _abn_fix(claim, eligible)
        if unsure:
            fix = ("document the session's intent (diagnostic or therapeutic) in the note; if diagnostic, "
                   + fix[0].lower() + fix[1:])
        out += tools.finding(claim, line, "frequency.limit", message, fix, severity=severity)
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
        if severity is None and _pain_only(repeat):
            severity = WARN
            message += ("; the policy also accepts an improvement in function, which the relief on file does not "
                        "measure")
            fix = (f"check the note of the session of {repeat.earlier.service_date.isoformat()} for the improvement "
                   f"in function (activities, a functional scale) as well as pain ({repeat.criterion.relief_words}); "
                   "if neither was met, the repeat is not covered: an ABN (GA) before it makes the patient liable")
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


def _pain_only(repeat: RepeatFinding) -> bool:
    """The criterion is not met on the documented pain relief alone (its percent, or how long it lasted) while the
    policy accepts function as well; a repeat sooner than the relief had to last fails whatever was measured."""
    crit, d = repeat.criterion, repeat.earlier.detail
    if not crit.function_counts:
        return False
    percent_short = d.relief_percent is not None and d.relief_percent < crit.min_relief_percent
    too_soon = repeat.interval_days < crit.min_relief_days
    return percent_short or (not too_soon and d.relief_days is not None and d.relief_days < crit.min_relief_days)


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


def needs_authorization(claim: ClaimView, line: LineView, tools: Tools) -> tuple[bool, str, bool]:
    """Whether the payer requires prior authorization for the line, the source that says so, and whether that source
    is only the generic list of the payer type (marked to verify: a reason to ask, not a sure denial)."""
    sub = claim.sub
    policy = tools.policy(sub, line.family, line.day)
    if policy.authorization_required:
        return True, f"{policy.terms.label} coverage terms (coverage.toml)", False
    if tools.rules.needs_authorization(sub.payer.type, sub.payer.id, line.code, line.family):
        if tools.rules.payer_specific_authorization(sub.payer.id):
            return True, f"the practice's prior-authorization list for payer {sub.payer.id}", False
        generic = tools.rules.auth_verify
        return True, tools.rules.auth_cite + (" [verify]" if generic else ""), generic
    return False, "", False


def billed_service(claim: ClaimView, line: LineView, tools: Tools) -> BilledService:
    """The line as the register sees it: its code, family and groups, or the separately authorized service it is part
    of (an SCS trial or implant, told apart by what else is billed that date)."""
    return tools.rules.auth_scopes.service(
        payer_id=claim.sub.payer.id, code=line.code, family=line.family,
        same_date=[x.family for x in claim.same_date(line.day)], service_date=line.day,
        sides=sides_of(line.modifiers, line.line.detail.side), levels=_levels(claim, line), units=int(line.units),
        claim_id=claim.claim_id)


def earlier_uses(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[EarlierUse]:
    """The patient's earlier claims, line by line, as the register sees them, with the authorization number each
    carried: what may already have used an authorization's sessions. A session on file without its submission counts
    as carrying none."""
    out: list[EarlierUse] = []
    seen: set[str] = set()
    for prior in ctx.earlier:
        sub = prior.submission
        if sub.claim_id == claim.claim_id or sub.frequency_code == "8":
            continue
        seen.add(sub.claim_id)
        view = ClaimView.of(sub, tools.pain, ctx.submitted_on)
        for x in view.lines:
            if x.info is not None:
                out.append(EarlierUse(billed_service(view, x, tools),
                                      x.line.prior_authorization or sub.prior_authorization))
    by_claim: dict[str, list] = {}
    for s in ctx.history:
        if s.claim_id not in seen and s.claim_id != claim.claim_id:
            by_claim.setdefault(s.claim_id, []).append(s)
    for claim_id, sessions in by_claim.items():
        for s in sessions:
            info = tools.pain.catalog.get(s.procedure.code)
            if info is None:
                continue
            same = [tools.pain.catalog.family(o.procedure.code) for o in sessions if o.service_date == s.service_date]
            service = tools.rules.auth_scopes.service(
                payer_id=claim.sub.payer.id, code=s.procedure.code, family=info.family, same_date=same,
                service_date=s.service_date, sides=sides_of(s.procedure.modifiers, s.detail.side),
                levels=len(s.detail.levels) or None, units=1, claim_id=claim_id)
            out.append(EarlierUse(service, None))
    return out


def _on_file_text(found: list[tuple[Authorization, str]]) -> str:
    shown = "; ".join(f"{a.describe()}: {why}" for a, why in found[:3])
    more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
    return f"the register's authorizations for this patient do not cover it ({shown}{more})"


def authorization(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    out: list[Finding] = []
    sub = claim.sub
    uses: list[EarlierUse] | None = None
    for line in claim.lines:
        if line.is_addon and not claim.first_of_family(line):
            continue  # the primary line speaks for the session's authorization
        required, source, generic = needs_authorization(claim, line, tools)
        if not required:
            continue  # a drug, a visit, imaging: what the authorization is for is the procedure line
        number = line.line.prior_authorization or sub.prior_authorization
        service = billed_service(claim, line, tools)
        if uses is None:
            uses = earlier_uses(claim, ctx, tools) if ctx.authorizations else []
        if number:
            on_file = [a for a in ctx.authorizations or () if a.auth_number == number]
            used = sessions_used(on_file, service, uses)
            if on_file and all(why_not(a, service, used[a]) for a in on_file):
                reason = why_not(on_file[0], service, used[on_file[0]])
                message = (f"{line.text}: the claim carries authorization {number}, but the register's "
                           f"{on_file[0].describe()} does not cover it as billed: {reason}")
                fix = ("ask the plan to update the authorization (more levels, the other side, new dates, more "
                       "sessions) before the claim goes, or bill what was authorized")
                out += tools.finding(claim, line, "authorization.not_covering", message, fix)
            continue
        found = covering(ctx.authorizations, service, uses) if ctx.authorizations else None
        if found is not None:
            message = (f"{line.text}: {found.describe()} is on file for this patient, but the claim carries no "
                       f"authorization number, so the payer will deny it as unauthorized (CO-197); required by "
                       f"{source}")
            fix = f"add REF*G1 {found.auth_number} to the claim (or to the line) before sending it"
            out += tools.finding(claim, line, "authorization.not_on_claim", message, fix)
            continue
        near = reasons(ctx.authorizations, service, uses) if ctx.authorizations else []
        if near:
            register = _on_file_text(near)
        elif ctx.authorizations is not None:
            register = "none in the authorization register covers it"
        else:
            register = "the authorization register was not read"
        message = (f"{line.text} needs prior authorization ({source}): no authorization number is on the claim and "
                   f"{register}")
        fix = ("obtain the authorization before the service and put its number on the claim (REF*G1); if it was "
               "obtained, add it to the register (`denials auths import`)")
        if generic:
            fix = ("check whether this plan requires prior authorization for it (the list used is the payer type's "
                   "generic one: put the plan's own list in check_rules.toml [authorization.payers]); if it does, "
                   + fix[0].lower() + fix[1:])
        out += tools.finding(claim, line, "authorization.missing", message, fix, severity=WARN if generic else DENY)
    return out
