"""A letter never says the claim carries a modifier it does not carry. An office visit bundled into an injection the
same day (CO-97 on 99202-99215) is argued with modifier 25 and the separately identifiable visit note (NCCI Policy
Manual, chapter I), never with 59 or an X modifier, and its checklist asks for no XS/XE/XU documentation; a
procedure bundled or denied as a duplicate names the distinct-service modifier only when the line carried one."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.letters import DenialForLetter, compose_letter, render_markdown
from service.domain.model import Procedure, SubmittedLine
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import book, claim, necessity_task, request

JUN_DOS = dt.date(2026, 6, 8)


def _bundled(code: str, modifiers: tuple[str, ...], *, family_partner: str = "27096", category: str = "bundling",
             reason: str = "97", payer_type: str = "commercial"):
    """A claim of `family_partner`-RT with `code` denied `CO-<reason>`; the checklist is the classifier's own."""
    family = book().pain.catalog.family(code)
    checklist = book().checklists.for_decision(category, family, action="corrected_claim")
    task = necessity_task(task_id="t-b", category=category, action="corrected_claim", appealable=True,
                          checklist=checklist,
                          lines=(TaskLine("3", Decimal("215.00"), (f"CO-{reason}",), code, modifiers, JUN_DOS),))
    submitted = (SubmittedLine("1", Procedure(family_partner, ("RT",)), Decimal("920.00"), Decimal(1), JUN_DOS),
                 SubmittedLine("3", Procedure(code, modifiers), Decimal("215.00"), Decimal(1), JUN_DOS))
    return request(task, task_id="t-b", history=(),
                   decisions=(DenialForLetter("t-b", "3", "CO", reason, (), Decimal("215.00"), code, modifiers,
                                              JUN_DOS, rule_id="pain.ncci.em_same_day"),),
                   claim=claim(payer_type=payer_type, payer_id="SUMMIT-PPO", payer_name="Summit Health Plan PPO",
                               service_date_from=JUN_DOS, service_date_to=JUN_DOS, submitted_lines=submitted,
                               diagnoses=("M46.1",)))


def _argument_text(letter) -> str:
    fixed = {"Request", "Denied services", "Level and deadline"}
    return " ".join(p for s in letter.sections if s.heading not in fixed for p in s.paragraphs)


def test_an_office_visit_without_25_bundled_into_an_injection_is_argued_with_modifier_25_never_an_x_modifier():
    letter = compose_letter(_bundled("99213", ()), book())
    text = _argument_text(letter)
    assert letter.sections[2].heading == "The visit was a significant, separately identifiable service"
    assert "significant, separately identifiable evaluation and management service" in text
    assert "Line 3 (99213) carried no modifier 25: a corrected claim reports the visit with modifier 25." \
        in text
    assert "modifiers on the claim" not in text and "which the modifiers" not in text
    for x in ("XS", "XE", "XU", "XP", "59"):
        assert x not in " ".join(letter.enclosures) and f" {x}" not in text
    assert any(e.startswith("Visit note documenting a significant, separately identifiable") for e in
               letter.enclosures)


def test_an_office_visit_billed_with_25_says_so():
    text = _argument_text(compose_letter(_bundled("99214", ("25",)), book()))
    assert "Line 3 (99214) carried modifier 25, which reports the visit as such." in text
    assert "no modifier 25" not in text


def test_the_checklist_of_an_office_visit_bundled_into_an_injection_asks_for_no_x_modifier_documentation():
    em = book().checklists.for_decision("bundling", "em")
    assert [i.id for i in em] == ["em-separate-note", "ncci-pair", "corrected-claim"]
    assert not any(x in i.text for i in em for x in ("XS", "XE", "XU", "59"))
    # a procedure bundled into another keeps the distinct-service documentation
    assert "distinct-service" in [i.id for i in book().checklists.for_decision("bundling", "facet_injection")]


@pytest.mark.parametrize(("modifiers", "expected"), [
    (("XS",), "Line 3 (64493) carried XS, the modifier of a distinct service."),
    ((), "Line 3 (64493) carried no modifier identifying the distinct service: [to complete:")])
def test_a_bundled_procedure_names_the_modifier_it_carried_and_none_it_did_not(modifiers, expected):
    text = _argument_text(compose_letter(_bundled("64493", modifiers, family_partner="64633"), book()))
    assert expected in text
    assert "modifiers on the claim" not in text


@pytest.mark.parametrize(("modifiers", "expected"), [
    (("LT",), "Line 3 (64493) carried LT, the modifier that tells the service apart."),
    ((), "Line 3 (64493) carried no modifier that tells the service apart")])
def test_a_duplicate_denial_names_only_the_modifiers_the_line_carried(modifiers, expected):
    letter = compose_letter(_bundled("64493", modifiers, family_partner="64493", category="duplicate",
                                     reason="18"), book())
    text = _argument_text(letter)
    assert expected in text and "modifiers on the claim" not in text


def test_the_modifiers_are_read_from_the_claim_as_billed_not_the_payers_reading():
    # the remittance shows 25 (the payer's echo) but the submitted line carried none: the letter says none
    r = _bundled("99213", ())
    echoed = replace(r.tasks[0], lines=(TaskLine("3", Decimal("215.00"), ("CO-97",), "99213", ("25",), JUN_DOS),))
    letter = compose_letter(replace(r, tasks=(echoed,)), book())
    assert "carried no modifier 25" in render_markdown(letter)


def test_several_lines_are_named_together_in_one_sentence():
    r = _bundled("64635", ("LT",), family_partner="64635", category="duplicate", reason="18")
    two = replace(r.tasks[0], lines=(TaskLine("2", Decimal("900"), ("OA-18",), "64635", ("LT",), JUN_DOS),
                                     TaskLine("4", Decimal("450"), ("OA-18",), "64636", ("LT",), JUN_DOS)))
    submitted = (SubmittedLine("2", Procedure("64635", ("LT",)), Decimal("900"), Decimal(1), JUN_DOS),
                 SubmittedLine("4", Procedure("64636", ("LT",)), Decimal("450"), Decimal(1), JUN_DOS))
    letter = compose_letter(replace(r, tasks=(two,), claim=replace(r.claim, submitted_lines=submitted)), book())
    assert "Lines 2 (64635) and 4 (64636) carried LT, the modifier that tells the service apart." in \
        _argument_text(letter)
