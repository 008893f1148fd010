"""The LCD criteria crosswalk for a denied pain procedure: each criterion of the policy, what it requires, what the
claim history shows, and whether that meets it. What the claim history cannot show (pain scores, percent relief,
the content of notes) is marked "to document": the enclosed records carry it, the letter never invents it.

The limits (sessions, levels per session, prerequisites and repeat criteria) are the payer's own policy, the one its
decision was judged by (`LetterBook.policy_of`): the Medicare LCD limits for a payer that follows the LCDs, the
plan's own where one is on file, and, where none is, a blank for the sender to fill in (never a Medicare limit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from service.domain.clocks import add_months
from service.domain.letters.book import CrosswalkSpec, LetterBook
from service.domain.letters.facts import CrosswalkRow, LetterRequest
from service.domain.model import HistorySession, Procedure
from service.domain.pain import history as verdicts
from service.domain.pain.history import frequency_finding, prerequisite_finding, region_words, repeat_finding
from service.domain.policy import FamilyPolicy
from service.domain.tasks import TaskLine

MET, NOT_MET, TO_DOCUMENT = "met", "not met", "to document"


@dataclass(frozen=True, slots=True)
class AppealedSession:
    """One procedure session under appeal: a date, a family group and a region (add-on lines belong to it)."""

    service_date: dt.date
    line_id: str
    procedure: Procedure
    family: str
    region: str | None
    spec: CrosswalkSpec

    def label(self, book: LetterBook) -> str:
        where = region_words(self.region)
        what = book.pain.catalog.label(self.family)
        return f"{self.procedure.code} on {self.service_date.isoformat()} ({f'{where} ' if where else ''}{what})"


def appealed_sessions(lines: Iterable[TaskLine], book: LetterBook) -> list[AppealedSession]:
    """The sessions of the denied lines that a crosswalk covers, one per (date, family group, region); the primary
    code names the session when it is among the lines, else the first add-on does."""
    found: dict[tuple, AppealedSession] = {}
    for line in sorted(lines, key=lambda x: (x.service_date or dt.date.min, x.line_id or "")):
        info = book.pain.catalog.get(line.procedure_code)
        spec = book.crosswalk_for(line.procedure_code)
        if info is None or spec is None or line.service_date is None:
            continue
        key = (line.service_date, spec.group, info.region)
        session = AppealedSession(service_date=line.service_date, line_id=line.line_id or "",
                                  procedure=Procedure(info.code, tuple(line.modifiers)), family=info.family,
                                  region=info.region, spec=spec)
        current = found.get(key)
        if current is None or (not info.is_addon and book.pain.catalog.get(current.procedure.code).is_addon):
            found[key] = session
    return list(found.values())


def _dates(sessions: Iterable[HistorySession]) -> list[dt.date]:
    return sorted({s.service_date for s in sessions})


def _span(dates: Sequence[dt.date]) -> str:
    if len(dates) == 1:
        return f"on {dates[0].isoformat()}"
    return f"on {len(dates)} dates ({dates[0].isoformat()} to {dates[-1].isoformat()})"


def _listed(dates: Sequence[dt.date]) -> str:
    return ", ".join(d.isoformat() for d in dates)


class _Evidence:
    """The patient's claim history seen from one appealed session."""

    def __init__(self, session: AppealedSession, request: LetterRequest, book: LetterBook):
        self.session = session
        self.request = request
        self.book = book
        self.before = [s for s in request.history if s.service_date < session.service_date]
        self.policy: FamilyPolicy = book.policy_of(request.claim, session.family, session.service_date)
        # the Medicare LCD wording of the spec holds only where the payer follows the LCDs
        self.lcd_words = self.policy.known and self.policy.terms.follows_lcds

    def requirement(self, lcd_text: str | None, kind: str, own: str | None = None) -> str:
        """The requirement's words: the LCD's for a payer that follows the LCDs, the plan's own policy's where one
        is on file, a blank for the sender where none is."""
        if not self.policy.known:
            return self.book.policy_unknown[kind]
        if self.lcd_words or own is None:
            return lcd_text or own or ""
        return own

    def target(self) -> HistorySession:
        s = self.session
        return HistorySession(claim_id=self.request.claim.claim_id, line_id=s.line_id, service_date=s.service_date,
                              procedure=s.procedure)

    def same_date_codes(self) -> list[tuple[str, Decimal]]:
        """(code, units) billed on the session's date: the submission's lines, else the tasks' denied lines."""
        claim = self.request.claim
        if claim.submitted_lines:
            return [(x.procedure.code, x.units) for x in claim.submitted_lines
                    if (x.service_date or claim.service_date_from) == self.session.service_date]
        seen = {}
        for task in self.request.tasks:
            for x in task.lines:
                if x.service_date == self.session.service_date and x.procedure_code:
                    seen[(x.line_id, x.procedure_code)] = (x.procedure_code, Decimal(1))
        return list(seen.values())

    # -- criteria ---------------------------------------------------------------------------------------------------

    def duration(self) -> CrosswalkRow:
        spec = self.session.spec
        need = spec.duration_weeks or 0
        dates = _dates(self.before)
        requirement = spec.duration_text or ""
        if not dates:
            return CrosswalkRow("Pain duration", requirement, "no earlier visit or procedure in our claim history; "
                                "the enclosed notes document the onset", TO_DOCUMENT)
        weeks = (self.session.service_date - dates[0]).days // 7
        seen = f"care for this patient on file since {dates[0].isoformat()} ({weeks} weeks before the procedure)"
        if weeks >= need:
            return CrosswalkRow("Pain duration", requirement, seen, MET)
        return CrosswalkRow("Pain duration", requirement,
                            f"{seen}; the enclosed notes document an onset at least {need} weeks before", TO_DOCUMENT)

    def conservative_care(self) -> CrosswalkRow:
        requirement = self.session.spec.conservative_text or ""
        therapy = _dates(s for s in self.before if s.procedure.code in self.book.conservative_care_codes)
        visits = _dates(s for s in self.before if self.book.pain.catalog.family(s.procedure.code) == "em")
        if therapy:
            evidence = f"physical therapy or manipulation billed {_span(therapy)}"
            if visits:
                evidence += f"; office visits {_span(visits)}"
            return CrosswalkRow("Conservative care", requirement, evidence, MET)
        if visits:
            return CrosswalkRow("Conservative care", requirement,
                                f"office visits {_span(visits)}; the enclosed notes record the medications, therapy "
                                "and home exercise tried and their failure", TO_DOCUMENT)
        return CrosswalkRow("Conservative care", requirement, "none in our claim history; the enclosed records "
                            "document the conservative care and its failure", TO_DOCUMENT)

    def imaging(self) -> CrosswalkRow:
        requirement = self.session.spec.imaging_text or ""
        diagnostic = _dates(s for s in self.before if s.procedure.code in self.book.imaging_codes)
        catalog = self.book.pain.catalog
        info = catalog.get(self.session.procedure.code)
        guidance_lines = [code for code, _ in self.same_date_codes() if catalog.family(code) == "imaging_guidance"]
        if info is not None and info.imaging_included:
            guidance, guided = f"image guidance is part of code {info.code}", True
        elif guidance_lines:
            guidance, guided = f"image guidance billed ({', '.join(sorted(set(guidance_lines)))})", True
        elif info is not None and info.imaging_included is False:
            guidance, guided = f"no image guidance on the claim for {info.code}", False
        else:
            guidance, guided = "image guidance to be shown by the procedure note", None
        if diagnostic:
            evidence = f"diagnostic imaging billed {_span(diagnostic)}; {guidance}"
        else:
            evidence = f"the MRI or CT report is enclosed; {guidance}"
        status = NOT_MET if guided is False else (MET if diagnostic and guided else TO_DOCUMENT)
        return CrosswalkRow("Imaging", requirement, evidence, status)

    def prior_relief(self) -> CrosswalkRow:
        spec, session, policy = self.session.spec, self.session, self.policy
        criteria = policy.prerequisite if policy.known else None
        repeat = policy.repeat if policy.known else None
        own = criteria.cite.text() if criteria else (repeat.relief_words if repeat else None)
        requirement = self.requirement(spec.prior_relief_text, "prior_relief_text", own)
        same_claim = [HistorySession(claim_id=self.request.claim.claim_id, line_id=x.line_id,
                                     service_date=x.service_date or session.service_date, procedure=x.procedure)
                      for x in self.request.claim.submitted_lines]
        # a repeat is judged by the policy's repeat criterion first, as the decision was
        again = repeat_finding(self.target(), self.request.history, self.book.pain, repeat)
        if again is not None:
            status = {verdicts.MET: MET, verdicts.NOT_MET: NOT_MET}.get(again.verdict, TO_DOCUMENT)
            after = "; the enclosed notes record the relief and how long it lasted" if status == TO_DOCUMENT else ""
            return CrosswalkRow("Prior relief", requirement, f"repeat procedure: {again.why}{after}", status)
        prerequisite = prerequisite_finding(self.target(), same_claim, self.request.history, self.book.pain,
                                            criteria, repeat)
        if prerequisite is not None:
            if prerequisite.satisfied_by_repeat:
                dates = _dates(prerequisite.satisfied_by_repeat)
                return CrosswalkRow("Prior relief", requirement,
                                    f"repeat procedure: the earlier one was on {_listed(dates)}; the enclosed notes "
                                    "record the improvement since", TO_DOCUMENT)
            if prerequisite.missing:
                return CrosswalkRow("Prior relief", requirement,
                                    f"our claim history shows {prerequisite.describe(self.book.pain)}; enclose the "
                                    "records of the earlier procedures if they were done elsewhere", NOT_MET)
            return CrosswalkRow("Prior relief", requirement,
                                f"earlier procedures on {_listed(_dates(prerequisite.found))}; the enclosed records "
                                "give the relief after each on the same pain scale", TO_DOCUMENT)
        window_start = add_months(session.service_date, -12)
        catalog = self.book.pain.catalog
        earlier = _dates(
            s for s in self.before if s.service_date > window_start
            and catalog.family(s.procedure.code) in spec.prior_relief_families
            and (session.region is None or (catalog.get(s.procedure.code).region == session.region))
            and s.paid is not False)
        if not earlier:
            where = f" in the {region_words(session.region)} region" if session.region else ""
            return CrosswalkRow("Prior relief", requirement,
                                f"no earlier procedure of this kind{where} in the 12 months before: this is the first, "
                                "so no earlier relief is required", MET)
        return CrosswalkRow("Prior relief", requirement,
                            f"earlier procedures on {_listed(earlier)}; the enclosed records give the pain scores "
                            "before and after each", TO_DOCUMENT)

    def levels(self) -> CrosswalkRow | None:
        spec, session, policy = self.session.spec, self.session, self.policy
        if session.family not in spec.levels_families:
            return None
        rule = policy.levels if policy.known else None
        if policy.known and rule is None:
            return None  # the payer's policy sets no levels limit for the family
        catalog = self.book.pain.catalog
        count = Decimal(0)
        for code, units in self.same_date_codes():
            info = catalog.get(code)
            if info is not None and info.family == session.family and info.region == session.region:
                count += units
        levels = int(count)
        word = "level" if levels == 1 else "levels"
        evidence = f"{levels} {word} billed on {session.service_date.isoformat()} (a bilateral level counts once)"
        if rule is None:
            return CrosswalkRow("Levels per session", self.requirement(spec.levels_text, "levels_text"), evidence,
                                TO_DOCUMENT)
        own = f"No more than {rule.limit} per session ({rule.cite.text()})"
        return CrosswalkRow("Levels per session", self.requirement(spec.levels_text, "levels_text", own), evidence,
                            MET if levels <= rule.limit else NOT_MET)

    def sessions(self) -> CrosswalkRow | None:
        """Sessions against the payer's own limit; where its policy is not on file, the sessions counted the usual
        way (per region, in 12 months) with the limit left for the sender to fill in."""
        policy = self.policy
        limits = policy.frequency_limits if policy.known else None
        finding = frequency_finding(self.target(), self.request.history, self.book.pain, limits)
        if finding is None:
            return None
        counted = len(finding.counted)
        where = f" {region_words(finding.region)}" if finding.region and finding.region != "sacroiliac" else ""
        label = finding.rule.label + ("" if counted == 1 else "s")
        seen = (f"{counted} earlier{where} {label} in the {finding.rule.window_months} months before"
                + (f" ({finding.dates})" if counted else ""))
        if not policy.known:
            return CrosswalkRow("Sessions in 12 months", self.requirement(None, "sessions_text"), seen, TO_DOCUMENT)
        rule = finding.rule
        own = (f"No more than {rule.limit} per {'spinal region' if rule.per_region else 'patient'} in the rolling "
               f"{rule.window_months} months ({rule.cite.text()})")
        return CrosswalkRow("Sessions in 12 months", self.requirement(self.session.spec.sessions_text,
                                                                      "sessions_text", own),
                            f"{seen}; limit {rule.limit}", NOT_MET if finding.exceeded else MET)

    def rows(self) -> tuple[CrosswalkRow, ...]:
        spec = self.session.spec
        rows: list[CrosswalkRow | None] = []
        if spec.duration_weeks is not None:
            rows.append(self.duration())
        if spec.conservative_text:
            rows.append(self.conservative_care())
        if spec.imaging_text:
            rows.append(self.imaging())
        if spec.prior_relief_text:
            rows.append(self.prior_relief())
        rows.append(self.levels())
        rows.append(self.sessions())
        return tuple(r for r in rows if r is not None)


def crosswalk(session: AppealedSession, request: LetterRequest, book: LetterBook) -> tuple[CrosswalkRow, ...]:
    """The criteria rows for one appealed session, in the order the policy lists them."""
    return _Evidence(session, request, book).rows()
