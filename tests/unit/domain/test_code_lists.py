"""The complete code tables, row by row: every RARC, 277 category and status code reads with the decision vocabulary,
has well-formed dates and one row per period; every RARC that names a cause gives that cause to a generic CARC; no
published remark or status is explained as unknown."""

import datetime as dt

import pytest

from service.domain import model
from service.domain.classification import load_classifier
from service.domain.classification.codes import ROUTES, STATUS_ASKS, CodeTable, RarcRow
from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, NON_DENIAL_CATEGORIES, QUEUES
from service.domain.ruledata import RuleFiles
from tests.unit.domain.builders import DOS, NOTICE, T0, line, remit

CODES = load_classifier().codes
RARC_ROWS: list[RarcRow] = [row for code in CODES.rarc.codes() for row in CODES.rarc.versions(code)]
ACTIVE_RARCS = sorted(code for code in CODES.rarc.codes() if CODES.rarc.versions(code)[-1].stop is None)
CAUSES = [row for row in RARC_ROWS if row.kind == "cause" and row.stop is None]
UNKNOWN = "not in the rule tables"


def test_the_rarc_table_holds_the_whole_current_list():
    assert len(ACTIVE_RARCS) >= 1080
    assert {"M1", "M144", "MA01", "MA134", "N1", "N14", "N25", "N29", "N885", "N916"} <= set(CODES.rarc.codes())
    assert len(CAUSES) >= 600


def test_every_rarc_row_uses_the_vocabulary():
    wrong = [r.code for r in RARC_ROWS
             if (r.category and r.category not in CATEGORIES) or (r.action and r.action not in ACTIONS)
             or (r.route and r.route not in ROUTES)]
    assert wrong == []


def test_every_cause_row_names_a_denial_cause_and_what_to_do():
    wrong = [r.code for r in RARC_ROWS if r.kind == "cause" and (
        not r.category or r.category in NON_DENIAL_CATEGORIES or r.category == "unclassified" or not r.action
        or r.appealable is None or r.recoverability is None)]
    assert wrong == []


def test_only_cause_rows_carry_a_category():
    assert [r.code for r in RARC_ROWS if r.kind != "cause" and r.category] == []


def test_dates_are_well_formed_and_periods_do_not_overlap():
    assert [r.code for r in RARC_ROWS if r.start and r.stop and r.stop < r.start] == []
    # the table refuses two rows of one code whose periods overlap; the packaged rows load through it
    CodeTable(RARC_ROWS, "rarc.csv")
    codes = [row["code"] for row in RuleFiles().rows("rarc")]
    assert len(codes) == len(set(codes))


def test_meanings_are_short_paraphrases():
    long = [r.code for r in RARC_ROWS if not r.meaning or len(r.meaning) > 120]
    assert long == []
    statuses = [*CODES.status_codes.values(), *CODES.status_categories.values()]
    assert [s.code for s in statuses if not s.meaning or len(s.meaning) > 120] == []


def test_retired_remarks_keep_their_legacy_reading():
    n29 = CODES.rarc.lookup("N29", dt.date(2026, 1, 1))
    n102 = CODES.rarc.lookup("N102", dt.date(2016, 1, 1))
    assert (n29.standing, n29.row.category) == ("retired", "documentation")
    assert (n102.standing, n102.row.category) == ("current", "documentation")
    assert CODES.rarc.lookup("N102", dt.date(2020, 1, 1)).standing == "retired"


def _decide(carc, remark, *, payer_type="commercial", code="99213"):
    return load_classifier().classify(remit(line(code, carc, remarks=(remark,)), payer_type=payer_type),
                                      facts=None, history=[])[0]


@pytest.mark.parametrize("row", CAUSES, ids=lambda r: r.code)
def test_a_cause_remark_gives_its_cause_to_a_generic_carc(row):
    carcs = ["CO-16", "CO-119"] if row.category == "frequency_limit" else ["CO-16"]
    for carc in carcs:
        d = _decide(carc, row.code)
        assert d.category == row.category, (carc, d.explanation)
        assert f"remark {row.code} names the cause" in d.explanation


@pytest.mark.parametrize(("remark", "category"), [
    ("N115", "medical_necessity"), ("N386", "medical_necessity"), ("N20", "bundling"), ("N130", "non_covered"),
    ("N54", "authorization"), ("N257", "provider_enrollment"), ("M127", "documentation"), ("N706", "documentation"),
    ("N822", "coding"), ("M62", "authorization"), ("N640", "frequency_limit"),
])
def test_the_override_remarks_still_decide_the_cause(remark, category):
    assert _decide("CO-96" if category == "non_covered" else "CO-16", remark).category == category


def test_no_published_remark_is_explained_as_unknown():
    classifier = load_classifier()
    unknown = []
    for code in ACTIVE_RARCS:
        for carc in ("CO-16", "PR-2"):
            d = classifier.classify(remit(line("64483", carc, remarks=(code,))), facts=None, history=[])[0]
            if UNKNOWN in d.explanation:
                unknown.append(code)
    assert unknown == []


@pytest.mark.parametrize("remark", ["N781", "N782", "N783"])
def test_every_qmb_remark_keeps_the_patient_from_being_billed(remark):
    d = load_classifier().classify(remit(line("27096", "PR-1", paid="120.00", remarks=(remark,)),
                                         payer_type="medicare"), facts=None, history=[])[0]
    assert d.action == "rebill_other_payer" and f"remark {remark}" in d.explanation


# ----------------------------------------------------------------------------------------------- 277 statuses

def test_every_status_row_uses_the_vocabulary():
    rows = list(CODES.status_codes.values())
    assert len(rows) >= 600
    wrong = [r.code for r in rows if r.asks not in STATUS_ASKS or (r.category and r.category not in CATEGORIES)
             or (r.action and r.action not in ACTIONS) or (r.queue and r.queue not in QUEUES)]
    assert wrong == []
    # a status that asks for something names what it is about
    assert [r.code for r in rows if r.asks not in ("none", "wait") and not r.category] == []
    assert [c.code for c in CODES.status_categories.values() if c.action not in ACTIONS] == []


def test_the_common_entity_codes_are_named():
    assert {"85", "82", "IL", "QC", "PR", "1P", "41", "40", "77", "DN", "FA", "DK", "87", "PRP", "SEP"} <= set(
        CODES.entities)


def report(category, code=None, entity="85"):
    return model.StatusReport(
        event_id="st-1", occurred_at=T0, kind="status", payer=model.Payer("P", "commercial"),
        status=model.StatusCode(category, code, entity, None, NOTICE), claim_id="PC-1", service_date_from=DOS,
        line_statuses=())


@pytest.mark.parametrize("category", sorted(CODES.status_categories))
def test_every_category_with_a_few_codes_is_explained_and_routed(category):
    for code in (None, "21", "24", "88", "294", "562", "65"):
        d, = load_classifier().classify_status(report(category, code))
        assert d.bucket != "unclassified" and UNKNOWN not in d.explanation and "not a published" not in d.explanation
        assert "{entity}" not in d.explanation
        if d.category is not None:  # it opens work, so it has a team
            assert d.queue in QUEUES, (category, code)


def test_every_status_code_reads_in_words_with_its_entity():
    classifier = load_classifier()
    for code in CODES.status_codes:
        d, = classifier.classify_status(report("A7", code, "82"))
        assert f"status {code}:" in d.explanation and "{entity}" not in d.explanation
        assert d.queue in QUEUES


def test_a3_24_goes_to_enrollment_and_credentialing():
    d, = load_classifier().classify_status(report("A3", "24", "41"))
    assert (d.bucket, d.category, d.queue) == ("rejected", "provider_enrollment", "credentialing")
    assert "the submitter is not approved as an electronic submitter" in d.explanation


def test_the_entity_is_named_in_words():
    d, = load_classifier().classify_status(report("A7", "562", "85"))
    assert "NPI of the billing provider" in d.explanation
    d, = load_classifier().classify_status(report("A7", "21", "77"))
    assert "entity 77: the service location" in d.explanation
