"""A letter follows the payer's own coverage policy, the one its decision was judged by: a Medicare claim's decision
and its letter cite the same MAC LCD and billing article (one data file, one jurisdiction resolution, the same
`verify` marks); a Medicaid, commercial or workers' comp letter is never held to a Medicare limit or LCD, and where
the plan's policy is not on file the letter leaves its criteria for the sender to fill in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest

from service.domain import model
from service.domain.classification import load_classifier
from service.domain.letters import DenialForLetter, compose_letter, render_markdown
from service.domain.model import Procedure, SubmittedLine
from service.domain.tasks import TaskLine
from tests.unit.letters.builders import DOS, book, claim, necessity_task, request, session

_NUMBERS = re.compile(r"\b(?:L|A)\d{5}\b")


def _frequency_claim(payer_id: str, payer_name: str | None, code: str, mods: tuple[str, ...],
                     earlier: tuple[str, ...]):
    """A Medicare CO-151 on `code`, with one earlier session of it (`earlier`: its modifiers) 200 days before: the
    decision and the letter."""
    history = [model.HistorySession(claim_id="OLD-1", line_id="1", service_date=DOS - dt.timedelta(days=200),
                                    procedure=Procedure(code, earlier), paid=True)]
    remit = model.Remittance(
        event_id="rm-1", occurred_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        payer=model.Payer(payer_id, "medicare", payer_name), claim_id="PC-100", status_code="1",
        total_charge=Decimal("1500.00"), total_paid=Decimal("0.00"), production_date=dt.date(2026, 9, 30),
        filing_indicator="MB", service_date_from=DOS, service_date_to=DOS, patient_key="P-1",
        lines=(model.RemitLine(line_id="1", procedure=Procedure(code, mods), charge=Decimal("1500.00"),
                               paid=Decimal("0.00"), units=Decimal(1), service_date=DOS,
                               adjustments=(model.Adjustment("CO", "151", Decimal("1500.00")),)),))
    (decision,) = load_classifier().classify(remit, facts=None, history=history, as_of=dt.date(2026, 10, 2))
    task = necessity_task(category=decision.category,
                          lines=(TaskLine("1", Decimal("1500.00"), ("CO-151",), code, mods, DOS),))
    letter = compose_letter(request(
        task, history=tuple(history),
        decisions=(DenialForLetter("t-necessity", "1", "CO", "151", (), Decimal("1500.00"), code, mods, DOS),),
        claim=claim(payer_id=payer_id, payer_name=payer_name,
                    submitted_lines=(SubmittedLine("1", Procedure(code, mods), Decimal("1500.00"), Decimal(1),
                                                   DOS),))), book())
    return decision, letter


@pytest.mark.parametrize(("payer_id", "payer_name", "code", "mods", "earlier", "lcd", "article", "verify"), [
    # Novitas JL epidural (numbers marked to verify), by the MCR-J.. payer id
    ("MCR-JL", None, "64483", ("RT",), ("RT",), "L39015", "A58731", True),
    # Novitas JH diagnostic facet injection, by the MAC contractor number of the payer id table
    ("04412", "Novitas Solutions", "64493", ("RT", "KX"), ("RT", "KX"), "L34892", "A56670", False),
    # Noridian JF facet ablation (the other side before), by the jurisdiction in the payer's name
    ("MEDICARE-B", "Medicare Part B (Jurisdiction F)", "64635", ("RT",), ("LT",), "L38803", "A58405", False),
])
def test_a_decision_and_its_letter_cite_the_same_lcd_and_article(payer_id, payer_name, code, mods, earlier, lcd,
                                                                  article, verify):
    decision, letter = _frequency_claim(payer_id, payer_name, code, mods, earlier)
    assert decision.action == "appeal", decision.explanation
    text = " ".join(p for s in letter.sections for p in s.paragraphs)
    assert set(_NUMBERS.findall(decision.explanation)) == set(_NUMBERS.findall(text)) == {lcd, article}
    assert f"LCD {lcd}" in decision.explanation and f"billing article {article}" in decision.explanation
    assert f"LCD {lcd}" in text and f"billing and coding article {article}" in text
    # the verify mark carries through to both: [verify] in the explanation, a note to confirm in the letter
    assert ("[verify]" in decision.explanation) is verify
    assert any(n.startswith(f"Confirm LCD {lcd} and article {article}") for n in letter.draft_notes) is verify


def test_without_a_known_jurisdiction_neither_the_decision_nor_the_letter_names_a_number():
    decision, letter = _frequency_claim("MEDICARE", "Medicare", "64483", ("RT",), ("RT",))
    assert not _NUMBERS.findall(decision.explanation) and not _NUMBERS.findall(render_markdown(letter))
    assert "the Medicare LCD Epidural Steroid Injections for Pain Management of the claim's MAC (its number is not " \
           "on file)" in decision.explanation and "[verify]" in decision.explanation
    assert "[to complete: the LCD and article numbers]" in render_markdown(letter)


# -- the payer's own policy -------------------------------------------------------------------------------------------

def _body(letter) -> str:
    """What the payer reads: headings, paragraphs, bullets and tables (not the draft notes to the sender)."""
    parts = [letter.title, letter.level]
    for s in letter.sections:
        parts += [s.heading, *s.paragraphs, *s.bullets, *s.after]
        if s.table is not None:
            parts += [cell for row in s.table.rows for cell in row]
    return "\n".join(parts)


def _four_lumbar_esi():
    return tuple(session(f"PC-8{i}", DOS - dt.timedelta(days=40 * (i + 1)), "64483", "RT") for i in range(4))


def _frequency_request(payer_type: str, payer_id: str, payer_name: str, history):
    task = necessity_task(category="frequency_limit", deadline_basis="the plan's appeal window",
                          lines=(TaskLine("1", Decimal("1200.00"), ("CO-151",), "64483", ("RT",), DOS),))
    return request(task, history=history,
                   decisions=(DenialForLetter("t-necessity", "1", "CO", "151", (), Decimal("1200.00"), "64483",
                                              ("RT",), DOS),),
                   claim=claim(payer_type=payer_type, payer_id=payer_id, payer_name=payer_name))


def test_a_medicaid_esi_letter_is_never_told_the_medicare_limit():
    # four earlier lumbar sessions: past the Medicare LCD's four (a write-off there), but a Texas Medicaid plan's
    # own limit is not on file, so the letter lists the sessions and leaves the limit to fill in
    letter = compose_letter(_frequency_request("medicaid", "MCD-TX", "Texas Medicaid", _four_lumbar_esi()), book())
    text = _body(letter)
    rows = {row.criterion: row for row in letter.crosswalk}
    sessions = rows["Sessions in 12 months"]
    assert sessions.status == "to document" and sessions.requirement.startswith("[to complete: the plan's session")
    assert sessions.evidence.startswith("4 earlier lumbar/sacral epidural steroid injection sessions in the 12 "
                                        "months before (")
    assert rows["Levels per session"].requirement.startswith("[to complete: the plan's limit of levels")
    for medicare in ("limit 4", "No more than 4", "no more than 2 levels", "LCD", "L39", "within the coverage limits",
                     "50%", "Medicare"):
        assert medicare not in text, medicare
    headings = [s.heading for s in letter.sections]
    assert "The sessions counted toward the plan's limit: criteria crosswalk" in headings
    assert any("Medicaid plan's own coverage policy is not on file" in n for n in letter.draft_notes)
    assert (letter.title, letter.level) == ("Medicaid provider appeal", "Medicaid provider appeal (first level of "
                                                                        "appeal)")


def test_the_same_sessions_for_medicare_are_past_the_lcd_limit():
    from service.domain.letters import LetterError
    with pytest.raises(LetterError) as err:
        compose_letter(_frequency_request("medicare", "MCR-JL", "Medicare Part B JL", _four_lumbar_esi()), book())
    assert err.value.code == "write_off_recommended" and "limit 4" in err.value.message


def _rfa_request(payer_type: str, payer_id: str, payer_name: str):
    """A denied right lumbar RFA after two right-side therapeutic facet injections documented with their relief."""
    blocks = tuple(dataclasses.replace(session(f"PC-7{i}", DOS - dt.timedelta(days=60 - 20 * i), "64493", "RT"),
                                       detail=model.SessionDetail(side="right", levels=("L4-L5",),
                                                                  intent="therapeutic", relief_percent=90))
                   for i in range(2))
    task = necessity_task(lines=(TaskLine("1", Decimal("1500.00"), ("CO-50",), "64635", ("RT",), DOS),))
    lines = (SubmittedLine("1", Procedure("64635", ("RT",)), Decimal("1500.00"), Decimal(1), DOS),)
    return request(task, history=blocks,
                   decisions=(DenialForLetter("t-necessity", "1", "CO", "50", (), Decimal("1500.00"), "64635",
                                              ("RT",), DOS),),
                   claim=claim(payer_type=payer_type, payer_id=payer_id, payer_name=payer_name,
                               submitted_lines=lines))


def test_a_commercial_rfa_letter_follows_the_plans_policy_not_the_lcds():
    letter = compose_letter(_rfa_request("commercial", "BCBS-TX", "Blue Cross TX PPO"), book())
    rows = {row.criterion: row for row in letter.crosswalk}
    prior = rows["Prior relief"]
    # the structural need (two earlier facet blocks) is on file; the LCD's "diagnostic only, 80 %" is not the plan's
    assert prior.status == "to document" and prior.evidence.startswith("earlier procedures on ")
    assert prior.requirement.startswith("[to complete: what the plan's policy asks")
    assert rows["Sessions in 12 months"].requirement.startswith("[to complete: the plan's session limit")
    text = _body(letter)
    for medicare in ("80%", "L38803", "L34892", "LCD", "limit 2", "No more than 2"):
        assert medicare not in text, medicare
    assert "the plan's medical policy for radiofrequency ablation" in text
    assert letter.title == "First-level provider appeal"
    assert any("commercial plan's own coverage policy is not on file" in n for n in letter.draft_notes)


def test_the_same_rfa_for_medicare_is_held_to_the_lcd_diagnostic_blocks():
    letter = compose_letter(_rfa_request("medicare", "MCR-JF", "Noridian JF"), book())
    rows = {row.criterion: row for row in letter.crosswalk}
    prior = rows["Prior relief"]
    # L38803 C.1 counts diagnostic blocks only: two therapeutic injections do not qualify
    assert prior.status == "not met" and "80%" in prior.requirement
    assert rows["Sessions in 12 months"].evidence.endswith("limit 2")
    assert "LCD L38803 (Facet Joint Interventions for Pain Management) and its billing and coding article A58405" \
        in render_markdown(letter)


def test_a_workers_comp_letter_goes_up_the_carriers_ladder_not_a_health_plans():
    task = necessity_task(deadline_basis="the carrier's reconsideration window")
    letter = compose_letter(request(task, claim=claim(payer_type="workers_comp", payer_id="TX-WC-CARRIER",
                                                      payer_name="Texas Mutual")), book())
    assert letter.title == "Request for reconsideration"
    assert letter.recipient[1] == "Attn: the workers' compensation carrier's bill review unit, with the adjuster"
    assert "provider appeals unit" not in _body(letter)
    second = compose_letter(request(necessity_task(appeal_level=2, deadline_basis="the state's window"),
                                    claim=claim(payer_type="workers_comp", payer_id="TX-WC-CARRIER")), book())
    assert second.title == "Request for medical dispute resolution"


def test_a_medicare_advantage_letter_cites_the_lcd_its_decision_applies():
    letter = compose_letter(request(claim=claim(payer_type="medicare_advantage", payer_id="MA-SUNRISE",
                                                payer_name="Sunrise Medicare Advantage")), book())
    argument = next(s for s in letter.sections if "crosswalk" in s.heading).paragraphs[0]
    assert "the Medicare LCD Epidural Steroid Injections for Pain Management of the plan's area" in argument
    assert {row.criterion: row for row in letter.crosswalk}["Sessions in 12 months"].evidence.endswith("limit 4")


def test_a_number_not_tied_to_the_macs_jurisdiction_is_cited_with_a_note_to_confirm_it():
    task = necessity_task(lines=(TaskLine("1", Decimal("150.00"), ("CO-50",), "20552", (), DOS),))
    letter = compose_letter(request(task, decisions=(), claim=claim(
        submitted_lines=(SubmittedLine("1", Procedure("20552"), Decimal("150.00"), Decimal(1), DOS),))), book())
    argument = next(s for s in letter.sections if "crosswalk" in s.heading).paragraphs[0]
    assert "LCD L37913 (Trigger Point Injections) and its billing and coding article A59553" in argument
    assert "Novitas" not in argument  # not known to be the JL MAC's number: the letter does not say it is
    assert any(n.startswith("LCD L37913 and article A59553 are not known to be those of Novitas Solutions "
                            "(jurisdiction JL)") for n in letter.draft_notes)
