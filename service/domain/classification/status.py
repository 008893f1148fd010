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
                explanation=f"277 {composite}: the status category is not in the rule tables; review manually.",
                rule_id="status.unknown", rules_version=self.rules_version, line_id=status.line_id)
        bucket, action, category = category_row.bucket, category_row.action, category_row.category
        queue = category_row.queue
        rule_id = f"status.{category_row.code}"
        clauses = [f"{category_row.meaning} (reference {category_row.ref})"]
        code_row = None if status.code_list_qualifier == "LOI" else self.codes.status_codes.get(status.code or "")
        if status.code_list_qualifier == "LOI" and status.code:
            clauses.append(f"LOINC {status.code} names the document asked for")
        elif code_row is not None:
            clauses.append(f"status {code_row.code}: {code_row.meaning}")
            if code_row.category and bucket in ("denied", "rejected"):
                category = code_row.category
                rule_id = f"{rule_id}.{code_row.code}"
                if bucket == "denied" and code_row.action:
                    action = code_row.action
        elif status.code and status.code_list_qualifier != "LOI":
            clauses.append(f"status {status.code} is not in the rule tables")
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
