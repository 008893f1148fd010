"""Composing the letter: which tasks it covers, the appeal level and deadline, the denied lines with the codes'
plain meanings, the argument per cause, the enclosures, and the Medicare reopening request."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.letters import LetterError, compose_letter
from service.domain.model import ChecklistItem
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, TODAY, book, claim, denials, necessity_task, request


def _section(letter, heading_start: str):
    return next(s for s in letter.sections if s.heading.startswith(heading_start))


def test_a_medicare_necessity_denial_is_a_redetermination_with_the_tasks_deadline():
    letter = compose_letter(request(), book())
    assert (letter.kind, letter.title) == ("appeal", "Medicare redetermination")
    assert letter.level == "Medicare redetermination (first level of appeal)"
    assert letter.recipient[1] == "Attn: the Medicare Administrative Contractor (MAC)"
    assert (letter.deadline, letter.deadline_basis) == (dt.date(2027, 1, 20),
                                                        "Medicare redetermination: 120 days from receipt")
    level, deadline = _section(letter, "Level and deadline").paragraphs
    assert level.startswith("This is a Medicare redetermination (first level of appeal), addressed to the Medicare "
                            "Administrative Contractor (MAC).")
    assert "by 2027-01-20 (Medicare redetermination: 120 days from receipt)" in deadline
    reference = dict(letter.reference)
    assert reference["Payer claim number"] == "ICN-77" and reference["Amount in dispute"] == "$1,800.00"
    assert reference["Patient"] == "[to complete: patient name]"  # no identifiers were read for this request


@pytest.mark.parametrize(("payer_type", "level", "title"), [
    ("medicare", 2, "Medicare reconsideration"),
    ("medicare", 3, "Request for an administrative law judge hearing"),
    ("commercial", 1, "First-level provider appeal"),
    ("commercial", 2, "Second-level provider appeal"),
    ("medicare_advantage", 1, "Medicare Advantage plan reconsideration"),
    ("medicaid", 1, "Medicaid provider appeal"),
])
def test_the_appeal_level_follows_the_payer_type_and_the_tasks_level(payer_type, level, title):
    r = request(necessity_task(appeal_level=level), claim=claim(payer_type=payer_type))
    assert compose_letter(r, book()).title == title


@pytest.mark.parametrize("payer_type, level, in_sentence", [
    ("medicare", 1, "request a Medicare redetermination (first level"),
    ("medicare", 3, "request a request for an administrative law judge hearing"),
    ("commercial", 1, "request a first-level provider appeal"),
    ("medicaid", 2, "request a state fair hearing"),
])
def test_the_level_reads_as_part_of_the_sentence_that_asks_for_it(payer_type, level, in_sentence):
    letter = compose_letter(request(necessity_task(appeal_level=level), claim=claim(payer_type=payer_type)), book())
    opening = next(s for s in letter.sections if s.heading == "Request").paragraphs[0]
    assert in_sentence in opening, opening
    assert f"This is a {in_sentence.removeprefix('request a ')}" in " ".join(
        next(s for s in letter.sections if s.heading == "Level and deadline").paragraphs)


def test_a_level_the_letter_data_does_not_word_is_named_from_the_ladder_and_the_draft_says_so():
    # Medicare's fifth level (appeal_levels.toml) is a federal court review: named from the ladder, not worded here
    letter = compose_letter(request(necessity_task(appeal_level=5)), book())
    assert letter.title == "Federal district court review"
    assert any("appeal level 5" in note and "does not cover it" in note for note in letter.draft_notes)
    past = compose_letter(request(necessity_task(appeal_level=9)), book())
    assert past.title == "Federal district court review"
    assert any("appeal level 9" in note for note in past.draft_notes)


def test_one_letter_covers_the_claims_appealable_open_tasks_and_nothing_else():
    records = necessity_task(task_id="t-docs", category="documentation", amount_at_risk=Decimal("300.00"),
                             lines=(TaskLine("3", Decimal("300.00"), ("CO-252",), "77003", (), DOS),),
                             checklist=(ChecklistItem("op-note", "Operative note", True),))
    auth = necessity_task(task_id="t-auth", category="authorization", action="obtain_authorization")
    closed = necessity_task(task_id="t-won", category="coding", state="won")
    reopening = necessity_task(task_id="t-reopen", category="coding", action="reopening", appealable=False)
    letter = compose_letter(request(necessity_task(), records, auth, closed, reopening), book())
    assert letter.task_ids == ("t-necessity", "t-docs")  # the authorization task takes its own reconsideration
    assert dict(letter.reference)["Amount in dispute"] == "$2,100.00"
    headings = [s.heading for s in letter.sections]
    # the guidance line follows the epidural session of its date: its crosswalk shows what the records must carry
    assert "The requested documentation is enclosed: criteria crosswalk" in headings
    assert letter.enclosures == ("Current history and physical or progress notes",
                                 "Imaging report (MRI/CT) correlating the level and side", "Operative note")


def test_the_denied_lines_carry_the_codes_plain_meanings():
    table = _section(compose_letter(request(), book()), "Denied services").table
    assert table.rows[0][:5] == ("1", DOS.isoformat(),
                                 "64483 (lumbar/sacral transforaminal epidural steroid injection)", "64483-RT",
                                 "$1,200.00")
    assert table.rows[0][5] == ("CO-50: contractual obligation: the provider is liable and may not bill the patient; "
                                "payer deems the service not medically necessary. N115: decision based on a Local "
                                "Coverage Determination")


def test_an_unknown_code_is_named_as_unknown_not_guessed():
    r = request(decisions=denials(reason="Z99", remarks=("ZZ1",)))
    meaning = _section(compose_letter(r, book()), "Denied services").table.rows[0][5]
    assert meaning.startswith("CO-Z99: contractual obligation: the provider is liable and may not bill the patient; "
                              "a reason code our tables do not know")
    assert "ZZ1: a remark code our tables do not know" in meaning


def test_a_medicare_reopening_task_gets_a_reopening_request_not_an_appeal():
    task = necessity_task(task_id="t-reopen", category="coding", action="reopening", appealable=False,
                          deadline=dt.date(2027, 9, 1), deadline_basis="Medicare reopening: 1 year")
    letter = compose_letter(request(task, task_id="t-reopen", decisions=denials("t-reopen", "4", ())), book())
    assert (letter.kind, letter.title) == ("reopening", "Request for a clerical-error reopening")
    correction = _section(letter, "Correction requested")
    assert "42 CFR 405.980(a)(3)" in correction.paragraphs[0]
    assert correction.bullets[0].startswith("Line 1 (64483 (lumbar/sacral transforaminal epidural steroid "
                                            "injection), 2026-09-14): denied as CO-4; correction: [to complete:")
    assert all("criteria crosswalk" not in s.heading for s in letter.sections)
    assert _section(letter, "Level and deadline").paragraphs[0].startswith(
        "This is a request for a clerical-error reopening, addressed to the Medicare Administrative Contractor")


def test_a_commercial_reopening_uses_the_plans_reconsideration_wording():
    task = necessity_task(task_id="t-reopen", action="reopening", appealable=False)
    letter = compose_letter(request(task, task_id="t-reopen", claim=claim(payer_type="commercial")), book())
    assert letter.title == "Request to correct a processing error"


@pytest.mark.parametrize(("changes", "code"), [
    ({"action": "corrected_claim", "appealable": False}, "not_appealable"),
    ({"state": "written_off"}, "task_closed"),
])
def test_a_task_that_takes_no_letter_is_refused_with_a_stable_code(changes, code):
    with pytest.raises(LetterError) as err:
        compose_letter(request(necessity_task(**changes)), book())
    assert err.value.code == code


def test_an_unknown_task_is_refused():
    with pytest.raises(LetterError) as err:
        compose_letter(request(task_id="nope"), book())
    assert err.value.code == "task_not_found"


def test_a_timely_filing_appeal_cites_the_submission_dates_from_the_timeline_against_the_window():
    task = necessity_task(task_id="t-tf", category="timely_filing")
    r = request(task, task_id="t-tf", claim=claim(payer_type="commercial", first_accepted=DOS + dt.timedelta(days=3)))
    text = _section(compose_letter(r, book()), "The claim was filed within the filing window").paragraphs[0]
    assert ("The claim was first submitted on 2026-09-16, 2 days after the date of service (2026-09-14), within the "
            "filing window that closed on 2026-12-13 (commercial timely filing: 90 days after the date of service"
            in text)
    assert text.endswith("and accepted by the payer's front end on 2026-09-17. The enclosed proof of the original "
                         "submission shows the dates.")


def test_a_passed_deadline_and_items_not_gathered_are_flagged_for_the_sender():
    commercial = claim(payer_type="commercial", payer_id="BCBS-TX", payer_name="Blue Cross TX PPO")
    letter = compose_letter(request(necessity_task(deadline=TODAY - dt.timedelta(days=1)), claim=commercial), book())
    notes = " ".join(letter.draft_notes)
    assert "has passed" in notes
    assert "Not yet gathered (tick them on the checklist when enclosed): Imaging report (MRI/CT)" in notes
    assert letter.to_gather == ("Imaging report (MRI/CT) correlating the level and side",)


def test_an_item_done_on_one_task_is_enclosed_even_if_another_task_lists_it_undone():
    other = replace(necessity_task(task_id="t-2", category="documentation"),
                    checklist=(ChecklistItem("hp-notes", "Current history and physical or progress notes", False),))
    letter = compose_letter(request(necessity_task(), other), book())
    assert "Current history and physical or progress notes" in letter.enclosures
    assert "Current history and physical or progress notes" not in letter.to_gather
