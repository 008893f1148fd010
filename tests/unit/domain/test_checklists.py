"""Checklists per category and procedure family (reference section 7)."""

from service.domain.classification import load_classifier
from service.domain.model import ChecklistItem

BOOK = load_classifier().checklists


def test_every_denial_category_has_a_checklist():
    for category in ("authorization", "medical_necessity", "frequency_limit", "coding", "bundling", "eligibility",
                     "coordination_of_benefits", "timely_filing", "duplicate", "missing_information",
                     "documentation", "provider_enrollment", "non_covered", "pricing"):
        assert BOOK.for_decision(category, None), category


def test_family_items_come_before_category_items_and_ids_are_unique():
    items = BOOK.for_decision("medical_necessity", "facet_rfa")
    ids = [i.id for i in items]
    assert ids[:2] == ["rfa-two-blocks", "rfa-repeat"] and "pain-scores" in ids
    assert len(ids) == len(set(ids))


def test_decision_items_replace_family_items_of_the_same_id():
    extra = ChecklistItem(id="rfa-two-blocks", text="on file: 2025-10-02")
    items = BOOK.for_decision("medical_necessity", "facet_rfa", [extra])
    assert items[0] == extra and [i.id for i in items].count("rfa-two-blocks") == 1


def test_status_checklists():
    assert [i.id for i in BOOK.for_status("info_requested")][0] == "records-package"
    assert BOOK.for_status("paid") == ()
