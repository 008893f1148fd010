"""The interface the pipeline calls: one decision per adjustment, in order, each with the rules version."""

from service.domain.classification import Classifier, load_classifier
from service.domain.ruledata import RuleFiles
from tests.unit.domain.builders import line, remit


def test_load_classifier_is_cached_and_versioned():
    clf = load_classifier()
    assert isinstance(clf, Classifier)
    assert load_classifier() is clf
    assert clf.rules_version.startswith(RuleFiles().manifest()["VERSION"] + "+")


def test_one_decision_per_adjustment_claim_level_first_then_lines_in_order():
    r = remit(line("64483", "CO-45", "PR-2", mods=("RT",), paid="800.00"),
              line("77003", "CO-97", line_id="2", remarks=("N20",)),
              claim_adjustments=("CO-253", "OA-23"), total_paid="800.00")
    decisions = load_classifier().classify(r, facts=None, history=[])
    assert [(d.line_id, d.adjustment_index, d.reason) for d in decisions] == [
        (None, 0, "253"), (None, 1, "23"), ("1", 0, "45"), ("1", 1, "2"), ("2", 0, "97")]
    assert {d.rules_version for d in decisions} == {load_classifier().rules_version}
    assert all(d.explanation.endswith(".") and d.rule_id for d in decisions)


def test_claim_remarks_apply_to_every_adjustment_and_line_remarks_to_their_line():
    r = remit(line("64483", "CO-16", remarks=("M51",)), line("64484", "CO-16", line_id="2"),
              claim_remarks=("MA130",), payer_type="medicare")
    first, second = load_classifier().classify(r, facts=None, history=[])
    assert first.remarks == ("M51", "MA130") and second.remarks == ("MA130",)
    assert first.category == "coding" and second.category == "missing_information"
    assert first.action == second.action == "new_claim"


def test_unknown_codes_are_unclassified_kept_and_counted():
    clf = load_classifier().with_payer_overrides({})
    (d,) = clf.classify(remit(line("64483", "CO-999", remarks=("N9999",))), facts=None, history=[])
    assert (d.category, d.action, d.queue, d.is_denial, d.reason) == ("unclassified", "review", "billing", True, "999")
    assert d.rule_id == "carc.unknown"
    assert clf.unknown_codes["CARC:999"] == 1 and clf.unknown_codes["RARC:N9999"] == 1
