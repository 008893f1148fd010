"""277 / 277CA statuses: a bucket per STC category (reference section 4) and the work it opens.

Rejections (A3/A6/A7/A8, F5) are recognised by category, not by the action code: fix and resubmit as a new claim
in `billing`, with the timely-filing clock (a rejected claim was never filed). Information requests (P3, R*) open a
records task with a due date from the status date. F2 is a denial whose reasons come with the 835."""

from __future__ import annotations

import datetime as dt

from service.domain import model
from service.domain.checklists import ChecklistBook
from service.domain.classification.codes import CodeTables
from service.domain.classification.routing import Routing
from service.domain.classification.vocabulary import ACTION_PHRASES
from service.domain.clocks import HolidayCalendar, PayerPolicy, filing_deadline, records_due

# What a status code asks of the provider, said after its meaning (codes that only report a state say nothing).
ASKS_PHRASES = {
    "data": "a claim data element to fix", "entity_data": "an identifying detail to fix",
    "enrollment": "an enrollment or credentialing matter", "eligibility": "a coverage or eligibility question",
    "records": "records to send", "duplicate": "a duplicate to check", "cob": "a coordination-of-benefits question",
    "authorization": "an authorization or referral matter", "coding": "a coding matter",
    "timely": "a timely-filing matter", "wrong_payer": "another payer to bill", "non_covered": "a coverage exclusion",
    "frequency": "a benefit limit", "pricing": "a pricing or contract matter", "bundling": "a bundling matter",
}


class StatusClassifier:
    def __init__(self, codes: CodeTables, routing: Routing, checklists: ChecklistBook, rules_version: str):
        self.codes = codes
        self.routing = routing
        self.checklists = checklists
        self.rules_version = rules_version

    def classify(self, report: model.StatusReport, facts: model.ClaimFacts | None, policy: PayerPolicy,
                 holidays: HolidayCalendar) -> list[model.StatusDecision]:
        decisions = [self._one(report.status, report, facts, policy, holidays)]
        decisions += [self._one(status, report, facts, policy, holidays) for status in report.line_statuses]
        return decisions

    def _entity_words(self, code: str | None) -> str | None:
        if not code:
            return None
        name = self.codes.entities.get(code.upper())
        return f"the {name}" if name else f"entity {code}"

    def _service_date(self, status: model.StatusCode, report: model.StatusReport,
                      facts: model.ClaimFacts | None) -> dt.date | None:
        submission = facts.submission if facts else None
        if submission is not None and status.line_id is not None:
            for line in submission.lines:
                if line.line_id == status.line_id and line.service_date:
                    return line.service_date
        if report.service_date_from:
            return report.service_date_from
        return submission.service_date_from if submission is not None else None

    def _one(self, status: model.StatusCode, report: model.StatusReport, facts: model.ClaimFacts | None,
             policy: PayerPolicy, holidays: HolidayCalendar) -> model.StatusDecision:
        composite = ":".join(p for p in (status.category, status.code or "", status.entity or "") if p)
        category_row = self.codes.status_categories.get(status.category.upper())
        if category_row is None:
            return model.StatusDecision(
                bucket="unclassified", action="review", category="unclassified", queue="billing",
                explanation=f"277 {composite}: {status.category} is not a published claim status category "
                            "(code source 507); review manually.",
                rule_id="status.unknown", rules_version=self.rules_version, line_id=status.line_id)
        entity = self._entity_words(status.entity)
        bucket, action, category = category_row.bucket, category_row.action, category_row.category
        queue = category_row.queue
        rule_id = f"status.{category_row.code}"
        clauses = [f"{category_row.meaning} (reference {category_row.ref})"]
        loinc = status.code_list_qualifier == "LOI"
        code = status.code or ""
        code_row = None if loinc else self.codes.status_codes.get(code.lstrip("0") or code)
        if loinc and status.code:
            clauses.append(f"LOINC {status.code} names the document asked for")
        elif code_row is not None:
            asks = ASKS_PHRASES.get(code_row.asks)
            clauses.append(f"status {code_row.code}: {code_row.reads(entity)}" + (f" ({asks})" if asks else ""))
            if code_row.category and bucket in ("denied", "rejected"):
                category = code_row.category
                queue = code_row.queue
                rule_id = f"{rule_id}.{code_row.code}"
                if bucket == "denied" and code_row.action:
                    action = code_row.action
        elif status.code and not loinc:
            clauses.append(f"status {status.code} is not a published claim status code (code source 508)")
        if entity and (code_row is None or "{entity}" not in code_row.meaning):
            clauses.append(f"entity {status.entity}: {entity}")
        if report.claim_id is None:
            clauses.append("a batch-level status with no claim, counted for the batch")
        due = filing = filing_basis = None
        if category_row.clock == "filing":
            service = self._service_date(status, report, facts)
            if service is not None:
                clock = filing_deadline(policy, service, holidays)
                filing, filing_basis = clock.date, clock.basis
            clauses.append("a rejection is not a denial and does not stop the timely-filing clock")
        elif category_row.clock == "records":
            request = report.information_request
            if request is not None and request.requested and status.line_id is None:
                clauses.append(f"the payer asks for {request.describe()}")
            if request is not None and request.response_due_date is not None:
                due = request.response_due_date
                clauses.append(f"records due {due.isoformat()} (the payer's response due date)")
            else:
                requested = status.effective_date or report.occurred_at.date()
                due = records_due(policy, requested, holidays).date
                clauses.append(f"records due {due.isoformat()}")
        opens_work = category is not None
        if opens_work and queue is None:
            queue = self.routing.queue(action, category, True)
        explanation = "; ".join([f"277 {composite}: {clauses[0]}", *clauses[1:], ACTION_PHRASES[action]]) + "."
        return model.StatusDecision(
            bucket=bucket, action=action, explanation=explanation, rule_id=rule_id, rules_version=self.rules_version,
            category=category, queue=queue, due_date=due, filing_deadline=filing, filing_deadline_basis=filing_basis,
            line_id=status.line_id,
            checklist=self.checklists.for_status(bucket) if opens_work else (),
        )
