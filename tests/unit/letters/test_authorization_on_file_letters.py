"""An authorization the practice obtained but left off the claim (the classifier's rule auth.on_file: the register
held it when the denial arrived) is argued as obtained before the service with the number omitted, and the letter
encloses the approval; it is never a retrospective review. No retro-authorization letter says the services "could
not wait for the usual authorization process": nothing on file documents urgency."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.letters import DenialForLetter, compose_letter, render_markdown
from service.domain.model import ChecklistItem
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, book, claim, necessity_task, request

ON_FILE = ("CO-197 with M62 on 62321 (cervical/thoracic): precertification or authorization absent (reference "
           "2.2); authorization on file: corrected claim with REF*G1 PA89005787 (authorization PA89005787 for esi, "
           "valid 2026-07-22 to 2026-11-19); send a corrected claim.")
CHECKLIST = (ChecklistItem("esi-radicular", "Radicular findings on examination"),
             ChecklistItem("auth-letter", "Authorization approval letter with number, dates, CPT codes"),
             ChecklistItem("op-note", "Operative or procedure note for the date of service"),
             ChecklistItem("clinical-notes", "Clinical notes meeting the plan's criteria"),
             ChecklistItem("auth-request-proof", "Proof of a timely authorization request"),
             ChecklistItem("retro-auth", "Retro-authorization request where the plan allows it"),
             ChecklistItem("auth-on-claim", "Corrected claim carrying the authorization number (REF*G1)"))
AUG_DOS = dt.date(2026, 8, 21)


def _auth_request(payer_type: str, *, action: str = "corrected_claim", appealable: bool = True,
                  explanation: str = ON_FILE, rule_id: str = "auth.on_file", rule_ids: tuple[str, ...] = (),
                  dos: dt.date = AUG_DOS):
    task = necessity_task(task_id="t-auth", category="authorization", action=action, appealable=appealable,
                          explanation=explanation, rule_ids=rule_ids, checklist=CHECKLIST,
                          lines=(TaskLine("1", Decimal("1450.00"), ("CO-197",), "62321", (), dos),))
    decision = DenialForLetter("t-auth", "1", "CO", "197", ("M62",), Decimal("1450.00"), "62321", (), dos,
                               explanation=explanation, rule_id=rule_id)
    return request(task, task_id="t-auth", decisions=(decision,), history=(),
                   claim=claim(payer_type=payer_type, payer_id="BCBS-TX", payer_name="Blue Cross TX PPO",
                               service_date_from=dos, service_date_to=dos, diagnoses=("M50.121",)))


def _argument(letter):
    return next(s for s in letter.sections if s.heading.startswith("The services were authorized before"))


@pytest.mark.parametrize(("payer_type", "action", "appealable", "kind"), [
    ("commercial", "corrected_claim", True, "appeal"),
    # a 277 re-routed the task to "obtain the authorization": the register's match still decides the argument
    ("medicare_advantage", "obtain_authorization", False, "reconsideration")])
def test_an_authorization_on_file_is_argued_as_obtained_before_the_service_with_the_number_omitted(
        payer_type, action, appealable, kind):
    letter = compose_letter(_auth_request(payer_type, action=action, appealable=appealable), book())
    assert letter.kind == kind
    text = " ".join(_argument(letter).paragraphs)
    assert ("The practice obtained authorization PA89005787 for these services before they were provided: it is "
            "valid from 2026-07-22 to 2026-11-19, and the services were provided on 2026-08-21. The number was "
            "omitted from the claim.") in text
    markdown = render_markdown(letter)
    assert "retrospective" not in markdown and "could not wait" not in markdown
    assert letter.enclosures[:2] == ("Authorization approval letter with number, dates, CPT codes",
                                     "Operative or procedure note for the date of service")
    assert not any("Retro-authorization" in e or "timely authorization request" in e for e in letter.enclosures)
    assert any("REF*G1 PA89005787 is the quicker fix" in n for n in letter.draft_notes)
    assert any("issued before the date of service" in n for n in letter.draft_notes)


def test_the_tasks_own_rules_name_the_register_match_when_its_decisions_do_not():
    # the 277 status decision carries the task's action; the 835's auth.on_file decision carries the number
    r = _auth_request("medicare_advantage", action="obtain_authorization", appealable=False, rule_id="carc.197",
                      rule_ids=("status.F2.84", "auth.on_file"))
    letter = compose_letter(r, book())
    assert "authorization PA89005787" in " ".join(_argument(letter).paragraphs)


def test_an_authorization_not_in_force_on_the_date_of_service_is_not_said_to_precede_it():
    letter = compose_letter(_auth_request("commercial", dos=dt.date(2026, 12, 1)), book())
    text = " ".join(_argument(letter).paragraphs)
    assert "The practice obtained authorization PA89005787 for these services; the number was omitted" in text
    assert "before they were provided" not in text


def test_a_register_match_whose_number_cannot_be_read_leaves_it_to_fill_in():
    letter = compose_letter(_auth_request("commercial", explanation="CO-197: authorization on file."), book())
    assert "[to complete: its number and dates]" in " ".join(_argument(letter).paragraphs)


@pytest.mark.parametrize("with_history", [True, False])
def test_a_retro_authorization_letter_never_claims_urgency_nothing_documents(with_history):
    task = necessity_task(task_id="t-auth", category="authorization", action="obtain_authorization",
                          appealable=False, checklist=CHECKLIST)
    r = request(task, task_id="t-auth", claim=claim(payer_type="commercial", payer_id="PLAN", payer_name="Plan"),
                decisions=(DenialForLetter("t-auth", "1", "CO", "197", (), Decimal("1200.00"), "64483", ("RT",),
                                           DOS, rule_id="carc.197"),))
    if not with_history:  # no crosswalk: the plain text
        r = request(necessity_task(task_id="t-auth", category="authorization", action="obtain_authorization",
                                   appealable=False, checklist=CHECKLIST,
                                   lines=(TaskLine("1", Decimal("50"), ("CO-197",), "J1040", (), DOS),)),
                    task_id="t-auth", claim=claim(payer_type="commercial", payer_id="PLAN", payer_name="Plan",
                                                  submitted_lines=()))
    letter = compose_letter(r, book())
    markdown = render_markdown(letter)
    assert "Request for a retrospective review of the services" in markdown
    assert "could not wait" not in markdown and "usual authorization process" not in markdown


def test_an_authorization_number_on_the_claim_is_stated_without_an_issue_date_nothing_records():
    task = necessity_task(task_id="t-auth", category="authorization", action="obtain_authorization",
                          appealable=False, checklist=CHECKLIST)
    r = request(task, task_id="t-auth", claim=claim(payer_type="commercial", payer_id="PLAN", payer_name="Plan",
                                                    prior_authorization="AUTH-5521"))
    text = " ".join(next(s for s in compose_letter(r, book()).sections
                         if s.heading == "The services were authorized").paragraphs)
    assert "The claim carried authorization number AUTH-5521 (REF*G1)." in text
    assert "before the date of service" not in text


def test_a_claim_that_carried_a_number_is_argued_by_it_even_when_the_register_also_held_one():
    r = _auth_request("commercial")
    letter = compose_letter(replace(r, claim=replace(r.claim, prior_authorization="AUTH-5521")), book())
    headings = [s.heading for s in letter.sections]
    assert "The services were authorized" in headings
    assert "omitted from the claim" not in render_markdown(letter)
