"""Use case: check submitted claims before they go out (`denials check`, POST /api/check, the demo's check step).

With a store (PostgreSQL) the check reads, for the whole batch at once, the patients' history and earlier
submissions, the authorization register (by a keyed digest of the member id), the imported NCCI tables and the
prevention rules a user enabled, and records each claim's outcome; without one, a claim's history is the earlier
claims of the same input. Either way the earlier claims of the input count, in input order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.domain.authorizations import Authorization
from service.domain.model import HistorySession, Submission
from service.domain.presubmission import (
    CheckContext,
    Checker,
    ClaimOutcome,
    Finding,
    NcciTables,
    PreventionCheck,
    PriorSubmission,
    outcome_of,
    submitted_on,
)
from service.domain.prevention import DeniedLine, PreventionRule, load_prevention_book, prevention_rules
from service.service_layer.handlers import HISTORY_LOOKBACK, Clock
from service.service_layer.tasks_api import NotFound

DATABASE, INPUT = "database", "input"


class CheckStore(Protocol):
    async def history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[HistorySession]]: ...

    async def earlier_submissions(self, patient_keys: Iterable[str],
                                  claim_ids: Iterable[str]) -> dict[str, list[PriorSubmission]]: ...

    async def authorizations(self, member_digests: Iterable[str]) -> list[Authorization]: ...

    async def ncci(self, codes: Iterable[str]) -> NcciTables: ...

    async def enabled_prevention(self) -> list[PreventionCheck]: ...

    async def record_outcomes(self, outcomes: Sequence[ClaimOutcome], origin: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    submission: Submission
    findings: tuple[Finding, ...]
    outcome: ClaimOutcome


@dataclass(frozen=True, slots=True)
class CheckRun:
    source: str  # where history came from: "database" or "input"
    claims: tuple[ClaimCheck, ...]

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.claims for f in c.findings]


def _sessions(sub: Submission) -> list[HistorySession]:
    return [HistorySession(claim_id=sub.claim_id, line_id=x.line_id, service_date=day, procedure=x.procedure,
                           paid=None, detail=x.detail)
            for x in sub.lines if (day := x.service_date or sub.service_date_from) is not None]


class _Known:
    """What the batch knows about each patient: the store's rows, then the input's earlier claims as they pass."""

    def __init__(self, history: dict[str, list[HistorySession]], earlier: dict[str, list[PriorSubmission]]) -> None:
        self.history = {k: {(s.claim_id, s.line_id): s for s in v} for k, v in history.items()}
        self.earlier = earlier
        self.by_claim: dict[str, list[PriorSubmission]] = {}
        for items in earlier.values():
            for p in items:
                self.by_claim.setdefault(p.submission.claim_id, []).append(p)

    def context_for(self, sub: Submission, **fields) -> CheckContext:
        key = sub.patient_key or ""
        sessions = sorted((s for s in self.history.get(key, {}).values() if s.claim_id != sub.claim_id),
                          key=lambda s: (s.service_date, s.claim_id, s.line_id)) if key else []
        earlier = list(self.earlier.get(key, ())) if key else []
        earlier += [p for p in self.by_claim.get(sub.claim_id, ()) if p not in earlier]
        return CheckContext(history=tuple(sessions), earlier=tuple(earlier), **fields)

    def add(self, sub: Submission) -> None:
        prior = PriorSubmission(sub)
        key = sub.patient_key or ""
        if key:
            self.earlier.setdefault(key, []).append(prior)
            known = self.history.setdefault(key, {})
            for s in _sessions(sub):
                known.setdefault((s.claim_id, s.line_id), s)  # the store's row knows whether it was paid
        self.by_claim.setdefault(sub.claim_id, []).append(prior)


async def check_submissions(submissions: Sequence[Submission], checker: Checker, *, store: CheckStore | None,
                            clock: Clock, member_digest: Callable[[str], str] | None = None, origin: str = "cli",
                            today: dt.date | None = None, record: bool = True,
                            register: Sequence[Authorization] | None = None,
                            tables: NcciTables | None = None) -> CheckRun:
    """Check each submission (in order) and, with a store, record the outcomes. `today`: the submission date to judge
    timely filing by (default: each event's own date, the 837's BHT). `register` / `tables`: authorizations and NCCI
    edits read from files, added to the store's (or, without a store, the only ones)."""
    digests: dict[str, str] = {}
    if member_digest is not None:
        digests = {s.event_id: member_digest(s.patient.member_id) for s in submissions
                   if s.patient is not None and s.patient.member_id}
    authorizations: dict[str, list[Authorization]] = {}
    for auth in register or ():
        authorizations.setdefault(auth.member_digest, []).append(auth)
    ncci = NcciTables()
    prevention: tuple[PreventionCheck, ...] = ()
    if store is not None:
        patients = {s.patient_key for s in submissions if s.patient_key}
        dates = [d for s in submissions for d in (x.service_date or s.service_date_from for x in s.lines) if d]
        since = (min(dates) if dates else clock.today()) - HISTORY_LOOKBACK
        known = _Known(await store.history(patients, since),
                       await store.earlier_submissions(patients, {s.claim_id for s in submissions}))
        for auth in await store.authorizations(set(digests.values())):
            authorizations.setdefault(auth.member_digest, []).append(auth)
        ncci = await store.ncci({x.procedure.code for s in submissions for x in s.lines})
        prevention = tuple(await store.enabled_prevention())
    else:
        known = _Known({}, {})
    if tables is not None:
        ncci = ncci.merged(tables)
    read_register = store is not None or register is not None
    results = []
    for sub in submissions:
        auths = None
        if read_register:
            mine = authorizations.get(digests.get(sub.event_id, ""), ())
            auths = tuple(dict.fromkeys(a for a in mine if a.payer_id == sub.payer.id))
        context = known.context_for(sub, submitted_on=submitted_on(sub, today), authorizations=auths, ncci=ncci,
                                    history_complete=store is not None, prevention=prevention)
        findings = tuple(checker.check(sub, context))
        results.append(ClaimCheck(sub, findings, outcome_of(sub.claim_id, sub.event_id, findings)))
        known.add(sub)
    if store is not None and record:
        await store.record_outcomes([r.outcome for r in results], origin)
    return CheckRun(source=DATABASE if store is not None else INPUT, claims=tuple(results))


# -- prevention feedback as check rules ----------------------------------------------------------------------------

class PreventionStore(Protocol):
    async def denied_lines(self, since: dt.datetime, until: dt.datetime) -> list[DeniedLine]: ...

    async def enabled(self) -> list[PreventionCheck]: ...

    async def enable(self, rule: PreventionCheck, actor: str) -> bool: ...

    async def disable(self, key: str) -> bool: ...


def as_check(rule: PreventionRule) -> PreventionCheck:
    return PreventionCheck(key=rule.key, payer_id=rule.payer_id, procedure_code=rule.procedure_code,
                           condition=rule.condition, category=rule.category, text=rule.text, check=rule.check)


async def prevention_candidates(store: PreventionStore, *, now: dt.datetime, days: int = 90,
                                min_denials: int = 3) -> list[tuple[PreventionRule, bool]]:
    """The recurring avoidable causes of the window (as GET /api/prevention lists them, for every queue), each with
    whether it is enabled as a check rule."""
    book = load_prevention_book()
    lines = await store.denied_lines(now - dt.timedelta(days=days), now)
    enabled = {r.key for r in await store.enabled()}
    return [(r, r.key in enabled) for r in prevention_rules(lines, book, window_days=days, min_denials=min_denials)]


async def enable_prevention(store: PreventionStore, key: str, actor: str, *, now: dt.datetime, days: int = 90,
                            min_denials: int = 1) -> tuple[PreventionCheck, bool]:
    """Enable the prevention rule `key` (payer:code:condition) as a check rule; (the rule, whether it is new).
    NotFound when the window holds no such cause."""
    for rule, _ in await prevention_candidates(store, now=now, days=days, min_denials=min_denials):
        if rule.key == key:
            check = as_check(rule)
            return check, await store.enable(check, actor)
    raise NotFound("not_found", f"no recurring denial cause {key} in the last {days} days",
                   [{"field": "key", "problem": "not among the prevention rules of the window"}])


async def disable_prevention(store: PreventionStore, key: str) -> None:
    if not await store.disable(key):
        raise NotFound("not_found", "that prevention rule is not enabled", [{"field": "key", "problem": "unknown"}])
