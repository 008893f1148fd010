"""Claim-level rules of the check: timely filing at submission, duplicates of an earlier submission, replacements
without the payer's claim number, and the prevention rules a user enabled."""

from __future__ import annotations

import re

from service.domain.authorizations import covering
from service.domain.clocks import filing_deadline
from service.domain.model import Submission
from service.domain.presubmission.context import CheckContext, ClaimView, LineView, PriorSubmission, Tools
from service.domain.presubmission.coverage_rules import billed_service, earlier_uses
from service.domain.presubmission.findings import DENY, WARN, Finding

REPEAT_MARKERS = ("76", "77", "XE", "XS", "XU", "59")  # a second, distinct service of the same code
_SIDES = {"RT": {"right"}, "LT": {"left"}, "50": {"left", "right"}}


def timely_filing(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    if not claim.lines:
        return []
    first = min(claim.lines, key=lambda x: x.day)
    policy = tools.clocks.policies.for_payer(claim.sub.payer)
    clock = filing_deadline(policy, first.day, tools.clocks.holidays)
    submitted = ctx.submitted_on
    if submitted > clock.date:
        message = (f"submitted on {submitted.isoformat()} for a service on {first.day.isoformat()}: the filing "
                   f"window closed on {clock.date.isoformat()} ({clock.basis})")
        fix = ("do not send it as a plain claim (it will be denied CO-29): send it only with proof of a timely "
               "original submission (999/277CA acceptance) or a recognised exception (retroactive eligibility), or "
               "write it off")
        return tools.finding(claim, None, "timely_filing.expired", message, fix)
    left = (clock.date - submitted).days
    if left <= tools.rules.filing_warn_days:
        message = (f"the filing window for the service on {first.day.isoformat()} closes on "
                   f"{clock.date.isoformat()}, {left} day{'s' if left != 1 else ''} after submission ({clock.basis})")
        fix = ("send it today, watch for the 277CA acceptance (a rejected claim does not stop the clock) and keep it "
               "as proof of timely filing")
        return tools.finding(claim, None, "timely_filing.closing", message, fix)
    return []


def replacement(claim: ClaimView, tools: Tools) -> list[Finding]:
    sub = claim.sub
    if sub.frequency_code not in ("7", "8") or sub.original_payer_claim_number:
        return []
    kind = "replacement" if sub.frequency_code == "7" else "void"
    message = (f"a {kind} claim (frequency {sub.frequency_code}) without the payer's claim number of the claim it "
               "replaces (REF*F8): the payer cannot match it and rejects it")
    fix = "add REF*F8 with the payer's claim number (CLP07 of the original's remittance)"
    return tools.finding(claim, None, "claim.replacement_without_original", message, fix)


def _sides(modifiers: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for m in modifiers:
        out |= _SIDES.get(m, set())
    return out


def _same_service(line: LineView, other_code: str, other_mods: tuple[str, ...], other_day) -> bool:
    if other_code != line.code or other_day != line.day:
        return False
    mine, theirs = _sides(line.modifiers), _sides(other_mods)
    return not (mine and theirs and not mine & theirs)


def submission_order(sub: Submission) -> tuple:
    """When a submission was sent: its time, then (claims of one file share the BHT time) its place in the file, read
    from the event id with numbers compared as numbers (c2 before c10)."""
    return (sub.occurred_at, [(0, int(part), "") if part.isdigit() else (1, 0, part)
                              for part in re.split(r"(\d+)", sub.event_id)])


def _earlier(claim: ClaimView, ctx: CheckContext) -> list[PriorSubmission]:
    mine = submission_order(claim.sub)
    return [p for p in ctx.earlier if p.submission.event_id != claim.sub.event_id
            and submission_order(p.submission) < mine and p.submission.frequency_code != "8"]


def duplicates(claim: ClaimView, ctx: CheckContext, tools: Tools) -> list[Finding]:
    sub = claim.sub
    if sub.is_correction:
        return []
    earlier = _earlier(claim, ctx)
    same_id = [p for p in earlier if p.submission.claim_id == sub.claim_id and p.accepted
               and p.submission.frequency_code == "1"]
    if same_id:
        first = same_id[0].submission
        message = (f"claim {sub.claim_id} was already submitted on {first.occurred_at.date().isoformat()} "
                   f"({len(first.lines)} line{'s' if len(first.lines) != 1 else ''}) and accepted: a second original "
                   "of the same claim is denied as a duplicate (OA-18)")
        fix = ("to correct it, send a replacement (frequency 7) with the payer's claim number (REF*F8); if the first "
               "was never answered, ask the payer (276) instead of resending")
        return tools.finding(claim, None, "duplicate.earlier_submission", message, fix)
    others = [p.submission for p in earlier if p.submission.claim_id != sub.claim_id]
    out: list[Finding] = []
    for line in claim.lines:
        if line.has(*REPEAT_MARKERS):
            continue
        match = next(((o, x) for o in others for x in o.lines
                      if _same_service(line, x.procedure.code, x.procedure.modifiers,
                                       x.service_date or o.service_date_from)), None)
        if match is None:
            continue
        other, other_line = match
        billed = "-".join((other_line.procedure.code, *other_line.procedure.modifiers))
        message = (f"{line.text} for {line.day} was already submitted on claim {other.claim_id} (line "
                   f"{other_line.line_id}, {billed}, sent {other.occurred_at.date().isoformat()}): the payer denies "
                   "the second as a duplicate (OA-18)")
        fix = ("do not resend a service already billed: ask the payer about the first claim (276), or send a "
               "replacement of it (frequency 7); if this is a second, distinct service, add the modifier that says so "
               "(76, XE, RT/LT)")
        out += tools.finding(claim, line, "duplicate.earlier_submission", message, fix)
    return out


# -- prevention rules a user enabled -------------------------------------------------------------------------------

def prevention(claim: ClaimView, ctx: CheckContext, tools: Tools, found: list[Finding]) -> list[Finding]:
    sub = claim.sub
    out: list[Finding] = []
    for rule in ctx.prevention:
        if rule.payer_id != sub.payer.id:
            continue
        test = tools.rules.prevention_tests.get(rule.condition, "reminder")
        for line in claim.lines:
            if line.code != rule.procedure_code:
                continue
            on_line = [f for f in found if f.line_id == line.line_id]
            if test == "no_authorization":
                if (line.line.prior_authorization or sub.prior_authorization
                        or any(f.category == "authorization" for f in on_line)):
                    continue
                if ctx.authorizations and covering(ctx.authorizations, billed_service(claim, line, tools),
                                                   earlier_uses(claim, ctx, tools)):
                    continue
                hit, severity = True, DENY
            elif test == "no_kx":
                hit, severity = "KX" not in line.modifiers and not any(
                    f.rule_id == "modifier.kx_missing" for f in on_line), DENY
            elif test == "units":
                hit, severity = line.units > 1 and not any(f.rule_id == "bundling.mue_units" for f in on_line), DENY
            else:
                hit, severity = not any(f.category == rule.category for f in on_line), WARN
            if hit:
                out.append(Finding(claim_id=sub.claim_id, line_id=line.line_id,
                                   rule_id=f"prevention.{rule.condition}", category=rule.category,
                                   severity=severity, message=f"{line.text}: {rule.text} (prevention rule {rule.key})",
                                   fix=rule.check))
    return out

