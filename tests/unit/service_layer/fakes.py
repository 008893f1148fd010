"""In-memory fakes of the ports, for service-layer tests without I/O (cosmicpython's FakeUnitOfWork)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Sequence

from service.domain.authorizations import Authorization
from service.domain.claim import Claim
from service.domain.fee_schedule import FeeRate
from service.domain.model import (
    ChecklistItem,
    ClaimFacts,
    Decision,
    HistorySession,
    Remittance,
    StatusDecision,
    StatusReport,
)
from service.service_layer.unit_of_work import Changes, InboxItem


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.inbox: dict[str, InboxItem] = {}
        self.claims: dict[str, Claim] = {}
        self.history: dict[str, list[HistorySession]] = {}
        self.remittance_keys: dict[str, str] = {}
        self.saved: list[Changes] = []
        self.commits = 0
        self.fee_rates: list[FeeRate] = []  # the fee schedule "table"
        self.fee_reads: list[set[tuple[str, str]]] = []  # one entry per load_fee_schedule call
        self.authorizations: list[Authorization] = []  # the authorization register "table"
        self.authorization_reads: list[set[str]] = []  # one entry per load_authorizations call
        self._pending_inbox: dict[str, InboxItem] = {}

    async def __aenter__(self) -> FakeUnitOfWork:
        self._pending_inbox = {}
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._pending_inbox = {}

    async def claim_inbox(self, items: Iterable[InboxItem]) -> set[str]:
        new = set()
        for item in items:
            if item.event_id not in self.inbox and item.event_id not in self._pending_inbox:
                self._pending_inbox[item.event_id] = item
                new.add(item.event_id)
        return new

    async def inbox_digests(self, event_ids: Iterable[str]) -> dict[str, str | None]:
        known = {**self.inbox, **self._pending_inbox}
        return {e: known[e].digest for e in event_ids if e in known}

    async def known_claims(self, claim_ids: Iterable[str]) -> set[str]:
        return {c for c in claim_ids if c in self.claims}

    async def load_claims(self, claim_ids: Iterable[str]) -> dict[str, Claim]:
        return {c: copy.deepcopy(self.claims[c]) if c in self.claims else Claim(claim_id=c) for c in claim_ids}

    async def load_history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[HistorySession]]:
        return {k: [s for s in self.history.get(k, []) if s.service_date >= since] for k in patient_keys}

    async def find_originals(self, business_keys: Iterable[str]) -> dict[str, str]:
        return {k: self.remittance_keys[k] for k in business_keys if k in self.remittance_keys}

    async def load_fee_schedule(self, keys: Iterable[tuple[str, str]]) -> list[FeeRate]:
        wanted = set(keys)
        self.fee_reads.append(wanted)
        return [r for r in self.fee_rates if (r.payer_id, r.code) in wanted]

    async def load_authorizations(self, member_digests: Iterable[str]) -> list[Authorization]:
        wanted = set(member_digests)
        self.authorization_reads.append(wanted)
        return [a for a in self.authorizations if a.member_digest in wanted]

    async def save(self, changes: Changes) -> None:
        self.saved.append(changes)
        for claim in changes.claims:
            for task in claim.tasks.values():
                task.changed = False
            self.claims[claim.claim_id] = copy.deepcopy(claim)
        for remit, key, duplicate_of in changes.remittances:
            if duplicate_of is None:
                self.remittance_keys.setdefault(key, remit.event_id)
                if remit.patient_key and not remit.is_reversal:
                    self._remember(remit.patient_key, remit.claim_id, remit.lines, lambda line: line.covered)
        for sub in changes.submissions:
            if sub.patient_key:
                self._remember(sub.patient_key, sub.claim_id, sub.lines, lambda line: None)

    def _remember(self, patient_key: str, claim_id: str, lines, paid_of) -> None:
        known = {(s.claim_id, s.line_id): s for s in self.history.get(patient_key, [])}
        for line in lines:
            if line.service_date is None:
                continue
            paid = paid_of(line)
            previous = known.get((claim_id, line.line_id))
            known[(claim_id, line.line_id)] = HistorySession(
                claim_id=claim_id, line_id=line.line_id, service_date=line.service_date, procedure=line.procedure,
                paid=paid if paid is not None else (previous.paid if previous else None))
        self.history[patient_key] = list(known.values())

    async def commit(self) -> None:
        self.inbox.update(self._pending_inbox)
        self.commits += 1


class TableClassifier:
    """A tiny stand-in classifier: CO/PI/OA denials by CARC -> category, PR-1/2/3 cost share, CO-45 contractual."""

    rules_version = "test-1"
    CATEGORIES = {"197": ("authorization", "obtain_authorization", "authorization"),
                  "50": ("medical_necessity", "appeal", "appeals"),
                  "4": ("coding", "corrected_claim", "coding")}

    def classify(self, remit: Remittance, *, facts: ClaimFacts | None, history: Sequence[HistorySession],
                 as_of: dt.date | None = None) -> list[Decision]:
        self.last_history = list(history)
        out = []
        for line in remit.lines:
            for i, adj in enumerate(line.adjustments):
                if adj.group == "PR":
                    cat, action, queue, denial = "patient_responsibility", "bill_patient", "patient_accounts", False
                elif adj.reason == "45":
                    cat, action, queue, denial = "contractual", "none", None, False
                else:
                    cat, action, queue = self.CATEGORIES.get(adj.reason, ("unclassified", "review", "billing"))
                    denial = True
                out.append(Decision(
                    line_id=line.line_id, adjustment_index=i, group=adj.group, reason=adj.reason, amount=adj.amount,
                    remarks=line.remarks, category=cat, is_denial=denial, action=action, queue=queue,
                    appealable=denial, recoverability=0.5, explanation=f"{adj.group}-{adj.reason}",
                    rule_id=f"test.{adj.reason}", rules_version=self.rules_version,
                    checklist=(ChecklistItem("records", "records"),) if denial else (),
                    procedure=line.procedure, service_date=line.service_date))
        return out

    def classify_status(self, report: StatusReport, *, facts: ClaimFacts | None = None) -> list[StatusDecision]:
        if report.status.category in ("A3", "A6", "A7", "A8"):
            return [StatusDecision(bucket="rejected", action="corrected_claim", explanation="rejected",
                                   rule_id="test.rejected", rules_version="test-1", category="missing_information",
                                   queue="billing")]
        return [StatusDecision(bucket="pending", action="wait", explanation="pending", rule_id="test.pending",
                               rules_version="test-1")]
