"""Use cases: apply a batch of decoded input events in one unit of work.

The agents decode and validate; this module dedupes (inbox), loads the claims and the patients' history the batch
touches, lets the domain decide, and hands every resulting row to the unit of work in one `save`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.domain.authorizations import Authorization
from service.domain.claim import Claim
from service.domain.events import TaskChanged
from service.domain.fee_schedule import FeeSchedule
from service.domain.identity import remittance_business_key
from service.domain.model import (
    ClaimFacts,
    Decision,
    Event,
    HistorySession,
    ProviderAdjustment,
    Remittance,
    StatusDecision,
    StatusReport,
    Submission,
)
from service.domain.ordering import fact_key
from service.domain.pricing import PricingRules, Tolerance, fee_keys, load_pricing_rules, review_payment
from service.domain.tasks import refresh_priorities
from service.service_layer.conflicts import Conflict, find_conflicts
from service.service_layer.outbox import build_records
from service.service_layer.unit_of_work import (
    AuditEntry,
    Changes,
    DecisionRow,
    IdentifiersSeen,
    InboxItem,
    UnitOfWork,
)

# Frequency windows are 12 months and prerequisites (diagnostic blocks, SCS trials) older; two years is plenty.
HISTORY_LOOKBACK = dt.timedelta(days=730)
# CARCs whose reading depends on the authorization register (an authorization on file changes the route).
AUTHORIZATION_REASONS = frozenset({"197"})


class Classifier(Protocol):
    rules_version: str

    def classify(self, remit: Remittance, *, facts: ClaimFacts | None, history: Sequence[HistorySession],
                 as_of: dt.date | None = None) -> list[Decision]: ...

    def classify_status(self, report: StatusReport, *, facts: ClaimFacts | None = None) -> list[StatusDecision]: ...


class Clock(Protocol):
    """Where the service layer learns the date (the adapters' system clock; a fixed one in tests)."""

    def today(self) -> dt.date: ...

    def now(self) -> dt.datetime: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded input record and where it came from."""

    topic: str
    event: Event
    partition: int | None = None
    offset: int | None = None
    digest: str | None = None  # content digest of the record (topics.codec.content_digest); None: unknown

    @property
    def event_id(self) -> str:
        return self.event.event_id


@dataclass(frozen=True, slots=True)
class Pricing:
    """The underpayment check's rules (data) and tolerance (settings: service.bootstrap builds it from them)."""

    rules: PricingRules
    tolerance: Tolerance


@dataclass(slots=True)
class BatchReport:
    applied: int = 0
    redelivered: int = 0
    duplicates: int = 0
    decisions: int = 0
    denials: int = 0
    outbox: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)  # known ids with other content: not applied


@functools.lru_cache(maxsize=1)
def packaged_pricing() -> Pricing:
    """The packaged pricing rules with the default tolerance (the settings' defaults): for callers without settings
    (tests, benchmarks). The worker's pricing comes from service.bootstrap."""
    return Pricing(load_pricing_rules(), Tolerance())


def _authorization_denied(remit: Remittance) -> bool:
    """A denial the register can answer (CO-197: no authorization on the claim), with a member id to look up."""
    if remit.patient is None or not remit.patient.member_id:
        return False
    return any(a.reason in AUTHORIZATION_REASONS for a in remit.adjustments) or any(
        a.reason in AUTHORIZATION_REASONS for line in remit.lines for a in line.adjustments)


def _claim_id(event: Event) -> str | None:
    return getattr(event, "claim_id", None)


def sessions_from(claim_id: str, lines, paid_of) -> list[HistorySession]:
    """A claim's dated lines as patient-history sessions; `paid_of(line)` says whether the line was paid."""
    return [HistorySession(claim_id=claim_id, line_id=line.line_id, service_date=line.service_date,
                           procedure=line.procedure, paid=paid_of(line))
            for line in lines if line.service_date is not None]


class _History:
    """Patient history for the batch: loaded once, extended as the batch's own events are applied."""

    def __init__(self, loaded: dict[str, list[HistorySession]]) -> None:
        self._by_patient = {k: {(s.claim_id, s.line_id): s for s in v} for k, v in loaded.items()}

    def for_claim(self, patient_key: str | None, claim_id: str) -> list[HistorySession]:
        if not patient_key:
            return []
        return sorted((s for s in self._by_patient.get(patient_key, {}).values() if s.claim_id != claim_id),
                      key=lambda s: (s.service_date, s.claim_id, s.line_id))

    def add(self, patient_key: str | None, sessions: list[HistorySession]) -> None:
        if not patient_key:
            return
        known = self._by_patient.setdefault(patient_key, {})
        for s in sessions:
            previous = known.get((s.claim_id, s.line_id))
            if previous is None or s.paid is not None or previous.paid is None:
                known[(s.claim_id, s.line_id)] = s


@dataclass(slots=True)
class _Batch:
    """What the batch's handlers share: what was loaded once for the whole batch, the rows they add, the report."""

    classifier: Classifier
    pricing: Pricing
    as_of: dt.date | None
    claims: dict[str, Claim]
    history: _History
    keys: dict[str, str]  # remittance event id -> business key
    originals: dict[str, str]  # business key -> the event id first seen with it
    fees: FeeSchedule
    digest_of: dict[str, str]  # remittance event id -> member digest (CO-197 denials only)
    on_file: dict[str, list[Authorization]]  # member digest -> the register's authorizations
    changes: Changes = field(default_factory=Changes)
    report: BatchReport = field(default_factory=BatchReport)

    def claim_for(self, claim_id: str) -> Claim:
        claim = self.claims.get(claim_id)
        if claim is None:
            claim = self.claims[claim_id] = Claim(claim_id=claim_id)
        return claim


def _apply_remittance(batch: _Batch, ev: Remittance) -> bool:
    changes, report = batch.changes, batch.report
    key = batch.keys[ev.event_id]
    original = batch.originals.get(key)
    if original is not None and original != ev.event_id:
        changes.remittances.append((ev, key, original))
        changes.inbox_outcomes[ev.event_id] = "duplicate_business_key"
        report.duplicates += 1
        return False
    batch.originals[key] = ev.event_id
    claim = batch.claim_for(ev.claim_id)
    patient = claim.patient_key or ev.patient_key
    # the submission in effect when the payer decided, not a correction sent later that arrived first
    facts = claim.facts(as_of=fact_key(ev))
    if ev.event_id in batch.digest_of:
        facts.authorizations = tuple(a for a in batch.on_file.get(batch.digest_of[ev.event_id], ())
                                     if a.payer_id == ev.payer.id)
    decisions = batch.classifier.classify(ev, facts=facts, history=batch.history.for_claim(patient, ev.claim_id),
                                          as_of=batch.as_of)
    review = review_payment(ev, decisions, batch.fees, batch.pricing.rules, batch.pricing.tolerance,
                            clocks=getattr(batch.classifier, "clocks", None))
    decisions = review.decisions
    claim.record_remittance(ev, decisions, expectations=review.followup_details())
    changes.remittances.append((ev, key, None))
    if ev.patient is not None:
        changes.identifiers.append(IdentifiersSeen(ev.claim_id, ev.payer.id, ev.occurred_at, ev.patient))
    denials = 0
    for d in decisions:
        changes.decisions.append(DecisionRow(ev, d, claim.decision_task_id(ev, d)))
        denials += d.is_denial
    report.decisions += len(decisions)
    report.denials += denials
    if not ev.is_reversal:
        batch.history.add(patient, sessions_from(ev.claim_id, ev.lines, lambda line: line.covered))
    return True


def _apply_submission(batch: _Batch, ev: Submission) -> bool:
    claim = batch.claim_for(ev.claim_id)
    claim.record_submission(ev)
    batch.changes.submissions.append(ev)
    if ev.patient is not None:
        batch.changes.identifiers.append(IdentifiersSeen(ev.claim_id, ev.payer.id, ev.occurred_at, ev.patient))
    batch.history.add(claim.patient_key, sessions_from(ev.claim_id, ev.lines, lambda line: None))
    return True


def _apply_status(batch: _Batch, ev: StatusReport) -> bool:
    if ev.claim_id is None:
        batch.changes.batch_statuses.append(ev)
        batch.changes.inbox_outcomes[ev.event_id] = "batch_status"
        return False
    claim = batch.claim_for(ev.claim_id)
    claim.record_status(ev, batch.classifier.classify_status(ev, facts=claim.facts(as_of=fact_key(ev))))
    return True


def _apply_provider_adjustment(batch: _Batch, ev: ProviderAdjustment) -> bool:
    linked = bool(ev.claim_id and ev.claim_id in batch.claims)
    batch.changes.provider_adjustments.append((ev, linked))
    if linked:
        batch.claim_for(ev.claim_id).record_provider_adjustment(ev)
    return True


# One handler per message type; each returns whether the event counts as applied (a duplicate remittance or a
# batch-level status is recorded but not applied to a claim).
HANDLERS: dict[type, Callable[[_Batch, Any], bool]] = {
    Remittance: _apply_remittance,
    Submission: _apply_submission,
    StatusReport: _apply_status,
    ProviderAdjustment: _apply_provider_adjustment,
}


async def process_batch(items: Sequence[Inbound], uow: UnitOfWork, classifier: Classifier, *,
                        clock: Clock | None = None, as_of: dt.date | None = None, pricing: Pricing | None = None,
                        member_digest: Callable[[str], str] | None = None) -> BatchReport:
    """Apply a batch atomically: every new event's rows (or none) commit together; redeliveries change nothing.
    `clock`: today's date (tasks' priorities, the history window); `as_of`: a fixed business date instead (the
    classifier checks deadlines against it); one of the two is needed. `pricing`: the underpayment check's rules and
    tolerance (default: the packaged rules and default tolerance); `member_digest`: how the authorization register
    keys a member id, needed as soon as a batch holds a denial the register answers (service.bootstrap builds both
    from the settings)."""
    if clock is None and as_of is None:
        raise TypeError("process_batch needs a clock or an as_of date")
    report = BatchReport()
    async with uow:
        unique: dict[str, Inbound] = {}
        for item in items:
            unique.setdefault(item.event_id, item)
        new_ids = await uow.claim_inbox(
            InboxItem(i.event_id, i.topic, i.partition, i.offset, i.digest) for i in unique.values())
        # Facts count in business-time order (DESIGN invariant 7, service/domain/ordering.py), not in the order the
        # topics happened to deliver them: a batch applies its events sorted so, and each claim's later facts guard
        # against earlier ones arriving in a later batch.
        fresh = sorted((i for i in unique.values() if i.event_id in new_ids), key=lambda i: fact_key(i.event))
        report.conflicts = await find_conflicts(items, unique, new_ids, uow)
        report.redelivered = len(items) - len(fresh) - len(report.conflicts)
        if not fresh:
            await uow.commit()
            return report

        claim_ids = {cid for i in fresh if (cid := _claim_id(i.event)) and not isinstance(i.event, ProviderAdjustment)}
        # A PLB names a claim we may or may not hold: link it only to a claim that exists.
        plb_refs = {i.event.claim_id for i in fresh if isinstance(i.event, ProviderAdjustment) and i.event.claim_id}
        if plb_refs - claim_ids:
            claim_ids |= await uow.known_claims(plb_refs - claim_ids)
        claims = await uow.load_claims(claim_ids)
        remits = [i.event for i in fresh if isinstance(i.event, Remittance)]
        keys = {r.event_id: remittance_business_key(r) for r in remits}
        originals = await uow.find_originals(set(keys.values())) if keys else {}
        patient_keys = {k for i in fresh if (k := getattr(i.event, "patient_key", None))}
        patient_keys |= {c.patient_key for c in claims.values() if c.patient_key}
        dates = [d for r in remits if (d := r.first_service_date)]
        since = (min(dates) if dates else (clock.today() if clock is not None else as_of)) - HISTORY_LOOKBACK
        history = _History(await uow.load_history(patient_keys, since) if patient_keys else {})
        # The fee schedule of every (payer, code) the batch's primary adjudications carry: one read per batch.
        pricing = pricing or packaged_pricing()
        wanted = fee_keys(remits, pricing.rules)
        fees = FeeSchedule(await uow.load_fee_schedule(wanted)) if wanted else FeeSchedule()
        # The register's authorizations of the members whose remittances carry a CO-197: one read per batch, and
        # none at all for a batch without such a denial.
        digest_of: dict[str, str] = {}
        on_file: dict[str, list[Authorization]] = {}
        asking = [r for r in remits if _authorization_denied(r)]
        if asking:
            if member_digest is None:
                raise TypeError("process_batch needs member_digest: the batch holds a denial the authorization "
                                "register answers")
            digest_of = {r.event_id: member_digest(r.patient.member_id) for r in asking}
            for auth in await uow.load_authorizations(set(digest_of.values())):
                on_file.setdefault(auth.member_digest, []).append(auth)

        batch = _Batch(classifier, pricing, as_of, claims, history, keys, originals, fees, digest_of, on_file,
                       report=report)
        for item in fresh:
            report.by_topic[item.topic] = report.by_topic.get(item.topic, 0) + 1
            handler = HANDLERS.get(type(item.event))
            if handler is None or handler(batch, item.event):
                report.applied += 1

        changes = batch.changes
        today = as_of or clock.today()
        for claim in claims.values():
            if not claim.changed:
                continue
            timeline, events = claim.drain()
            # Tasks are scored when the stream changes them, so `next` orders them right from the first second
            # (the timers refresh the scores as days pass).
            refresh_priorities([*(task for task in claim.tasks.values() if task.changed),
                                *(ev.task for ev in events if isinstance(ev, TaskChanged))], today)
            changes.claims.append(claim)
            changes.timeline.extend(timeline)
            for ev in events:
                if isinstance(ev, TaskChanged):
                    changes.task_audit.append(AuditEntry(ev.task.task_id, ev.at, ev.actor, ev.change, ev.from_state,
                                                         ev.to_state, ev.note, ev.causation_id))
            changes.outbox.extend(build_records(events))
        report.outbox = len(changes.outbox)
        await uow.save(changes)
        await uow.commit()
    return report
