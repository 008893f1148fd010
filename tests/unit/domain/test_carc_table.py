"""The CARC table holds the whole X12 list (code source 139): every active code classifies to a known decision in a
sensible group, every retired code keeps a dated legacy reading, and group-aware readings are rows, not code."""

import datetime as dt

import pytest

from service.domain.classification import Classifier, load_classifier
from service.domain.classification.codes import CARC_KINDS, GroupRow, GroupTable
from service.domain.classification.vocabulary import ACTIONS, CATEGORIES
from service.domain.ruledata import RuleDataError, RuleFiles
from tests.unit.domain.builders import line, remit

CLF = load_classifier()
PACKAGE = RuleFiles()
ROWS = PACKAGE.rows("carc")
GROUP_ROWS = PACKAGE.rows("carc_groups")

# The published list as code numbers (no descriptions): docs/code-lists.md says where each part comes from.
RETIRED = set("""
15 17 25 28 30 36 37 38 41 42 43 46 47 48 52 57 62 63 64 65 67 68 71 72 73 77 79 80 81 82 83 84 86 87 88 92 93 98 99
113 120 123 124 125 126 127 138 141 145 156 162 165 168 191 196 214 217 218 220 221 230 244 255
A2 A3 A4 A7 B2 B3 B5 B6 B17 B18 B19 B21 D22 D23 W1 W2 W3 W4 W5 W6 W7 W8 W9 Y1 Y2 Y3
""".split()) | {f"D{n}" for n in range(1, 22)}
ACTIVE = ({str(n) for n in range(1, 309)} - RETIRED) | {"A0", "A1", "A5", "A6", "A8"} | {
    f"B{n}" for n in (1, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 22, 23)} | {f"P{n}" for n in range(1, 33)}

# Codes whose answer truly needs a person when no remark comes with them (the remark or a letter names the cause).
NEEDS_A_PERSON = {"A1", "P1"}
# DESIGN: claim history may turn only the generic necessity/frequency codes into frequency_limit.
HISTORY_GENERIC = {"50", "119", "151", "273", "B5"}
# Denial codes the list says must come with a remark: the remark names the cause.
REMARK_NAMES_THE_CAUSE = {"16", "96", "129", "148", "226", "227", "234", "250", "251", "252", "267", "A1", "P1",
                          "17", "125", "162"}


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def _group_for(code: str) -> str:
    row = CLF.codes.carc.lookup(code, dt.date(2026, 2, 27)).row
    return "PR" if row.category == "patient_responsibility" else "CO"


def test_the_table_holds_the_whole_published_list():
    active = {r["code"] for r in ROWS if not r["stop"]}
    retired = {r["code"] for r in ROWS if r["stop"]}
    assert active == ACTIVE
    assert retired == RETIRED
    assert len(ACTIVE) == 297 and len(RETIRED) == 110


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["code"])
def test_every_row_maps_to_the_vocabulary(row):
    assert row["kind"] in CARC_KINDS
    assert row["category"] in CATEGORIES and row["action"] in ACTIONS
    assert 0.0 <= float(row["recoverability"]) <= 1.0
    assert row["appealable"] in ("true", "false")
    assert row["rarc_cause"] in ("", "any", "frequency") and row["history"] in ("", "generic")
    assert row["ref"] and row["meaning"] and len(row["meaning"]) <= 120
    # Our own short words: never the list's usage notes or its remark-code boilerplate.
    assert "Usage:" not in row["meaning"] and "Remark Code" not in row["meaning"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["code"])
def test_dates_are_well_formed_and_in_order(row):
    start, stop = _date(row["start"]), _date(row["stop"])
    assert start is not None, "every code of the list has a start date"
    assert stop is None or start <= stop
    assert (row["kind"] == "legacy") == (stop is not None), "retired codes, and only they, are legacy rows"


def test_no_code_is_twice_in_overlapping_periods():
    by_code = {}
    for row in ROWS:
        by_code.setdefault(row["code"], []).append((_date(row["start"]), _date(row["stop"]) or dt.date.max))
    for code, periods in by_code.items():
        periods.sort()
        for (_, stop), (start, _) in zip(periods, periods[1:], strict=False):
            assert start > stop, code


@pytest.mark.parametrize("code", sorted(ACTIVE), ids=str)
def test_every_active_code_classifies_in_a_sensible_group(code):
    group = _group_for(code)
    d = CLF.classify(remit(line("64483", f"{group}-{code}")), facts=None, history=[])[0]
    assert d.rule_id not in ("carc.unknown", "carc.unmapped")
    assert d.category in CATEGORIES and d.action in ACTIONS
    if group != "PR":
        assert d.action != "bill_patient", "a provider-liable adjustment is never billed to the patient"
    assert "not yet effective" not in d.explanation


def test_only_the_codes_that_need_a_person_fall_to_manual_review():
    review = set()
    for code in ACTIVE:
        d = CLF.classify(remit(line("64483", f"{_group_for(code)}-{code}")), facts=None, history=[])[0]
        if d.category == "unclassified" and d.action == "review":
            review.add(code)
    assert review == NEEDS_A_PERSON


@pytest.mark.parametrize("code", sorted(RETIRED), ids=str)
def test_every_retired_code_keeps_a_dated_legacy_reading(code):
    row = CLF.codes.carc.lookup(code, dt.date(2026, 2, 27)).row
    assert row.kind == "legacy" and row.stop is not None and row.meaning and row.category
    d = CLF.classify(remit(line("64483", f"{_group_for(code)}-{code}")), facts=None, history=[])[0]
    assert d.rule_id == f"carc.{code}.legacy"
    assert f"retired after {row.stop.isoformat()}" in d.explanation


def test_a_retired_code_on_a_remittance_from_its_own_time_is_current():
    before = remit(line("64483", "CO-15"), notice=dt.date(2017, 5, 1))
    after = remit(line("64483", "CO-15"), notice=dt.date(2019, 5, 1))
    assert CLF.classify(before, facts=None, history=[])[0].rule_id == "carc.15"
    assert CLF.classify(after, facts=None, history=[])[0].rule_id == "carc.15.legacy"


def test_a_retired_cost_share_code_is_still_cost_share():
    d = CLF.classify(remit(line("64483", "PR-126", paid="100.00")), facts=None, history=[])[0]
    assert (d.category, d.action, d.is_denial) == ("patient_responsibility", "bill_patient", False)


@pytest.mark.parametrize("group", ["CO", "OA", "PI"])
def test_the_patients_share_in_a_provider_liable_group_is_not_billed(group):
    d = CLF.classify(remit(line("64483", f"{group}-2", paid="100.00")), facts=None, history=[])[0]
    assert (d.category, d.action, d.is_denial, d.rule_id) == ("contractual", "none", False, "group.provider_liable")


def test_a_payment_sent_to_the_patient_is_collected_from_the_patient_whatever_the_group():
    d = CLF.classify(remit(line("64483", "OA-100")), facts=None, history=[])[0]
    assert (d.category, d.action, d.rule_id) == ("patient_responsibility", "bill_patient", "carc.OA-100")


def test_history_may_generalise_only_the_generic_necessity_and_frequency_codes():
    assert {r["code"] for r in ROWS if r["history"] == "generic"} == HISTORY_GENERIC


def test_the_codes_that_must_carry_a_remark_take_their_cause_from_it():
    assert {r["code"] for r in ROWS if r["rarc_cause"] == "any"} == REMARK_NAMES_THE_CAUSE


@pytest.mark.parametrize("row", GROUP_ROWS, ids=lambda r: f"{r['group']}-{r['code']}-{r['when']}")
def test_every_group_row_names_a_known_group_and_code(row):
    assert row["group"] in CLF.codes.groups
    assert row["code"] == "*" or row["code"] in CLF.codes.carc
    if row["code"] != "*":
        code_start = CLF.codes.carc.lookup(row["code"], dt.date(2026, 2, 27)).row.start
        assert _date(row["start"]) == code_start, "a group row starts with its code"


def test_a_group_row_rule_id_names_the_row():
    d = CLF.classify(remit(line("64483", "CO-137", paid="100.00")), facts=None, history=[])[0]
    assert (d.category, d.is_denial, d.rule_id) == ("contractual", False, "carc.CO-137")


def _group_row(group, code, *, when="", start=None, stop=None, category="contractual"):
    return GroupRow(group=group, code=code, start=start, stop=stop, when=when, kind="contractual", category=category,
                    action="none", appealable=False, recoverability=0.0, ref="x", meaning="m")


def test_the_most_specific_effective_group_row_wins():
    table = GroupTable([_group_row("CR", "*", category="informational"),
                        _group_row("CR", "*", when="denied", category="duplicate"),
                        _group_row("CR", "18", category="contractual"),
                        _group_row("CO", "7", stop=dt.date(2020, 12, 31))])
    on = dt.date(2026, 2, 27)
    assert table.lookup("CR", "18", on, "denied").category == "contractual"
    assert table.lookup("CR", "45", on, "denied").category == "duplicate"
    assert table.lookup("CR", "45", on, "processed").category == "informational"
    assert table.lookup("CO", "7", on, "processed") is None
    assert table.lookup("CO", "7", dt.date(2020, 6, 1), "processed").rule_id == "carc.CO-7"
    assert table.lookup("CR", "45", on, "processed").rule_id == "carc.CR"


def test_overlapping_group_rows_are_refused():
    with pytest.raises(RuleDataError, match="overlap"):
        GroupTable([_group_row("CO", "45"), _group_row("CO", "45", start=dt.date(2021, 1, 1))])


def test_a_group_reading_is_a_one_line_data_change():
    r = remit(line("64483", "OA-235", paid="100.00"))
    assert CLF.classify(r, facts=None, history=[])[0].rule_id == "carc.235"
    row = "OA,235,2010-06-06,,,informational,informational,none,false,0.0,2.1,hypothetical: tax shown for information\n"
    files = PACKAGE.with_texts({"carc_groups.csv": PACKAGE.text("carc_groups.csv") + row})
    d = Classifier(files).classify(r, facts=None, history=[])[0]
    assert (d.category, d.rule_id) == ("informational", "carc.OA-235")


def test_a_group_row_for_an_unknown_group_is_reported_with_its_line():
    row = "XX,45,,,,contractual,contractual,none,false,0.0,2.1,bad group\n"
    files = PACKAGE.with_texts({"carc_groups.csv": PACKAGE.text("carc_groups.csv") + row})
    with pytest.raises(RuleDataError, match=r"carc_groups.csv line \d+"):
        Classifier(files)
