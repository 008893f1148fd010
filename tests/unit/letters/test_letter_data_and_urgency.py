"""The letter data file is validated when loaded (a bad template or family is refused with the file and the
entry named), and the deadline urgency levels follow reference 6.5 (T-30, T-14, T-3)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.letters import LetterBook
from service.domain.ruledata import RuleDataError, RuleFiles
from service.domain.urgency import task_urgency

TODAY = dt.date(2026, 11, 20)


def _with(old: str, new: str) -> RuleFiles:
    files = RuleFiles()
    text = files.text("letters.toml")
    assert old in text
    return files.with_texts({"letters.toml": text.replace(old, new, 1)})


def test_the_packaged_letter_data_loads_and_covers_every_payer_type():
    book = LetterBook.load()
    for payer_type in ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"):
        level, past = book.level(payer_type, 1)
        assert level is not None and not past
    assert {"esi", "facet", "rfa", "si", "tpi"} <= set(book.crosswalks)


def test_a_template_naming_an_unknown_placeholder_is_refused():
    files = _with("The enclosed records support", "The enclosed {secret} records support")
    with pytest.raises(RuleDataError, match=r"letters.toml \[argument.documentation\]: unknown placeholder"):
        LetterBook.load(files)


def test_a_crosswalk_naming_an_unknown_family_is_refused():
    files = _with('prior_relief_families = ["facet_injection"]', 'prior_relief_families = ["facet_injektion"]')
    with pytest.raises(RuleDataError, match=r"crosswalk.facet\]: unknown procedure family 'facet_injektion'"):
        LetterBook.load(files)


def test_the_letter_data_is_not_part_of_the_classifiers_rules_version():
    files = RuleFiles()
    edited = _with("VERSION = \"2026.12.2\"", "VERSION = \"2099.1.0\"")
    assert files.version() == edited.version()


@pytest.mark.parametrize(("days", "level"), [(-1, "passed"), (0, "urgent"), (3, "urgent"), (4, "close"),
                                             (14, "close"), (15, "approaching"), (30, "approaching"),
                                             (31, "later")])
def test_urgency_levels_follow_the_escalation_points(days, level):
    u = task_urgency(TODAY + dt.timedelta(days=days), None, TODAY)
    assert (u.level, u.days_left, u.clock) == (level, days, "deadline")


def test_the_nearest_running_clock_counts_and_closed_tasks_have_none():
    u = task_urgency(TODAY - dt.timedelta(days=2), TODAY + dt.timedelta(days=10), TODAY)
    assert (u.level, u.clock, u.days_left) == ("close", "filing_deadline", 10)
    assert "timely filing: 10 days left" in u.describe()
    assert task_urgency(TODAY, None, TODAY, is_open=False).level == "none"
    assert task_urgency(None, None, TODAY).describe() == "no deadline"
    passed = task_urgency(TODAY - dt.timedelta(days=5), TODAY - dt.timedelta(days=2), TODAY)
    assert (passed.level, passed.days_left) == ("passed", -2)


def _with_citations(old: str, new: str) -> RuleFiles:
    files = RuleFiles()
    text = files.text("lcd_citations.toml")
    assert old in text
    return files.with_texts({"lcd_citations.toml": text.replace(old, new, 1)})


@pytest.mark.parametrize(("old", "new", "message"), [
    ('argues = ["filed_on_time"]', 'argues = ["filed_in_spirit"]', r"argument.timely_filing\]: argues must list"),
    ('needs = ["prior_authorization"]', 'needs = ["a_good_feeling"]', r"argument.authorization\]: needs must list"),
    ('otherwise = "authorization_retro"', 'otherwise = "nope"', r"otherwise names unknown argument 'nope'"),
    ('"151" = "frequency_limit"', '"151" = "nope"', r"argument_by_reason\]: 151 names unknown argument"),
])
def test_an_argument_that_stands_on_unknown_facts_or_claims_is_refused(old, new, message):
    with pytest.raises(RuleDataError, match=message):
        LetterBook.load(_with(old, new))


@pytest.mark.parametrize(("old", "new", "message"), [
    ('lcd = "L38803"', 'lcd = "38803"', r"lcd_citations.toml \[lcd #1\]: lcd must look like L12345"),
    ('jurisdictions = ["JF"]\nlcd = "L38803"', 'jurisdictions = ["JZ"]\nlcd = "L38803"',
     r"unknown jurisdiction 'JZ'"),
    ('jurisdictions = ["JE"]\nlcd = "L38801"', 'jurisdictions = ["JF"]\nlcd = "L38801"',
     r"a second row for facet in JF"),
    ('verify = false          # A; the issue', 'verify = "no"          # A; the issue',
     r"verify \(true or false\) is required"),
])
def test_a_citation_row_that_cannot_be_right_is_refused(old, new, message):
    with pytest.raises(RuleDataError, match=message):
        LetterBook.load(_with_citations(old, new))


def test_every_facet_and_epidural_row_names_its_jurisdiction_and_unsure_numbers_are_marked():
    citations = LetterBook.load().citations
    for jurisdiction in ("JE", "JF", "JH", "JL", "J15", "JN", "JJ", "JM", "J6", "JK", "J5", "J8"):
        assert citations.citation("facet", jurisdiction) is not None, jurisdiction
    assert citations.citation("facet", "JF").lcd == "L38803" and not citations.citation("facet", "JF").verify
    assert all(c.verify for (policy, _), c in citations.rows.items() if policy == "esi")
    assert citations.jurisdiction("12502", None) == "JL"
    assert citations.jurisdiction("MCR-J15", None) == "J15"
    assert citations.jurisdiction("ANY", "Medicare Part B (Jurisdiction H)") == "JH"
    assert citations.jurisdiction("ANY", "Medicare") is None
