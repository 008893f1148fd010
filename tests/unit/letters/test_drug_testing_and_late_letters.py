"""A urine drug test letter cites the MAC's drug testing LCD by number and encloses what drug testing needs (the
individual order naming each class, the presumptive result, the risk stratification, and for G0483 the reason for
22 or more classes), never an injection's records. A Medicare appeal drafted after its window closed asks for an
extension for good cause under the level's own section (42 CFR 405.942(b) for a redetermination, 405.962(b) for a
QIC reconsideration), with the reason left for the sender."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.letters import DenialForLetter, compose_letter, render_markdown
from service.domain.model import Procedure, SubmittedLine
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, TODAY, book, claim, necessity_task, request

INJECTION_WORDS = ("injection", "fluoroscopic", "Imaging report", "Conservative care", "Pain scores")


def _udt(code: str, payer_id: str = "MCR-JH", payer_name: str | None = "Medicare Part B (Jurisdiction H)",
         payer_type: str = "medicare"):
    checklist = book().checklists.for_decision("medical_necessity", book().pain.catalog.family(code),
                                               action="appeal")
    task = necessity_task(task_id="t-udt", checklist=checklist,
                          lines=(TaskLine("3", Decimal("650.00"), ("CO-50",), code, (), DOS),))
    return request(task, task_id="t-udt", history=(),
                   decisions=(DenialForLetter("t-udt", "3", "CO", "50", ("N115",), Decimal("650.00"), code, (),
                                              DOS),),
                   claim=claim(payer_id=payer_id, payer_name=payer_name, payer_type=payer_type,
                               diagnoses=("Z79.891", "G89.4"),
                               submitted_lines=(SubmittedLine("3", Procedure(code, ()), Decimal("650.00"),
                                                              Decimal(1), DOS),)))


def _argument(letter) -> str:
    return " ".join(next(s for s in letter.sections if s.heading.startswith("The drug tests")).paragraphs)


def test_a_definitive_drug_test_letter_cites_the_macs_drug_testing_lcd_and_encloses_what_drug_testing_needs():
    letter = compose_letter(_udt("G0483"), book())
    text = _argument(letter)
    assert ("Under LCD L35006 (Controlled Substance Monitoring and Drugs of Abuse Testing) and its billing and coding "
            "article [to complete: the article number], Novitas Solutions (jurisdiction JH), drug testing is covered "
            "when it is ordered for the individual patient") in text
    assert text.endswith("For G0483 (22 or more drug classes), the enclosed justification gives the clinical reason "
                         "for each class tested beyond 21.")
    enclosures = " | ".join(letter.enclosures)
    for needed in ("naming each drug class tested", "presumptive (screening) result", "risk stratification",
                   "For G0483 (22 or more drug classes)"):
        assert needed in enclosures
    for word in INJECTION_WORDS:
        assert word not in enclosures, word
    assert "[to complete: the LCD and billing article numbers" not in render_markdown(letter)


def test_a_test_of_fewer_classes_neither_encloses_nor_argues_the_22_class_justification():
    letter = compose_letter(_udt("G0481"), book())
    assert "22 or more" not in _argument(letter)
    assert not any("G0483" in e for e in letter.enclosures)
    assert any(n.startswith("Not enclosed, as they do not apply to this claim: For G0483") for n in
               letter.draft_notes)


@pytest.mark.parametrize(("payer_id", "lcd", "verify"), [
    ("MCR-JL", "L35006", False), ("MCR-J15", "L36029", True), ("MCR-JN", "L36393", True), ("MCR-JM", "L35724", True),
    ("MCR-JE", "L36668", True)])
def test_each_macs_drug_testing_lcd_is_on_file_and_marked_to_verify_where_one_source_gave_it(payer_id, lcd, verify):
    letter = compose_letter(_udt("G0481", payer_id=payer_id, payer_name=None), book())
    assert f"LCD {lcd} (" in _argument(letter)
    assert any(n.startswith(f"Confirm LCD {lcd}") for n in letter.draft_notes) is verify


def test_a_plan_without_its_own_drug_testing_policy_on_file_is_never_cited_a_medicare_lcd():
    letter = compose_letter(_udt("G0481", payer_id="MCD-TX", payer_name="State Medicaid", payer_type="medicaid"),
                            book())
    text = _argument(letter)
    assert "the plan's medical policy for drug testing" in text
    assert "LCD" not in text and "covered when" not in text  # nothing on file says what the plan covers


# -- a request after the window closed -------------------------------------------------------------------------------

def _late(level: int = 1, payer_type: str = "medicare", days_late: int = 97):
    task = necessity_task(appeal_level=level, deadline=TODAY - dt.timedelta(days=days_late))
    return request(task, claim=claim(payer_type=payer_type) if payer_type != "medicare" else claim())


@pytest.mark.parametrize(("level", "authority"), [(1, "42 CFR 405.942(b)"), (2, "42 CFR 405.962(b)")])
def test_a_late_medicare_appeal_asks_for_an_extension_for_good_cause_with_the_reason_to_complete(level, authority):
    letter = compose_letter(_late(level), book())
    section = next(s for s in letter.sections if s.heading == "Request to extend the time for filing (good cause)")
    (text,) = section.paragraphs
    deadline = (TODAY - dt.timedelta(days=97)).isoformat()
    assert text.startswith(f"This request is filed after the window closed on {deadline}. Under {authority} we ask ")
    assert ("because [to complete: the circumstances that kept the request from being filed on time, with their "
            "dates]") in text
    assert letter.enclosures[-1] == "Documents supporting the good-cause reason for the late request"
    deadline_section = next(s for s in letter.sections if s.heading == "Level and deadline")
    assert deadline_section.paragraphs[1].startswith(f"The window closed on {deadline} (")
    assert "must reach" not in deadline_section.paragraphs[1]
    markdown = render_markdown(letter)
    assert "405.980" not in markdown and "405.986" not in markdown
    assert any(n.startswith(f"The window closed on {deadline}: the letter asks for an extension for good cause "
                            f"({authority})") for n in letter.draft_notes)


def test_an_appeal_inside_its_window_or_to_another_payer_type_has_no_good_cause_section():
    for r in (request(), _late(payer_type="commercial")):
        letter = compose_letter(r, book())
        assert not any("good cause" in s.heading for s in letter.sections)
    assert any("has passed: check for a good-cause exception" in n
               for n in compose_letter(_late(payer_type="commercial"), book()).draft_notes)
