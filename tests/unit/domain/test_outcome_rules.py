"""`outcomes.csv`: the classifier's recoverability numbers and the codes that start its special steps are rule rows,
effective-dated and checked at load like the other tables; changing a row changes the decision, not the code."""

import datetime as dt
import re

import pytest

from service.domain.classification import Classifier, load_classifier
from service.domain.classification.outcomes import RULES
from service.domain.ruledata import RuleDataError, RuleFiles
from tests.unit.domain.builders import facts, line, remit

PACKAGE = RuleFiles()


def edited(edit):
    """The packaged tables with `outcomes.csv` edited in memory."""
    return PACKAGE.with_texts({"outcomes.csv": edit(PACKAGE.text("outcomes.csv"))})


def replace_row(rule_id, new_row):
    def edit(text):
        out, n = re.subn(rf"(?m)^{re.escape(rule_id)},.*$", new_row, text)
        assert n == 1
        return out
    return edited(edit)


def test_every_rule_the_classifier_applies_has_a_row_and_a_reference():
    outcomes = load_classifier().outcomes
    assert set(outcomes.rows) == set(RULES)
    assert all(row.ref for rows in outcomes.rows.values() for row in rows)


def test_the_classifier_reads_recoverability_from_the_row():
    r = remit(line("64483", "CO-998"))
    before = load_classifier().classify(r, facts=None, history=[])[0]
    after = Classifier(replace_row("carc.unknown", "carc.unknown,,,,0.25,CARC 139,edited"))
    changed = after.classify(r, facts=None, history=[])[0]
    assert (before.rule_id, before.recoverability) == ("carc.unknown", 0.3)
    assert (changed.rule_id, changed.recoverability) == ("carc.unknown", 0.25)
    assert changed.explanation == before.explanation


def test_the_authorization_check_runs_for_the_codes_the_row_lists():
    r = remit(line("64490", "CO-197", mods=("LT",)))
    on_claim = facts(prior_auth="AUTH-1", lines=(("64490", ("LT",)),))
    assert load_classifier().classify(r, facts=on_claim, history=[])[0].rule_id == "auth.on_claim"
    without = Classifier(replace_row("auth.check", "auth.check,,,CARC:198,,2.2,edited"))
    assert without.classify(r, facts=on_claim, history=[])[0].rule_id == "carc.197"


def test_the_unprocessable_clause_follows_the_remarks_the_row_lists():
    r = remit(line("62323", "CO-16", remarks=("M76", "MA130")))
    clause = "an unprocessable claim was never filed"
    assert clause in load_classifier().classify(r, facts=None, history=[])[0].explanation
    without = Classifier(replace_row("rarc.route.unprocessable", "rarc.route.unprocessable,,,RARC:N290,,3.1,edited"))
    assert clause not in without.classify(r, facts=None, history=[])[0].explanation


def test_rows_are_effective_dated_by_the_remittance_date():
    rows = ("carc.unknown,,2025-12-31,,0.3,CARC 139,until 2025\n"
            "carc.unknown,2026-01-01,,,0.4,CARC 139,from 2026")
    clf = Classifier(replace_row("carc.unknown", rows))
    old = clf.classify(remit(line("64483", "CO-998"), notice=dt.date(2025, 6, 2)), facts=None, history=[])[0]
    new = clf.classify(remit(line("64483", "CO-998"), notice=dt.date(2026, 2, 27)), facts=None, history=[])[0]
    assert (old.recoverability, new.recoverability) == (0.3, 0.4)


def test_non_denial_readings_follow_the_row_in_force_on_each_date():
    # Non-denial readings are memoised: the memo must not carry one date's row to another date's remittance.
    rows = ("kind.no_recovery,,2025-12-31,,0.0,2.1,until 2025\n"
            "kind.no_recovery,2026-01-01,,,0.1,2.1,from 2026")
    clf = Classifier(replace_row("kind.no_recovery", rows))
    old = clf.classify(remit(line("64483", "CO-45", paid="50.00"), notice=dt.date(2025, 6, 2)), facts=None,
                       history=[])[0]
    new = clf.classify(remit(line("64483", "CO-45", paid="50.00"), notice=dt.date(2026, 2, 27)), facts=None,
                       history=[])[0]
    assert (old.is_denial, old.recoverability, new.recoverability) == (False, 0.0, 0.1)


@pytest.mark.parametrize(("rule_id", "row", "message"), [
    ("auth.on_file", "auth.on_file,,,,1.8,2.2,x",
     r"outcomes\.csv line \d+, column recoverability: must be between 0 and 1"),
    ("auth.on_file", "auth.on_file,,,,high,2.2,x", r"outcomes\.csv line \d+, column recoverability: not a number"),
    ("auth.on_file", "auth.on_fil,,,,0.8,2.2,x",
     r"outcomes\.csv line \d+, column rule_id: 'auth.on_fil' is not a rule the classifier applies"),
    ("auth.on_file", "auth.on_file,,,,,2.2,x",
     r"outcomes\.csv line \d+, column recoverability: rule auth.on_file needs a recoverability"),
    ("auth.on_file", "auth.on_file,,,,0.8,,x", r"outcomes\.csv line \d+, column ref: every rule names its reference"),
    ("auth.on_file", "auth.on_file,2026-13-01,,,0.8,2.2,x", r"outcomes\.csv line \d+, column start: not an ISO date"),
    ("auth.check", "auth.check,,,CARC:9999,,2.2,x",
     r"outcomes\.csv line \d+, column codes: CARC 9999 is not in the rule tables"),
    ("auth.check", "auth.check,,,RARC:N290,,2.2,x", r"outcomes\.csv line \d+, column codes: 'RARC:N290' does not fit"),
    ("pain.ncci.same_level", "pain.ncci.same_level,,,NCCI:no_such_pair,0.05,5.6,x",
     r"outcomes\.csv line \d+, column codes: NCCI no_such_pair is not in the rule tables"),
    ("auth.on_file", "auth.on_file,2020-01-01,,,0.8,2.2,x",
     r"outcomes\.csv line \d+, column start: rule auth.on_file's earliest row must have no start date"),
    ("auth.on_file", "auth.on_file,,2030-01-01,,0.8,2.2,x\nauth.on_file,2030-01-03,,,0.9,2.2,x",
     r"outcomes\.csv line \d+, column start: rule auth.on_file's rows overlap or leave a gap"),
    ("auth.on_file", "auth.on_file,,,,0.8,2.2,x\nauth.on_file,2030-01-01,,,0.9,2.2,x",
     r"outcomes\.csv line \d+, column start: rule auth.on_file's rows overlap or leave a gap"),
    ("auth.on_file", "", r"outcomes\.csv: no row for rule auth.on_file, which the classifier applies"),
])
def test_an_unreadable_row_stops_the_load_naming_file_line_and_column(rule_id, row, message):
    with pytest.raises(RuleDataError, match=message) as error:
        Classifier(replace_row(rule_id, row))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("row", "message"), [
    ("auth.on_file,,,,0.8", r"outcomes\.csv line \d+: wrong number of columns \(no value for column 'ref'\)"),
    ("auth.on_file,,,,0.8,2.2,x,y", r"outcomes\.csv line \d+: wrong number of columns \(more values than the header "
                                    r"names, after column 'note'\)"),
])
def test_a_row_with_the_wrong_number_of_columns_names_its_line_and_column(row, message):
    with pytest.raises(RuleDataError, match=message):
        Classifier(replace_row("auth.on_file", row))


def test_a_rules_copy_without_the_outcomes_table_says_how_to_bring_it_up_to_date():
    old_copy = PACKAGE.with_texts({"manifest.toml": PACKAGE.text("manifest.toml").replace(
        'outcomes = "outcomes.csv"\n', "", 1)})
    with pytest.raises(RuleDataError, match=r"manifest\.toml: no file named for 'outcomes' .*copy outcomes\.csv"):
        Classifier(old_copy)
