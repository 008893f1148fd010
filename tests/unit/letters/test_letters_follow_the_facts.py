"""A letter is built from the claim's facts, never against them: a claim filed after its window gets a write-off
recommendation, a session past its limit is never argued "within the limits" or as medically necessary, an epidural
billed for axial pain only is corrected or written off rather than argued, and the letter names the patient, the
MAC's LCD and article by number and every checklist item; authorization denials get a reconsideration where the
payer type takes one."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.letters import DatedDiagnoses, DenialForLetter, LetterError, compose_letter, render_markdown
from service.domain.model import ChecklistItem, PatientIdentifiers, Procedure, SubmittedLine
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, book, claim, denials, necessity_task, request, session

JAN_DOS = dt.date(2026, 1, 8)


def _refusal(r) -> LetterError:
    with pytest.raises(LetterError) as err:
        compose_letter(r, book())
    return err.value


def _text(letter) -> str:
    return render_markdown(letter)


# -- 1. timely filing: the first submission against the payer's window ---------------------------------------------

def _late_filing(first_submitted: dt.date | None, payer_type: str = "commercial"):
    task = necessity_task(task_id="t-tf", category="timely_filing",
                          lines=(TaskLine("1", Decimal("1200.00"), ("CO-29",), "64483", ("RT",), JAN_DOS),))
    return request(task, task_id="t-tf", decisions=(
        DenialForLetter("t-tf", "1", "CO", "29", (), Decimal("1200.00"), "64483", ("RT",), JAN_DOS),),
        claim=claim(payer_type=payer_type, payer_id="BCBS-TX", payer_name="Blue Cross TX PPO",
                    service_date_from=JAN_DOS, service_date_to=JAN_DOS, first_submitted=first_submitted))


def test_a_claim_first_submitted_193_days_after_service_against_a_90_day_window_gets_a_write_off_not_an_appeal():
    err = _refusal(_late_filing(JAN_DOS + dt.timedelta(days=193)))
    assert err.code == "write_off_recommended" and err.details == {"recommendation": "write_off"}
    assert err.message.startswith("The claim was first submitted on 2026-07-20, 193 days after the date of service "
                                  "(2026-01-08), after the filing window closed on 2026-04-08 (commercial timely "
                                  "filing: 90 days after the date of service")
    assert "Recommend a write-off of the denied balance, not an appeal." in err.message
    assert "filed on time" not in err.message


def test_a_claim_filed_inside_its_window_is_argued_with_the_dates_that_prove_it():
    letter = compose_letter(_late_filing(JAN_DOS + dt.timedelta(days=20)), book())
    argument = next(s for s in letter.sections if s.heading == "The claim was filed within the filing window")
    assert ("first submitted on 2026-01-28, 20 days after the date of service (2026-01-08), within the filing window "
            "that closed on 2026-04-08") in argument.paragraphs[0]


def test_without_any_submission_on_file_there_is_no_proof_of_timely_filing():
    err = _refusal(_late_filing(None))
    assert err.code == "write_off_recommended"
    assert err.message.startswith("No submission of this claim is on file, so nothing shows when it was first filed.")


def test_the_filing_window_is_the_payer_types_medicare_advantage_counts_twelve_months():
    letter = compose_letter(_late_filing(JAN_DOS + dt.timedelta(days=193), payer_type="medicare_advantage"), book())
    assert letter.kind == "appeal"


# -- 2. frequency: never "within the limits" when the limit was used up --------------------------------------------

def _four_earlier():
    return tuple(session(f"PC-8{i}", DOS - dt.timedelta(days=40 * (i + 1)), "64483", "RT") for i in range(4))


@pytest.mark.parametrize(("category", "reason"), [("frequency_limit", "119"), ("frequency_limit", "151"),
                                                  ("medical_necessity", "151"), ("medical_necessity", "50")])
def test_a_session_past_its_limit_is_a_write_off_with_its_prevention_never_a_within_limits_or_necessity_letter(
        category, reason):
    task = necessity_task(category=category)
    err = _refusal(request(task, history=_four_earlier(), decisions=denials(reason=reason, remarks=())))
    assert err.code == "write_off_recommended"
    assert "4 earlier lumbar/sacral epidural steroid injection sessions in the 12 months before" in err.message
    assert "limit 4. The limit was exceeded" in err.message
    assert "Advance Beneficiary Notice (modifier GA)" in err.message  # Medicare: the ABN prevents the next one


def test_a_drug_denied_alone_follows_the_session_of_its_procedure_past_the_limit():
    drug = necessity_task(lines=(TaskLine("3", Decimal("48.00"), ("CO-151",), "J1040", ("JZ",), DOS),))
    lines = (SubmittedLine("1", Procedure("64483", ("RT",)), Decimal("1200.00"), Decimal(1), DOS),
             SubmittedLine("3", Procedure("J1040", ("JZ",)), Decimal("48.00"), Decimal(1), DOS))
    r = request(drug, history=_four_earlier(), claim=claim(submitted_lines=lines),
                decisions=(DenialForLetter("t-necessity", "3", "CO", "151", (), Decimal("48.00"), "J1040", ("JZ",),
                                           DOS),))
    err = _refusal(r)
    assert err.code == "write_off_recommended" and err.message.startswith("64483 on 2026-09-14")
    alone = compose_letter(replace(r, history=()), book())  # under the limit: the session's crosswalk, as met
    assert {row.criterion: row.status for row in alone.crosswalk}["Sessions in 12 months"] == "met"


def test_without_a_session_to_count_the_letter_does_not_assert_the_limit():
    visit = necessity_task(lines=(TaskLine("1", Decimal("200.00"), ("CO-151",), "99214", (), DOS),))
    letter = compose_letter(request(visit, decisions=()), book())
    assert "The number of services billed is supported by the record" in [s.heading for s in letter.sections]
    assert "within the coverage limits" not in _text(letter)


def test_a_co_151_under_the_limit_is_answered_with_the_sessions_not_with_medical_necessity():
    task = necessity_task(category="medical_necessity")  # the classifier's category when history is under the limit
    letter = compose_letter(request(task, decisions=denials(reason="151", remarks=())), book())
    headings = [s.heading for s in letter.sections]
    assert "The sessions are within the coverage limits: criteria crosswalk" in headings
    assert not any("medically necessary" in h for h in headings)
    sessions = {row.criterion: row.status for row in letter.crosswalk}["Sessions in 12 months"]
    assert sessions == "met"


def test_a_past_limit_task_beside_the_asked_one_is_left_out_with_the_reason():
    frequency = necessity_task(task_id="t-freq", category="frequency_limit",
                               lines=(TaskLine("5", Decimal("400.00"), ("CO-119",), "64483", ("LT",), DOS),))
    records = necessity_task(task_id="t-docs", category="documentation",
                             lines=(TaskLine("3", Decimal("300.00"), ("CO-252",), "99214", (), DOS),))
    letter = compose_letter(request(records, frequency, task_id="t-docs", history=_four_earlier()), book())
    assert letter.task_ids == ("t-docs",)
    assert any(n.startswith("The frequency limit task") and "is left out of this letter" in n
               for n in letter.draft_notes)
    assert "within the coverage limits" not in _text(letter)


# -- 3. an epidural billed for axial pain only ----------------------------------------------------------------------

def _axial(payer_type: str = "medicare", other: tuple[DatedDiagnoses, ...] = (), diagnoses=("M54.50",)):
    return request(claim=claim(payer_type=payer_type, diagnoses=diagnoses), other_diagnoses=other)


def test_an_epidural_for_axial_pain_only_with_no_radiculopathy_on_file_is_a_write_off_not_a_necessity_appeal():
    err = _refusal(_axial())
    assert err.code == "write_off_recommended"
    assert err.message.startswith("Line 1 (64483, 2026-09-14) was billed with M54.50 (axial pain only), which LCD "
                                  "L39015 (Epidural Steroid Injections for Pain Management)")
    assert "needs radicular pain or radiculopathy, and nothing on file shows" in err.message


def test_with_radiculopathy_on_the_patients_record_medicare_gets_a_diagnosis_correction_by_reopening():
    earlier = (DatedDiagnoses(DOS - dt.timedelta(days=30), ("M54.16", "M51.16")),)
    letter = compose_letter(_axial(other=earlier), book())
    assert (letter.kind, letter.title) == ("reopening", "Request for a clerical-error reopening")
    correction = next(s for s in letter.sections if s.heading == "Correction requested")
    assert "correction: diagnosis: report the radicular pain or radiculopathy the record documents for this date " \
           "(on file: M51.16, M54.16) in place of M54.50" in correction.bullets[0]
    assert not any("medically necessary" in s.heading for s in letter.sections)
    assert any(n.startswith("A reopening, not an appeal: Line 1 (64483") for n in letter.draft_notes)


def test_a_radicular_code_on_the_claim_that_the_line_does_not_point_to_is_a_correction_too():
    lines = (SubmittedLine("1", Procedure("64483", ("RT",)), Decimal("1200.00"), Decimal(1), DOS, (1,)),
             SubmittedLine("2", Procedure("64484", ("RT",)), Decimal("600.00"), Decimal(1), DOS, (1,)))
    r = replace(_axial(diagnoses=("M54.50", "M54.16")), claim=claim(diagnoses=("M54.50", "M54.16"),
                                                                   submitted_lines=lines))
    assert compose_letter(r, book()).kind == "reopening"


def test_other_payers_get_a_corrected_claim_recommendation_for_the_diagnosis():
    earlier = (DatedDiagnoses(DOS - dt.timedelta(days=30), ("M54.16",)),)
    err = _refusal(_axial(payer_type="commercial", other=earlier))
    assert err.code == "corrected_claim_recommended"
    assert "M54.16 billed for this patient on 2026-08-15" in err.message


def test_a_radicular_diagnosis_is_argued_as_before():
    assert compose_letter(_axial(diagnoses=("M54.16",)), book()).kind == "appeal"


# -- 4. the patient, the policy by number, the enclosures, authorization reconsiderations ------------------------

def test_the_letter_names_the_patient_member_id_and_birth_date_read_for_it():
    patient = PatientIdentifiers(name="DOE, JANE", member_id="1EG4TE5MK72", birth_date=dt.date(1948, 3, 2))
    reference = dict(compose_letter(request(patient=patient), book()).reference)
    assert (reference["Patient"], reference["Member id"], reference["Date of birth"]) == (
        "DOE, JANE", "1EG4TE5MK72", "1948-03-02")


def test_without_a_key_the_letter_says_the_identifiers_are_withheld():
    withheld = "withheld: this service has no key to read patient identifiers (DENIALS_PHI_KEY is not set)"
    letter = compose_letter(request(patient_withheld=withheld), book())
    assert dict(letter.reference)["Member id"] == f"[{withheld}]"
    assert any(withheld in n for n in letter.draft_notes)


@pytest.mark.parametrize(("payer_id", "name", "expected"), [
    ("MCR-JL", None, "LCD L39015 (Epidural Steroid Injections for Pain Management) and its billing and coding "
                     "article A58731, Novitas Solutions (jurisdiction JL)"),
    ("MCR-JF", None, "LCD L39240 (Epidural Steroid Injections for Pain Management) and its billing and coding "
                     "article A58993, Noridian Healthcare Solutions (jurisdiction JF)"),
    ("04412", "Novitas", "LCD L39015"),
    ("MEDICARE-PARTB", "Medicare Part B (Jurisdiction H)", "LCD L39015"),
])
def test_the_lcd_is_cited_by_the_macs_numbers_never_as_a_family(payer_id, name, expected):
    letter = compose_letter(request(claim=claim(payer_id=payer_id, payer_name=name)), book())
    text = _text(letter)
    assert expected in " ".join(" ".join(s.paragraphs) for s in letter.sections)
    assert "family" not in text
    assert any(n.startswith("Confirm LCD L39") for n in letter.draft_notes)  # these rows are marked to verify


def test_an_unknown_jurisdiction_leaves_the_numbers_to_fill_in():
    letter = compose_letter(request(claim=claim(payer_id="MEDICARE", payer_name="Medicare")), book())
    argument = next(s for s in letter.sections if "crosswalk" in s.heading).paragraphs[0]
    assert "the Medicare LCD Epidural Steroid Injections for Pain Management of the claim's MAC" in argument
    assert "[to complete: the LCD and article numbers]" in argument


def test_the_enclosures_are_the_tasks_checklist_gathered_or_not():
    task = necessity_task(checklist=(ChecklistItem("hp-notes", "Progress notes"),
                                     ChecklistItem("imaging-report", "Imaging report")))
    letter = compose_letter(request(task), book())
    assert letter.enclosures == ("Progress notes", "Imaging report")
    assert letter.to_gather == ("Progress notes", "Imaging report")


def _auth(payer_type: str, prior_authorization: str | None = None):
    task = necessity_task(task_id="t-auth", category="authorization", action="obtain_authorization",
                          appealable=False,
                          checklist=(ChecklistItem("auth-letter", "Authorization approval letter"),
                                     ChecklistItem("op-note", "Operative note")))
    return request(task, task_id="t-auth", decisions=denials("t-auth", "197", ()),
                   claim=claim(payer_type=payer_type, payer_id="PLAN", payer_name="The Plan",
                               prior_authorization=prior_authorization))


@pytest.mark.parametrize(("payer_type", "title"), [
    ("medicare_advantage", "Medicare Advantage plan reconsideration"),
    ("commercial", "Reconsideration of an authorization denial")])
def test_an_authorization_denial_gets_a_reconsideration_where_the_payer_type_takes_one(payer_type, title):
    letter = compose_letter(_auth(payer_type), book())
    assert (letter.kind, letter.title) == ("reconsideration", title)
    headings = [s.heading for s in letter.sections]
    assert "Request for a retrospective review of the services: criteria crosswalk" in headings
    # a retrospective review has no approval to enclose: the item stays on the task, the notes say so
    assert letter.enclosures[0] == "Operative note"
    assert not any("Authorization approval" in e for e in letter.enclosures)
    assert "Not enclosed, as this letter does not argue them: Authorization approval letter." in letter.draft_notes


def test_an_authorization_on_the_claim_is_argued_as_authorized():
    letter = compose_letter(_auth("commercial", "AUTH-5521"), book())
    argument = next(s for s in letter.sections if s.heading == "The services were authorized")
    assert "authorization number AUTH-5521" in argument.paragraphs[0]
    assert letter.enclosures == ("Authorization approval letter", "Operative note")


@pytest.mark.parametrize(("payer_type", "start"), [
    ("medicare", "Original Medicare takes no reconsideration of a missing authorization"),
    ("medicaid", "State Medicaid programs handle authorization denials under their own rules"),
    ("workers_comp", "A workers' compensation authorization denial is a utilization-review decision")])
def test_other_payer_types_get_the_reason_there_is_no_reconsideration(payer_type, start):
    err = _refusal(_auth(payer_type))
    assert err.code == "reconsideration_not_available" and err.message.startswith(start)
