"""The claim aggregate: what we know about one claim (submission, payers, state, tasks) and how each event changes it.

Every change is guarded by event time: a late, older event is recorded on the timeline but never overwrites newer
state. Each `record_*` method appends timeline entries and domain events; the service layer persists both.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.domain.appeals import AppealRules, load_appeal_rules
from service.domain.events import (
    DomainEvent,
    FollowupRequested,
    RemittanceClassified,
    TaskChanged,
    TimelineEntry,
)
from service.domain.followups import followup_kind
from service.domain.model import (
    ZERO,
    ChecklistItem,
    ClaimFacts,
    Decision,
    InformationRequest,
    ProviderAdjustment,
    Remittance,
    StatusDecision,
    StatusReport,
    Submission,
)
from service.domain.ordering import FactKey, fact_key
from service.domain.tasks import (
    PAYER_REOPENS,
    Task,
    TaskLine,
    TransitionError,
    merge_decisions,
    open_task,
    opens_task,
    snapshot,
    task_id_for,
)

FORWARDED_STATUSES = frozenset({"19", "20", "21"})
# Actions a corrected (frequency 7) or voided (8) claim answers.
CORRECTABLE_ACTIONS = frozenset({"corrected_claim", "new_claim", "reopening", "obtain_authorization"})


# 277 buckets that show the payer took the claim in (a rejection before them has been answered).
ACCEPTED_BUCKETS = frozenset({"acknowledged", "accepted", "pending", "finalized", "paid", "denied", "adjusted",
                              "forwarded", "zero_pay", "info_requested"})


# 277 buckets that answer our status inquiry (276), not the claim: E0-E4/D0 (the request was wrong) and E1/E2 (ask
# later). They leave the claim's state alone, so the silent-claim timer keeps asking, and go to the status-inquiry
# worker.
INQUIRY_BUCKETS = frozenset({"inquiry_error", "retry"})


def _is_rejection_task(task: Task) -> bool:
    """A fix-and-resubmit task a 277CA rejection opened."""
    return task.origin == "status:rejected"


def _is_status_line(line: TaskLine) -> bool:
    """The line a 277/277CA status put on its task: the claim's charge as the status reported it (its reasons are
    `-<category>:<code>`, no CAS group), a stand-in until the payer adjudicates the lines."""
    return bool(line.reasons) and all(r.startswith("-") for r in line.reasons)


def _count_once(task: Task) -> None:
    """A task holding both a status's stand-in line and lines the payer adjudicated counts the adjudicated lines
    only: they are the same dollars, and the 835 says which of them are still denied."""
    if any(_is_status_line(x) for x in task.lines) and any(not _is_status_line(x) for x in task.lines):
        task.lines = tuple(x for x in task.lines if not _is_status_line(x))
        task.amount_at_risk = sum((x.at_stake for x in task.lines), ZERO)


def _copy(task: Task) -> Task:
    return snapshot(task)


def _key(remit: Remittance, d: Decision) -> tuple[str, str | None, int]:
    return (remit.event_id, d.line_id, d.adjustment_index)


def _note_paid(task: Task, remit: Remittance) -> None:
    """Remember what the payer paid on the task's lines on this remittance: a later payment recovers only the rest."""
    paid = {line.line_id: line.paid for line in remit.lines}
    task.lines = tuple(x.with_paid(paid[x.line_id]) if x.line_id in paid else x for x in task.lines)


def _answers_appeal(remit: Remittance, line_ids: set[str | None], rules: AppealRules) -> bool:
    """The remittance says it is the result of an appeal (MA91/N690-type remarks, claim level or on the lines)."""
    remarks = set(remit.remarks)
    for line in remit.lines:
        if line.line_id in line_ids:
            remarks.update(line.remarks)
    return bool(remarks & rules.result_remarks)


def _underpayment_details(task: Task, expectations: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The underpayment follow-up's facts: expected and paid amounts, and how each line's expectation was computed."""
    if task.category != "pricing":
        return {}
    lines = [expectations[x.line_id] for x in task.lines if x.line_id in expectations]
    if not lines:
        return {}
    total = {k: float(sum((Decimal(str(x[k])) for x in lines), ZERO))
             for k in ("expected_amount", "paid_amount", "shortfall")}
    return {**total,
            "computation": [f"line {x['line_id']} {x['procedure']}: " + "; ".join(x["computation"]) for x in lines],
            "underpaid_lines": [dict(x) for x in lines]}


@dataclass(slots=True)
class Claim:
    claim_id: str
    state: str = "unknown"
    state_at: dt.datetime | None = None
    patient_key: str | None = None
    submission: Submission | None = None
    adjudicated_payers: set[str] = field(default_factory=set)
    forwarded: bool = False
    payer_claim_numbers: set[str] = field(default_factory=set)
    last_event_at: dt.datetime | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    # pending changes, drained by the unit of work
    timeline: list[TimelineEntry] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    changed: bool = False
    # the latest adjudication of each line by each payer: "payer\x1fline" -> (event time, paid), so a late, older
    # denial never opens a task for a line a newer remittance already paid
    line_outcomes: dict[str, tuple[dt.datetime, bool]] = field(default_factory=dict)
    # decisions folded into an existing task of another cause (an upheld appeal's CARC 193):
    # (remittance event id, line id, adjustment index) -> task id
    routed_decisions: dict[tuple[str, str | None, int], str] = field(default_factory=dict)
    # Every submission of the claim (original, replacements, voids), so a remittance is judged against the one in
    # effect at its production date, whichever arrived first (DESIGN invariant 7).
    submissions: list[Submission] = field(default_factory=list)
    # The business-time key of every fact applied to the claim (event id -> (key, kind, payer id)): a late, earlier
    # fact finds out which of the claim's tasks newer facts shaped (service/domain/ordering.py).
    ledger: dict[str, tuple[FactKey, str, str]] = field(default_factory=dict)
    # The patient bills the claim's remittances sent (`followups.patient-billing.v1`), per adjudication ("payer\x1f
    # payer claim number"): (remittance event id, amount) pairs, so a reversal (CLP02 22) of that adjudication voids
    # exactly what was billed for it.
    patient_bills: dict[str, tuple[tuple[str, Decimal], ...]] = field(default_factory=dict)

    # -- queries ---------------------------------------------------------------------------------------------------

    def facts(self, as_of: FactKey | None = None) -> ClaimFacts:
        """What the claim's facts say, as of a business time when `as_of` is given: the submission then in effect
        (the latest one sent before it, a void excepted), not one sent later that happened to arrive first."""
        submission = self.submission if as_of is None else self.submission_as_of(as_of)
        known = self.submissions or ([self.submission] if self.submission is not None else [])
        sent = [s.occurred_at for s in known if s.frequency_code != "8" and (as_of is None or fact_key(s) < as_of)]
        return ClaimFacts(claim_id=self.claim_id, submission=submission,
                          adjudicated_payers=set(self.adjudicated_payers), forwarded=self.forwarded,
                          first_submitted=min(sent).astimezone(dt.UTC).date() if sent else None)

    def submission_as_of(self, as_of: FactKey) -> Submission | None:
        known = self.submissions or ([self.submission] if self.submission is not None else [])
        before = [s for s in known if s.frequency_code != "8" and fact_key(s) < as_of]
        return max(before, key=fact_key) if before else None

    def _key_of(self, event_id: str) -> FactKey | None:
        entry = self.ledger.get(event_id)
        return entry[0] if entry is not None else None

    def _remember_fact(self, event, kind: str, payer_id: str) -> FactKey:
        key = fact_key(event)
        self.ledger[event.event_id] = (key, kind, payer_id)
        return key

    # -- state -----------------------------------------------------------------------------------------------------

    def _touch(self, at: dt.datetime) -> None:
        self.last_event_at = at if self.last_event_at is None else max(self.last_event_at, at)
        self.changed = True

    def _set_state(self, state: str, at: dt.datetime) -> bool:
        """Move the claim to `state` unless a newer event already set it."""
        if self.state_at is not None and at < self.state_at:
            return False
        self.state, self.state_at = state, at
        self.changed = True
        return True

    def _task_event(self, task: Task, change: str, from_state: str | None, causation_id: str, at: dt.datetime,
                    note: str | None = None) -> None:
        self.events.append(TaskChanged(task=_copy(task), change=change, from_state=from_state, to_state=task.state,
                                       causation_id=causation_id, at=at, note=note))

    def _move(self, task: Task, to_state: str, causation_id: str, at: dt.datetime, note: str) -> bool:
        try:
            previous = task.transition(to_state, at=at)
        except TransitionError:
            return False
        task.last_event_at = max(task.last_event_at, at)
        change = "closed" if not task.is_open and to_state != "open" else "updated"
        self._task_event(task, change, previous, causation_id, at, note)
        return True

    # -- submissions -----------------------------------------------------------------------------------------------

    def record_submission(self, sub: Submission) -> None:
        self._touch(sub.occurred_at)
        key = self._remember_fact(sub, "submitted", sub.payer.id)
        self.patient_key = self.patient_key or sub.patient_key
        self.timeline.append(TimelineEntry(
            self.claim_id, sub.event_id, "submitted", sub.occurred_at, sub.payer.id,
            {"frequency_code": sub.frequency_code, "lines": len(sub.lines),
             "total_charge": str(sub.total_charge) if sub.total_charge is not None else None,
             "corrects": sub.original_payer_claim_number is not None},
        ))
        if self.submission is not None and not self.submissions:
            self.submissions = [self.submission]  # a claim stored before the list was kept
        if all(s.event_id != sub.event_id for s in self.submissions):
            self.submissions = sorted([*self.submissions, sub], key=fact_key)
        newer = self.submission is None or key >= fact_key(self.submission)
        if newer and sub.frequency_code != "8":
            self.submission = sub
        self._set_state("voided" if sub.frequency_code == "8" else "submitted", sub.occurred_at)
        if sub.is_correction:
            self._resolve_answered_tasks(sub)
        else:
            self._resolve_rejections(sub.payer.id, sub.event_id, sub.occurred_at, "answered by a new submission")

    def _resolve_answered_tasks(self, sub: Submission) -> None:
        """A corrected or voided claim answers the fix-and-resubmit tasks of its payer."""
        if sub.original_payer_claim_number and self.payer_claim_numbers and \
                sub.original_payer_claim_number not in self.payer_claim_numbers:
            return  # it corrects some other adjudication than the ones we hold
        key = fact_key(sub)
        for task in self.tasks.values():
            if task.payer_id == sub.payer.id and task.is_open and task.action in CORRECTABLE_ACTIONS \
                    and task.last_event_at <= sub.occurred_at:
                self._move(task, "resolved", sub.event_id, sub.occurred_at,
                           f"answered by a frequency-{sub.frequency_code} claim")
            elif task.payer_id == sub.payer.id and task.state == "won" and task.action in CORRECTABLE_ACTIONS:
                self._answered_before_payment(task, sub, key)

    def _answered_before_payment(self, task: Task, sub: Submission, key: FactKey) -> None:
        """A corrected claim that arrives after the payment that won the task, but was sent before it: in business
        order the correction answered the task first (resolved), and the payment found it closed. Re-derive that
        state, so the final state does not depend on which topic was read first."""
        opened = self._key_of(task.source_event_id)
        won_by = next((k for k, kind, payer in self.ledger.values()
                       if kind == "remittance" and payer == task.payer_id and k.at == task.closed_at), None)
        if opened is None or won_by is None or not opened < key < won_by:
            return
        previous = task.state
        task.state, task.recovered_amount, task.closed_at = "resolved", None, sub.occurred_at
        task.version += 1
        task.changed = True
        self._task_event(task, "updated", previous, sub.event_id, sub.occurred_at,
                         f"answered by a frequency-{sub.frequency_code} claim sent before the payment that closed it "
                         "(facts count in business-time order)")

    def _answered_by_known_correction(self, task: Task, remit: Remittance, key: FactKey) -> None:
        """A task a remittance just opened that a correction sent after that remittance already answered (the
        correction arrived first, on the claim-status topic): resolve it as in business order."""
        if task.action not in CORRECTABLE_ACTIONS:
            return
        for sub in self.submissions:
            if sub.payer.id != task.payer_id or not sub.is_correction or not fact_key(sub) > key:
                continue
            if sub.original_payer_claim_number and self.payer_claim_numbers and \
                    sub.original_payer_claim_number not in self.payer_claim_numbers:
                continue
            self._move(task, "resolved", sub.event_id, max(sub.occurred_at, task.last_event_at),
                       f"answered by a frequency-{sub.frequency_code} claim")
            return

    def _resolve_rejections(self, payer_id: str, cause: str, at: dt.datetime, why: str) -> None:
        """A 277CA rejection's fix-and-resubmit task is answered once the claim is sent again and accepted: by a new
        submission, an acceptance (A1/A2) or any later adjudication by that payer."""
        for task in self.tasks.values():
            if task.payer_id == payer_id and task.is_open and _is_rejection_task(task) and task.last_event_at < at:
                self._move(task, "resolved", cause, at, why)

    # -- remittances -----------------------------------------------------------------------------------------------

    def record_remittance(self, remit: Remittance, decisions: list[Decision], *,
                          expectations: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Apply one adjudication. `expectations`: per underpaid line id, how the expected payment was computed
        (`pricing.PaymentReview.followup_details()`), for the underpayment follow-up."""
        at = remit.occurred_at
        self._touch(at)
        self._remember_fact(remit, "reversal" if remit.is_reversal else "remittance", remit.payer.id)
        quality = list(remit.data_quality)
        if self.patient_key and remit.patient_key and remit.patient_key != self.patient_key:
            # Files that reuse one claim id for several patients cannot always be told apart by the gateway (the
            # other patient may sit in another file): say so where the team reads the claim.
            quality.append("the remittance names another patient than the claim's: the claim id may be reused")
        self.patient_key = self.patient_key or remit.patient_key
        if remit.payer_claim_number:
            self.payer_claim_numbers.add(remit.payer_claim_number)
        kind = "reversal" if remit.is_reversal else "remittance"
        denied = [d for d in decisions if d.is_denial]
        self.timeline.append(TimelineEntry(
            self.claim_id, remit.event_id, kind, at, remit.payer.id,
            {"status_code": remit.status_code, "total_charge": str(remit.total_charge),
             "total_paid": str(remit.total_paid), "denials": len(denied),
             "denied_amount": str(sum((d.amount for d in denied), ZERO)),
             "codes": sorted({f"{d.group}-{d.reason}" for d in decisions}),
             **({"data_quality": quality} if quality else {})},
        ))
        self.events.append(RemittanceClassified(remittance=remit, decisions=tuple(decisions)))
        if remit.is_reversal:
            self._set_state("reversed", at)
            self._remember_outcomes(remit)
            self._void_patient_bills(remit)
            return
        self.adjudicated_payers.add(remit.payer.id)
        if remit.status_code in FORWARDED_STATUSES:
            self.forwarded = True
        self._set_state(self._state_after(remit, denied), at)
        self._resolve_rejections(remit.payer.id, remit.event_id, at, "the payer accepted and adjudicated the claim")
        self._close_paid_tasks(remit, denied)
        folded = self._record_appeal_results(remit, denied)
        self._open_or_update_tasks(remit, [d for d in denied if opens_task(d) and _key(remit, d) not in folded
                                           and not self._paid_since(remit, d)], expectations or {})
        self._remember_outcomes(remit)
        self._request_patient_billing(remit, decisions)

    def _paid_since(self, remit: Remittance, d: Decision) -> bool:
        """A newer remittance of the same payer already paid this line: the late denial opens no task."""
        if d.line_id is None:
            return False
        outcome = self.line_outcomes.get(f"{remit.payer.id}\x1f{d.line_id}")
        return outcome is not None and outcome[0] > remit.occurred_at and outcome[1]

    def _remember_outcomes(self, remit: Remittance) -> None:
        for line in remit.lines:
            key = f"{remit.payer.id}\x1f{line.line_id}"
            known = self.line_outcomes.get(key)
            if known is None or known[0] <= remit.occurred_at:
                self.line_outcomes[key] = (remit.occurred_at, line.paid > 0 and not remit.is_reversal)

    def decision_task_id(self, remit: Remittance, decision: Decision) -> str | None:
        """The task a decision of this remittance belongs to: the task an upheld appeal folded it into, else the task
        of its cause (None when it opens no task)."""
        if self.routed_decisions:  # most claims never had a decision folded into another cause's task
            routed = self.routed_decisions.get(_key(remit, decision))
            if routed is not None:
                return routed
        return task_id_for(self.claim_id, remit.payer.id, decision.category) if opens_task(decision) else None

    @staticmethod
    def _state_after(remit: Remittance, denied: list[Decision]) -> str:
        if remit.status_code == "4" or (denied and remit.total_paid <= 0):
            return "denied"
        if denied:
            return "partially_denied"
        return "paid" if remit.total_paid > 0 else "adjudicated"

    def _open_or_update_tasks(self, remit: Remittance, denied: list[Decision],
                              expectations: Mapping[str, Mapping[str, Any]]) -> None:
        by_cause: dict[str, list[Decision]] = defaultdict(list)
        for d in denied:
            by_cause[d.category].append(d)
        for category, group in by_cause.items():
            tid = task_id_for(self.claim_id, remit.payer.id, category)
            task = self.tasks.get(tid)
            if task is None:
                task = open_task(self.claim_id, remit.payer.id, remit.payer.type, group,
                                 source_event_id=remit.event_id, at=remit.occurred_at)
                _note_paid(task, remit)
                self.tasks[tid] = task
                self._task_event(task, "opened", None, remit.event_id, remit.occurred_at)
                self._request_followup(task, remit, group, details=_underpayment_details(task, expectations))
                self._answered_by_known_correction(task, remit, fact_key(remit))
            elif remit.occurred_at < task.last_event_at:
                continue  # an older remittance never rewrites a task that newer events shaped
            elif task.is_open:
                merge_decisions(task, group, at=remit.occurred_at)
                _count_once(task)
                _note_paid(task, remit)
                self._task_event(task, "updated", task.state, remit.event_id, remit.occurred_at,
                                 "denied again on a later remittance")
            elif task.state in PAYER_REOPENS:
                # the corrected claim, the appeal or the payment came back denied for the same cause: work it again
                merge_decisions(task, group, at=remit.occurred_at)
                _count_once(task)
                _note_paid(task, remit)
                previous = task.reopen(at=remit.occurred_at)
                self._task_event(task, "updated", previous, remit.event_id, remit.occurred_at,
                                 f"denied again for the same cause after the task was {previous}")
                self._request_followup(task, remit, group, details=_underpayment_details(task, expectations))

    def _close_paid_tasks(self, remit: Remittance, denied: list[Decision]) -> None:
        """A later remittance that pays every line of an open task closes it as won, with the recovered amount: what
        the payer pays on the task's lines beyond what it paid when it denied them (so a reversal followed by a
        repayment, or an appeal decision (MA91/N690) that pays, counts only the new money). An underpayment found on
        a line does not keep another cause's task open: the line was paid, and its shortfall is a task of its own."""
        paid_lines = {line.line_id: line.paid for line in remit.lines if line.paid > 0}
        rules = load_appeal_rules()
        for task in self.tasks.values():
            if task.payer_id != remit.payer.id or not task.is_open or remit.occurred_at <= task.last_event_at:
                continue
            if remit.event_id == task.source_event_id:
                continue
            still_denied = {d.line_id for d in denied if task.category == "pricing" or d.category != "pricing"}
            lines = [line for line in task.lines if line.line_id is not None]
            if not lines or any(x.line_id in still_denied or x.line_id not in paid_lines for x in lines):
                continue
            recovered = sum((max(paid_lines[x.line_id] - (x.paid or ZERO), ZERO) for x in lines), ZERO)
            if recovered <= 0:
                continue  # paid no more than when it was denied: nothing was recovered
            task.recovered_amount = recovered
            how = "an appeal decision" if _answers_appeal(remit, {x.line_id for x in lines}, rules) else \
                "a later remittance"
            self._move(task, "won", remit.event_id, remit.occurred_at, f"paid on {how}: {recovered:.2f} recovered")

    def _record_appeal_results(self, remit: Remittance, denied: list[Decision]) -> set[tuple[str, str | None, int]]:
        """An appeal decided against the provider: CARC 193 (decision maintained) on a task's lines, or the task's own
        denial again on a remittance that answers an appeal (MA91/N690) or after the task was `submitted` (appeal-type
        actions). The task is lost; when it is an appealable `appeal` task and the payer has a next level (Medicare
        reconsideration ...), it reopens there with the level's deadline. Returns the decisions folded into them."""
        rules = load_appeal_rules()
        folded: set[tuple[str, str | None, int]] = set()
        for task in list(self.tasks.values()):
            if task.payer_id != remit.payer.id or not task.is_open or remit.occurred_at <= task.last_event_at:
                continue
            if remit.event_id == task.source_event_id:
                continue
            lines = {line.line_id for line in task.lines}
            upheld = [d for d in denied if d.reason in rules.upheld_carcs and (d.line_id in lines or d.line_id is None)]
            again = [d for d in denied if d.category == task.category and d.line_id in lines]
            answered = _answers_appeal(remit, lines, rules)
            after_submission = task.state == "submitted" and task.action in rules.appeal_actions
            if not upheld and not (again and (answered or after_submission)):
                continue
            for d in upheld:
                self.routed_decisions.setdefault(_key(remit, d), task.task_id)
            folded.update(_key(remit, d) for d in (*upheld, *again))
            if again:
                merge_decisions(task, again, at=remit.occurred_at)
                _count_once(task)
                _note_paid(task, remit)
            codes = sorted({f"{d.group}-{d.reason}" for d in (*upheld, *again)})
            why = ("the payer maintained its decision" if upheld else "the same denial came back") + \
                f" ({', '.join(codes)})"
            self._lose(task, remit, why, rules)
        return folded

    def _lose(self, task: Task, remit: Remittance, why: str, rules: AppealRules) -> None:
        at, cause = remit.occurred_at, remit.event_id
        level_name = rules.level_name(task.payer_type, task.payer_id, task.appeal_level)
        climbs = task.appealable and task.action in rules.ladder_actions
        step = rules.next_level(task.payer_type, task.payer_id, task.appeal_level, task.amount_at_risk,
                                remit.production_date) if climbs else None
        note = f"upheld at {level_name}: {why}" if task.action in rules.ladder_actions else f"upheld: {why}"
        if step is None:
            note += "; no further appeal level is configured for this payer" if climbs else ""
        elif step.refused:
            note += f"; no {step.level.name}: {step.refused}"
        if task.state != "submitted":
            # the payer decided an appeal that was filed outside the queue: record that it had been filed
            self._move(task, "submitted", cause, at, "the payer answered an appeal, so one had been filed")
        if not self._move(task, "lost", cause, at, note):
            return
        if step is None or step.refused:
            return
        previous = level_name
        task.appeal_level = step.level.level
        task.action, task.appealable, task.queue = "appeal", True, "appeals"
        task.deadline, task.deadline_basis = step.deadline, step.basis
        notice = remit.production_date.isoformat()
        item = ChecklistItem(id=f"appeal-level-{step.level.level}-decision",
                             text=f"The {previous} decision being appealed (notice {notice})")
        if item.id not in {i.id for i in task.checklist}:
            task.checklist = (item, *task.checklist)
        task.changed = True
        opened = f"{step.level.name} (level {step.level.level}) with {step.level.by}"
        if self._move(task, "open", cause, at, f"reopened for {opened}: due {step.deadline.isoformat()}"):
            self._request_followup(task, remit, None, reason=f"{opened} after the {previous} was upheld: "
                                   f"{task.explanation}", due_date=step.deadline,
                                   details={"appeal_level": step.level.level, "appeal_level_name": step.level.name})

    def _request_followup(self, task: Task, remit: Remittance | None, decisions: list[Decision] | None,
                          *, reason: str | None = None, due_date: dt.date | None = None,
                          details: Mapping[str, Any] | None = None) -> None:
        kind = followup_kind(task.action)
        if kind is None:
            return
        payer = remit.payer if remit is not None else None
        if payer is None:
            return
        self.events.append(FollowupRequested(
            kind=kind, claim_id=self.claim_id, payer=payer, action=task.action, amount=task.amount_at_risk,
            reason=reason or task.explanation, causation_id=remit.event_id if remit else task.source_event_id,
            at=task.last_event_at, task_id=task.task_id, category=task.category,
            due_date=due_date or task.filing_deadline or task.deadline, lines=task.lines,
            documents=tuple(item.text for item in task.checklist),
            details={"queue": task.queue, "appealable": task.appealable, "rule_ids": list(task.rule_ids),
                     "deadline": task.deadline.isoformat() if task.deadline else None,
                     "filing_deadline": task.filing_deadline.isoformat() if task.filing_deadline else None,
                     "prior_authorization_on_claim": bool(self.submission and self.submission.prior_authorization),
                     **(details or {})},
        ))

    def _request_patient_billing(self, remit: Remittance, decisions: list[Decision]) -> None:
        """PR amounts the classifier cleared for patient billing (every payer adjudicated) go out once per remit."""
        billable = [d for d in decisions if d.action == "bill_patient" and d.amount > 0]
        if not billable:
            return
        total = sum((d.amount for d in billable), ZERO)
        lines: dict[str | None, TaskLine] = {}
        for d in billable:
            prev = lines.get(d.line_id)
            lines[d.line_id] = TaskLine(
                line_id=d.line_id, amount=(prev.amount if prev else ZERO) + d.amount,
                reasons=(prev.reasons if prev else ()) + (f"{d.group}-{d.reason}",),
                procedure_code=d.procedure.code if d.procedure else None,
                modifiers=d.procedure.modifiers if d.procedure else (), service_date=d.service_date)
        key = _adjudication_key(remit)
        self.patient_bills[key] = (*self.patient_bills.get(key, ()), (remit.event_id, total))
        self.events.append(FollowupRequested(
            kind="patient-billing", claim_id=self.claim_id, payer=remit.payer, action="bill_patient", amount=total,
            reason="patient responsibility after every payer on the claim adjudicated: "
                   + ", ".join(sorted({f"{d.group}-{d.reason}" for d in billable})),
            causation_id=remit.event_id, at=remit.occurred_at, lines=tuple(lines.values()),
            details={"remarks": sorted({r for d in billable for r in d.remarks})},
        ))

    def _void_patient_bills(self, remit: Remittance) -> None:
        """A reversal takes back the adjudication that billed the patient: tell the patient-billing worker to void
        each bill sent for it (the same follow-up kind, the amount negated, the voided bill named in `details`), so
        the patient is not billed for a claim the payer reversed. The re-adjudication that usually follows is
        classified normally and bills the patient anew. A reversal without a payer claim number voids the payer's
        bills on the claim."""
        if remit.payer_claim_number:
            keys = [_adjudication_key(remit)]
        else:
            keys = [k for k in self.patient_bills if k.split("\x1f", 1)[0] == remit.payer.id]
        for key in keys:
            for billed_by, amount in self.patient_bills.pop(key, ()):
                self.events.append(FollowupRequested(
                    kind="patient-billing", claim_id=self.claim_id, payer=remit.payer, action="bill_patient",
                    amount=-amount,
                    reason=f"void: the payer reversed (CLP02 22) the adjudication that billed the patient "
                           f"{amount:.2f}, so that bill is cancelled; bill again only what a re-adjudication says",
                    causation_id=remit.event_id, at=remit.occurred_at,
                    details={"void": True, "voids_causation_id": billed_by,
                             "payer_claim_number": remit.payer_claim_number},
                ))

    # -- claim status (277 / 277CA) --------------------------------------------------------------------------------

    def record_status(self, report: StatusReport, decisions: list[StatusDecision]) -> None:
        at = report.occurred_at
        self._touch(at)
        self._remember_fact(report, report.kind, report.payer.id)
        s = report.status
        self.timeline.append(TimelineEntry(
            self.claim_id, report.event_id, report.kind, at, report.payer.id,
            {"category": s.category, "code": s.code, "entity": s.entity, "action_code": s.action_code,
             "buckets": sorted({d.bucket for d in decisions}),
             "line_statuses": [f"{ls.category}:{ls.code or ''}" for ls in report.line_statuses],
             **({"data_quality": list(report.data_quality)} if report.data_quality else {}),
             **({"requested": report.information_request.describe()} if report.information_request else {})},
        ))
        claim_level = next((d for d in decisions if d.line_id is None), decisions[0] if decisions else None)
        if claim_level is not None and claim_level.bucket in INQUIRY_BUCKETS:
            self._inquiry_answered(report, claim_level)
        elif claim_level is not None:
            self._set_state(claim_level.bucket, at)
            if claim_level.bucket in ACCEPTED_BUCKETS:
                self._resolve_rejections(report.payer.id, report.event_id, at,
                                         f"the payer accepted the claim ({s.category})")
        for decision in decisions:
            if decision.category and decision.queue:
                self._open_status_task(report, decision)

    def _inquiry_answered(self, report: StatusReport, decision: StatusDecision) -> None:
        """An inquiry error or a "try later" goes to the status-inquiry worker (`followups.status-inquiry.v1`): fix
        the 276 request data (review) or ask again later (wait)."""
        s = report.status
        amount = report.total_charge if report.total_charge is not None else (
            self.submission.total_charge if self.submission and self.submission.total_charge is not None else ZERO)
        self.events.append(FollowupRequested(
            kind="status-inquiry", claim_id=self.claim_id, payer=report.payer, action=decision.action,
            amount=Decimal(amount), reason=decision.explanation, causation_id=report.event_id, at=report.occurred_at,
            details={"bucket": decision.bucket, "status_category": s.category, "status_code": s.code,
                     "entity": s.entity, "queue": decision.queue},
        ))

    def _opened_later(self, task: Task, report: StatusReport) -> bool:
        """A task a remittance opened that counts after this status (business time): the status came late."""
        # Only what the stream alone decided: a task people work (in_progress, submitted) or wrote off keeps its route.
        if task.origin != "remittance" or task.state not in ("open", "won", "resolved"):
            return False
        opened = self._key_of(task.source_event_id)
        return opened is not None and fact_key(report) < opened

    def _adjudicated_after(self, report: StatusReport) -> bool:
        """The payer of this status adjudicated the claim later in business time (a remittance that arrived first)."""
        key = fact_key(report)
        return any(kind == "remittance" and payer == report.payer.id and k > key
                   for k, kind, payer in self.ledger.values())

    def _open_status_task(self, report: StatusReport, decision: StatusDecision) -> None:
        tid = task_id_for(self.claim_id, report.payer.id, decision.category)
        task = self.tasks.get(tid)
        amount = report.total_charge if report.total_charge is not None else (
            self.submission.total_charge if self.submission and self.submission.total_charge is not None else ZERO)
        refound = task is not None and self._opened_later(task, report)
        answered = decision.bucket == "rejected" and self._adjudicated_after(report)
        if task is not None and not refound and (task.is_open or report.occurred_at < task.last_event_at):
            return  # the open task already covers it
        lead = Decision(
            line_id=decision.line_id, adjustment_index=0, group="", reason=f"{report.status.category}:"
            f"{report.status.code or ''}", amount=Decimal(amount), remarks=(), category=decision.category,
            is_denial=False, action=decision.action, queue=decision.queue, appealable=False, recoverability=0.9,
            explanation=decision.explanation, rule_id=decision.rule_id, rules_version=decision.rules_version,
            deadline=decision.due_date, deadline_basis="status due date" if decision.due_date else None,
            filing_deadline=decision.filing_deadline, filing_deadline_basis=decision.filing_deadline_basis,
            checklist=decision.checklist,
        )
        opened_now = task is None
        if task is None:
            task = open_task(self.claim_id, report.payer.id, report.payer.type, [lead],
                             source_event_id=report.event_id, at=report.occurred_at,
                             origin=f"status:{decision.bucket}")
            self.tasks[tid] = task
            self._task_event(task, "opened", None, report.event_id, report.occurred_at)
        elif refound:
            # The status was in effect before the remittance that opened the task (it arrived later, from the other
            # topic): in business order the status opened the task and the remittance's denials joined it, so the
            # task takes the status's route and origin; its amount is the remittance's lines (`_count_once`).
            requested = followup_kind(task.action)
            merge_decisions(task, [lead], at=report.occurred_at)
            _count_once(task)
            task.action, task.queue, task.appealable = lead.action, lead.queue or "billing", lead.appealable
            task.explanation, task.origin = lead.explanation, f"status:{decision.bucket}"
            task.opened_at, task.source_event_id = min(task.opened_at, report.occurred_at), report.event_id
            self._task_event(task, "updated", task.state, report.event_id, report.occurred_at,
                             "a status in effect before the remittance that opened the task arrived late: the task "
                             "follows it (facts count in business-time order)")
            # A follow-up cannot be taken back: the remittance that opened the task already asked for its work. Ask
            # again only for other work (another follow-up kind), and only while the task is open.
            if not task.is_open or followup_kind(task.action) == requested:
                return
        else:
            if answered:
                return  # the payer adjudicated the claim after this rejection: nothing to reopen
            merge_decisions(task, [lead], at=report.occurred_at)
            _count_once(task)
            if not self._move(task, "open", report.event_id, report.occurred_at, "the payer asked again"):
                return
        kind = followup_kind(task.action)
        if kind:
            self.events.append(FollowupRequested(
                kind=kind, claim_id=self.claim_id, payer=report.payer, action=task.action, amount=task.amount_at_risk,
                reason=decision.explanation, causation_id=report.event_id, at=report.occurred_at,
                task_id=task.task_id, category=task.category, due_date=decision.due_date or decision.filing_deadline,
                lines=task.lines, documents=tuple(item.text for item in task.checklist),
                details={"bucket": decision.bucket, "status_category": report.status.category,
                         "status_code": report.status.code, "entity": report.status.entity,
                         "queue": task.queue, **_request_details(report.information_request)},
            ))
        if answered and opened_now and task.is_open:
            # In business order the payer adjudicated the claim after this rejection, which answered it (as
            # `_resolve_rejections` does when the facts arrive in order): the task is on record, resolved, and its
            # charge is not counted beside the adjudication's denied lines. Its follow-up went out above, as it did
            # when the rejection arrived first (a follow-up cannot be taken back; every arrival order asks the same).
            self._move(task, "resolved", report.event_id, report.occurred_at,
                       "the payer adjudicated the claim after this rejection (facts count in business-time order)")

    # -- provider-level adjustments (PLB) --------------------------------------------------------------------------

    def record_provider_adjustment(self, adj: ProviderAdjustment) -> None:
        self._touch(adj.occurred_at)
        self.timeline.append(TimelineEntry(
            self.claim_id, adj.event_id, "provider_adjustment", adj.occurred_at, adj.payer.id,
            {"reason": adj.reason, "amount": str(adj.amount)},
        ))
        self._annotate_recoupment(adj)

    def _annotate_recoupment(self, adj: ProviderAdjustment) -> None:
        """A recoupment (PLB WO, 72, FB ...) on this claim: a won task of the payer is flagged with what was taken back
        (its recovered money may be gone); every other task of the payer gets an audit note. A negative amount
        returns an earlier recoupment."""
        rules = load_appeal_rules()
        if not rules.is_recoupment(adj.reason) or adj.amount == 0:
            return
        what = (f"recoupment {adj.reason} ({rules.recoupment_reasons[adj.reason]}) of {adj.amount:.2f} on the "
                f"{adj.production_date.isoformat()} remittance")
        for task in self.tasks.values():
            if task.payer_id != adj.payer.id:
                continue
            if task.state == "won":
                task.recouped_amount = (task.recouped_amount or ZERO) + adj.amount
                task.changed = True
                note = (f"{what} after the task was won ({task.recovered_amount or ZERO:.2f} recovered, "
                        f"{task.recouped_amount:.2f} recouped): check the recoupment and dispute it if it is wrong")
            else:
                note = f"{what}: the payer took money back on this claim"
            self._task_event(task, "updated", task.state, adj.event_id, adj.occurred_at, note)

    # -- draining --------------------------------------------------------------------------------------------------

    def drain(self) -> tuple[list[TimelineEntry], list[DomainEvent]]:
        timeline, events = self.timeline, self.events
        self.timeline, self.events = [], []
        self.routed_decisions = {}
        return timeline, events


def _adjudication_key(remit: Remittance) -> str:
    """One payer's adjudication of the claim: a reversal names the one it takes back by its payer claim number."""
    return f"{remit.payer.id}\x1f{remit.payer_claim_number or ''}"


def _request_details(request: InformationRequest | None) -> dict[str, Any]:
    """What a records-request follow-up must carry when the payer sent a 277 RFAI: the items asked for, the payer's
    control number to echo in the 275, and the response due date."""
    if request is None:
        return {}
    return {
        "payer_control_number": request.payer_control_number,
        "response_due_date": request.response_due_date.isoformat() if request.response_due_date else None,
        "requested": [{"category": i.category, "code": i.code, "code_list_qualifier": i.code_list_qualifier,
                       "line_id": i.line_id} for i in request.requested],
    }
