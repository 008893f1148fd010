"""The LCD criteria crosswalk: each criterion's evidence comes from the claim history; what the history cannot
show is "to document", and what it contradicts is "not met"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain.letters import compose_letter
from service.domain.letters.crosswalk import appealed_sessions, crosswalk
from service.domain.model import Procedure, SubmittedLine
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, book, claim, necessity_task, request, session


def _rows(r) -> dict[str, tuple[str, str]]:
    return {row.criterion: (row.evidence, row.status) for row in compose_letter(r, book()).crosswalk}


def test_a_repeat_lumbar_tfesi_with_history_meets_duration_care_levels_and_sessions():
    rows = _rows(request())
    first_visit = (DOS - dt.timedelta(weeks=20)).isoformat()
    assert rows["Pain duration"] == (f"care for this patient on file since {first_visit} (20 weeks before the "
                                     "procedure)", "met")
    assert rows["Conservative care"][1] == "met" and "physical therapy or manipulation billed on 2 dates" in \
        rows["Conservative care"][0]
    assert rows["Imaging"] == ("the MRI or CT report is enclosed; image guidance is part of code 64483",
                               "to document")
    earlier = (DOS - dt.timedelta(days=90)).isoformat()
    # a repeat ESI is judged by the payer's repeat criterion, as its decision was: the relief is not on file
    assert rows["Prior relief"] == (
        "repeat procedure: the repeat criterion (at least 50% sustained relief of pain or improvement in function, "
        f"lasting at least 3 months) cannot be decided: the relief after the session of {earlier} is not on file; the "
        "enclosed notes record the relief and how long it lasted", "to document")
    assert rows["Levels per session"] == (f"2 levels billed on {DOS.isoformat()} (a bilateral level counts once)",
                                          "met")
    assert rows["Sessions in 12 months"] == (
        f"1 earlier lumbar/sacral epidural steroid injection session in the 12 months before ({earlier}); limit 4",
        "met")


def test_without_history_the_criteria_are_to_document_and_a_first_injection_needs_no_prior_relief():
    rows = _rows(request(history=()))
    assert rows["Pain duration"][1] == "to document"
    assert rows["Conservative care"][1] == "to document"
    assert rows["Prior relief"] == ("no earlier procedure of this kind in the lumbar/sacral region in the 12 months "
                                    "before: this is the first, so no earlier relief is required", "met")
    assert rows["Sessions in 12 months"][1] == "met"


def test_a_short_history_does_not_claim_the_duration():
    recent = (session("PC-90", DOS - dt.timedelta(weeks=2), "99204"),)
    evidence, status = _rows(request(history=recent))["Pain duration"]
    assert status == "to document" and "(2 weeks before the procedure)" in evidence


def test_four_earlier_sessions_in_the_region_exceed_the_limit():
    earlier = tuple(session(f"PC-8{i}", DOS - dt.timedelta(days=40 * (i + 1)), "64483", "RT") for i in range(4))
    r = request(history=earlier)
    (appealed,) = appealed_sessions(r.tasks[0].lines, book())
    rows = {row.criterion: row for row in crosswalk(appealed, r, book())}
    assert rows["Sessions in 12 months"].status == "not met"
    assert "4 earlier lumbar/sacral epidural steroid injection sessions" in rows["Sessions in 12 months"].evidence


def test_denied_and_other_region_sessions_do_not_count():
    history = (session("PC-80", DOS - dt.timedelta(days=30), "64483", "RT", paid=False),
               session("PC-81", DOS - dt.timedelta(days=60), "64479", "RT"),  # cervical
               session("PC-82", DOS - dt.timedelta(days=400), "64483", "RT"))  # outside 12 months
    assert _rows(request(history=history))["Sessions in 12 months"][0].startswith(
        "0 earlier lumbar/sacral epidural steroid injection sessions in the 12 months before; limit 4")


def test_three_transforaminal_levels_in_one_session_are_not_met():
    lines = (SubmittedLine("1", Procedure("64483", ("RT",)), Decimal("1200"), Decimal(1), DOS),
             SubmittedLine("2", Procedure("64484", ("RT",)), Decimal("600"), Decimal(2), DOS))
    evidence, status = _rows(request(claim=claim(submitted_lines=lines)))["Levels per session"]
    assert (evidence.split(" (")[0], status) == (f"3 levels billed on {DOS.isoformat()}", "not met")


def test_an_interlaminar_injection_without_image_guidance_does_not_meet_the_imaging_criterion():
    task = necessity_task(lines=(TaskLine("1", Decimal("900"), ("CO-50",), "62322", (), DOS),))
    lines = (SubmittedLine("1", Procedure("62322"), Decimal("900"), Decimal(1), DOS),)
    evidence, status = _rows(request(task, claim=claim(submitted_lines=lines)))["Imaging"]
    assert status == "not met" and "no image guidance on the claim for 62322" in evidence


def test_an_rfa_without_diagnostic_blocks_on_file_is_not_met_and_with_two_is_to_document():
    task = necessity_task(lines=(TaskLine("1", Decimal("1500"), ("CO-50",), "64635", ("RT",), DOS),))
    lines = (SubmittedLine("1", Procedure("64635", ("RT",)), Decimal("1500"), Decimal(1), DOS),)
    base = dict(claim=claim(submitted_lines=lines))
    evidence, status = _rows(request(task, history=(), **base))["Prior relief"]
    assert status == "not met" and "no diagnostic medial branch blocks on file" in evidence
    blocks = (session("PC-70", DOS - dt.timedelta(days=60), "64493", "KX"),
              session("PC-71", DOS - dt.timedelta(days=40), "64493", "KX"))
    evidence, status = _rows(request(task, history=blocks, **base))["Prior relief"]
    assert status == "to document" and evidence.startswith("earlier procedures on ")
    assert ("LCD L34892 (Facet Joint Interventions for Pain Management) and its billing and coding article A56670, "
            "Novitas Solutions (jurisdiction JL)") in compose_letter(request(task, history=blocks, **base),
                                                                     book()).sections[2].paragraphs[0]


def test_a_commercial_payer_is_held_to_its_own_medical_policy():
    letter = compose_letter(request(claim=claim(payer_type="commercial")), book())
    argument = next(s for s in letter.sections if "crosswalk" in s.heading)
    assert "the plan's medical policy for epidural steroid injections" in argument.paragraphs[0]


def test_a_non_pain_procedure_gets_the_argument_without_a_crosswalk():
    task = necessity_task(lines=(TaskLine("1", Decimal("200"), ("CO-50",), "99214", (), DOS),))
    letter = compose_letter(request(task), book())
    assert letter.crosswalk == ()
    assert any(s.heading == "The services were medically necessary" for s in letter.sections)


def test_without_a_crosswalk_the_argument_points_at_no_table_below():
    # a definitive urine drug test (G0483) or an office visit has no LCD crosswalk: the argument must not say
    # "the crosswalk below" or "listed below" when the letter has no such table
    for category in ("medical_necessity", "frequency_limit"):
        task = necessity_task(category=category,
                              lines=(TaskLine("1", Decimal("200"), ("CO-50",), "G0483", (), DOS),))
        letter = compose_letter(request(task), book())
        assert letter.crosswalk == ()
        heading = book().argument_for(category, ["50"], families=["udt_definitive"]).heading_for(False)
        argument = next(s for s in letter.sections if s.heading == heading)
        assert argument.table is None
        text = " ".join(argument.paragraphs)
        assert "below" not in text, text
        assert "the enclosed" in text
