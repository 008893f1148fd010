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
    edited = _with("VERSION = \"2026.12.0\"", "VERSION = \"2099.1.0\"")
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
