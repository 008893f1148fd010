"""Tasks whose next step is not an appeal get no letter with invented enclosures: a coordination-of-benefits denial
with no other payer's remittance on file is told to bill the other payer first, an eligibility denial with no 271 on
file to verify eligibility (the same answer whether or not a 277 also arrived), and a patient made liable (PR-50 with
GA) is billed, not appealed. Only what the facts support is drafted: another payer's remittance on file makes a COB
letter naming it; an MSP questionnaire is never enclosed for a commercial patient."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.letters import DenialForLetter, LetterError, compose_letter, render_markdown
from service.domain.model import ChecklistItem, OtherPayer
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, book, claim, necessity_task, request


def _refusal(r) -> LetterError:
    with pytest.raises(LetterError) as err:
        compose_letter(r, book())
    return err.value


def _task(category: str, action: str, reason: str, group: str = "CO", *, appealable: bool = True,
          modifiers: tuple[str, ...] = ("RT",), task_id: str = "t-x"):
    checklist = book().checklists.for_decision(category, "esi_transforaminal", action=action)
    task = necessity_task(task_id=task_id, category=category, action=action, appealable=appealable,
                          checklist=checklist,
                          lines=(TaskLine("1", Decimal("1200.00"), (f"{group}-{reason}",), "64483", modifiers,
                                          DOS),))
    decision = DenialForLetter(task_id, "1", group, reason, (), Decimal("1200.00"), "64483", modifiers, DOS)
    return task, decision


def _cob(**claim_changes):
    task, decision = _task("coordination_of_benefits", "rebill_other_payer", "22")
    return request(task, task_id="t-x", decisions=(decision,),
                   claim=claim(payer_type="commercial", payer_id="BCBS-TX", payer_name="Blue Cross TX PPO",
                               **claim_changes))


# -- coordination of benefits ----------------------------------------------------------------------------------------

def test_a_cob_denial_with_no_other_payer_on_file_is_told_to_bill_the_other_payer_first_not_appealed():
    err = _refusal(_cob())
    assert (err.code, err.details) == ("rebill_other_payer_recommended", {"recommendation": "rebill_other_payer"})
    assert err.message.startswith("No other payer is on file for this claim (the submission lists none), so nothing "
                                  "shows what another payer paid.")
    assert "Recommend billing the other payer first, not an appeal" in err.message


def test_a_cob_denial_names_the_listed_other_coverage_whose_remittance_is_not_on_file():
    err = _refusal(_cob(other_payers=(OtherPayer("AETNA-1", "commercial", "primary", "Aetna PPO"),)))
    assert err.code == "rebill_other_payer_recommended"
    assert err.message.startswith("The submission lists Aetna PPO as other coverage, but no remittance from it is on "
                                  "file")


def test_a_cob_letter_is_drafted_when_the_other_payers_remittance_is_on_file_and_encloses_no_msp_form():
    letter = compose_letter(_cob(other_payers=(OtherPayer("AETNA-1", "commercial", "primary", "Aetna PPO"),),
                                 adjudicated_by=("AETNA-1", "BCBS-TX")), book())
    text = render_markdown(letter)
    assert "Aetna PPO (AETNA-1) adjudicated the claim; its enclosed remittance" in text
    assert not any("MSP" in e for e in letter.enclosures)
    assert any(n.startswith("Not enclosed, as they do not apply to this claim: MSP questionnaire") for n in
               letter.draft_notes)


def test_a_medicare_cob_letter_keeps_the_msp_questionnaire():
    task, decision = _task("coordination_of_benefits", "appeal", "22")
    letter = compose_letter(request(task, task_id="t-x", decisions=(decision,),
                                    claim=claim(adjudicated_by=("AETNA-1", "MCR-JL"))), book())
    assert any("MSP" in e for e in letter.enclosures)


# -- eligibility -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("appealable", [True, False])  # False: a 277 F2:88 also arrived and re-routed the task
def test_the_same_co_27_gets_the_same_answer_whether_or_not_a_277_arrived(appealable):
    task, decision = _task("eligibility", "verify_eligibility", "27", appealable=appealable)
    err = _refusal(request(task, task_id="t-x", decisions=(decision,),
                           claim=claim(payer_type="commercial", payer_id="LAKESIDE-HMO", payer_name="Lakeside")))
    assert (err.code, err.details) == ("verify_eligibility_recommended", {"recommendation": "verify_eligibility"})
    assert err.message.startswith("No eligibility response (271) for the date of service is on file, so nothing "
                                  "shows the patient was covered. Recommend verifying eligibility and benefits")
    assert "enclosed" not in err.message


def test_an_eligibility_letter_needs_the_271_that_shows_coverage():
    task, decision = _task("eligibility", "verify_eligibility", "27")
    letter = compose_letter(request(task, task_id="t-x", decisions=(decision,),
                                    claim=claim(payer_type="commercial", payer_id="LAKESIDE-HMO",
                                                payer_name="Lakeside", eligibility_response=DOS)), book())
    assert (f"The enclosed eligibility response of {DOS.isoformat()} shows active coverage with Lakeside on the "
            "date of service.") in render_markdown(letter)


# -- the patient is liable -------------------------------------------------------------------------------------------

def test_a_pr_50_with_ga_is_billed_to_the_patient_not_appealed():
    task, decision = _task("medical_necessity", "bill_patient", "50", "PR", modifiers=("LT", "GA"))
    task = replace(task, checklist=(ChecklistItem("abn-signed", "The ABN the patient signed"),
                                    ChecklistItem("statement", "Patient statement")))
    err = _refusal(request(task, task_id="t-x", decisions=(decision,)))
    assert (err.code, err.details) == ("bill_patient_recommended", {"recommendation": "bill_patient"})
    assert "bill the patient (ABN on file)" in err.message and "PR-50" in err.message


def test_a_bill_patient_task_is_never_folded_into_another_tasks_appeal():
    bill, bill_decision = _task("medical_necessity", "bill_patient", "50", "PR", modifiers=("LT", "GA"),
                                task_id="t-bill")
    letter = compose_letter(request(necessity_task(), bill, decisions=(*request().decisions, bill_decision)),
                            book())
    assert letter.task_ids == ("t-necessity",)
