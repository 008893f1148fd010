"""277 / 277CA statuses: buckets by category (not by action code), rejections with the timely-filing clock,
information requests with a due date, one decision for the claim plus one per line."""

import datetime as dt

import pytest

from service.domain import model
from service.domain.classification import load_classifier
from tests.unit.domain.builders import DOS, T0, facts


def report(category, code=None, *, payer_type="commercial", lines=(), claim_id="PC-1", action_code=None, date=None):
    return model.StatusReport(
        event_id="st-1", occurred_at=T0, kind="status", payer=model.Payer("P", payer_type),
        status=model.StatusCode(category, code, "85", action_code, date), claim_id=claim_id,
        service_date_from=DOS, line_statuses=tuple(lines))


@pytest.mark.parametrize("category", ["A3", "A6", "A7", "A8", "F5"])
@pytest.mark.parametrize("action_code", ["WQ", "U"])
def test_rejections_are_recognised_by_category_not_action_code(category, action_code):
    d, = load_classifier().classify_status(report(category, "562", action_code=action_code))
    assert (d.bucket, d.action, d.queue) == ("rejected", "new_claim", "billing")
    assert d.filing_deadline == dt.date(2026, 4, 15)
    assert "does not stop the timely-filing clock" in d.explanation
    assert [i.id for i in d.checklist][:2] == ["fix-data", "resubmit-new"]


def test_rejection_filing_clock_follows_the_payer_type():
    d, = load_classifier().classify_status(report("A6", "21", payer_type="medicare"))
    assert d.filing_deadline == dt.date(2027, 1, 15)


@pytest.mark.parametrize(("category", "payer_type", "due"), [
    ("P3", "commercial", dt.date(2026, 3, 4)),
    ("R4", "medicare", dt.date(2026, 3, 19)),
    ("R9", "medicaid", dt.date(2026, 3, 4)),
])
def test_information_requests_open_records_work_with_a_due_date(category, payer_type, due):
    d, = load_classifier().classify_status(report(category, payer_type=payer_type, date=dt.date(2026, 2, 2)))
    assert (d.bucket, d.action, d.category, d.queue, d.due_date) == (
        "info_requested", "submit_records", "documentation", "appeals", due)


def test_information_request_without_a_status_date_counts_from_the_event():
    d, = load_classifier().classify_status(report("P3"))
    assert d.due_date == T0.date() + dt.timedelta(days=30)


@pytest.mark.parametrize(("category", "code", "bucket", "action", "cause"), [
    ("F2", "88", "denied", "verify_eligibility", "eligibility"),
    ("F2", "84", "denied", "obtain_authorization", "authorization"),
    ("F2", None, "denied", "wait", None),
    ("F1", "65", "paid", "none", None),
    ("F4", None, "zero_pay", "wait", None),
    ("A1", None, "acknowledged", "none", None),
    ("A2", "20", "accepted", "none", None),
    ("A4", None, "not_found", "review", None),
    ("P1", None, "pending", "wait", None),
    ("E0", None, "inquiry_error", "review", None),
    ("E2", None, "retry", "wait", None),
    ("RQ", None, "info", "none", None),
])
def test_buckets(category, code, bucket, action, cause):
    d, = load_classifier().classify_status(report(category, code))
    assert (d.bucket, d.action, d.category) == (bucket, action, cause)


def test_unknown_category_is_unclassified_for_review():
    d, = load_classifier().classify_status(report("Z9"))
    assert (d.bucket, d.action, d.category, d.queue) == ("unclassified", "review", "unclassified", "billing")


def test_one_decision_for_the_claim_then_one_per_line_status():
    lines = (model.StatusCode("F1", "65", line_id="1"), model.StatusCode("F2", "84", line_id="2"))
    claim, first, second = load_classifier().classify_status(report("F0", lines=lines))
    assert (claim.line_id, claim.bucket) == (None, "finalized")
    assert (first.line_id, first.bucket) == ("1", "paid")
    assert (second.line_id, second.category) == ("2", "authorization")


def test_a_batch_level_status_is_classified_and_says_so():
    d, = load_classifier().classify_status(report("A7", "562", claim_id=None))
    assert d.bucket == "rejected" and "batch-level" in d.explanation


def test_rejection_uses_the_submitted_line_date_for_line_statuses():
    f = facts(lines=(("64483", ("RT",)),))
    lines = (model.StatusCode("A7", "21", line_id="1"),)
    _, line_decision = load_classifier().classify_status(report("A2", lines=lines), facts=f)
    assert line_decision.filing_deadline == dt.date(2026, 4, 15)
