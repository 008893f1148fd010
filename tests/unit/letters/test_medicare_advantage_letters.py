"""A Medicare Advantage letter follows the practice's contract with the plan (payer_policies.toml `contracted` per
payer id): a non-contracted provider's reconsideration encloses a signed Waiver of Liability and says so (the plan
dismisses it otherwise); a contracted provider disputes the payment under its provider agreement; when the status is
not on file the letter gives both paragraphs for the sender to choose and the notes say why."""

from __future__ import annotations

from functools import lru_cache

import pytest

from service.domain.letters import LetterBook, compose_letter, render_markdown
from service.domain.ruledata import RuleFiles
from tests.unit.letters.builders import claim, denials, necessity_task, request

WAIVER = ("Waiver of Liability signed by the provider: the enrollee will not be billed for the services in dispute, "
          "whatever the outcome")


@lru_cache(maxsize=1)
def contract_book() -> LetterBook:
    """The packaged rules, with one plan the practice is not contracted with and one it is."""
    files = RuleFiles()
    text = files.text("payer_policies.toml") + ('\n[payers."MA-OUT"]\ncontracted = false\n'
                                                 '\n[payers."MA-IN"]\ncontracted = true\n')
    return LetterBook.load(files.with_texts({"payer_policies.toml": text}))


def _ma(payer_id: str, *, authorization: bool = False):
    if authorization:
        task = necessity_task(task_id="t-ma", category="authorization", action="obtain_authorization",
                              appealable=False)
        decisions = denials("t-ma", "197", ())
    else:
        task, decisions = necessity_task(task_id="t-ma"), denials("t-ma")
    return request(task, task_id="t-ma", decisions=decisions,
                   claim=claim(payer_type="medicare_advantage", payer_id=payer_id, payer_name="Sunrise MA HMO"))


def _status(letter):
    return next(s for s in letter.sections if s.heading == "Provider status with the plan")


@pytest.mark.parametrize("authorization", [False, True])
def test_a_non_contracted_providers_reconsideration_encloses_a_signed_waiver_of_liability(authorization):
    letter = compose_letter(_ma("MA-OUT", authorization=authorization), contract_book())
    assert letter.title == "Medicare Advantage plan reconsideration"
    (paragraph,) = _status(letter).paragraphs
    assert paragraph == ("The practice is not contracted with Sunrise MA HMO. As a non-contracted provider "
                         "requesting this reconsideration on its own behalf, it encloses a signed Waiver of "
                         "Liability: it will not bill the enrollee for the services in dispute, whatever the outcome "
                         "(42 CFR 422.574(b)).")
    assert letter.enclosures[-1] == WAIVER and WAIVER in letter.to_gather


@pytest.mark.parametrize("authorization", [False, True])
def test_a_contracted_provider_disputes_the_payment_under_its_agreement_without_a_waiver(authorization):
    letter = compose_letter(_ma("MA-IN", authorization=authorization), contract_book())
    assert letter.title == "Provider payment dispute"
    assert letter.recipient[1] == "Attn: the plan's provider dispute unit"
    assert _status(letter).paragraphs == (
        "The practice is contracted with Sunrise MA HMO: this is a payment dispute under the dispute resolution "
        "process of the provider agreement, not an enrollee appeal.",)
    assert not any("Waiver of Liability" in e for e in letter.enclosures)
    assert "Waiver" not in render_markdown(letter)


def test_an_unknown_contract_status_gives_both_paragraphs_and_says_why():
    letter = compose_letter(_ma("MA-ELSEWHERE"), contract_book())
    paragraphs = _status(letter).paragraphs
    assert paragraphs[0].startswith("[to complete: keep the paragraph that applies")
    assert paragraphs[1].startswith("The practice is not contracted") and paragraphs[2].startswith(
        "The practice is contracted")
    assert letter.enclosures[-1] == f"{WAIVER} (non-contracted providers only)"
    assert any(n.startswith("Whether the practice is contracted with Sunrise MA HMO is not on file") for n in
               letter.draft_notes)


def test_letters_to_other_payer_types_and_later_ma_levels_carry_no_provider_status():
    assert not any(s.heading == "Provider status with the plan"
                   for s in compose_letter(request(), contract_book()).sections)
    later = request(necessity_task(task_id="t-ma", appeal_level=2), task_id="t-ma", decisions=denials("t-ma"),
                    claim=claim(payer_type="medicare_advantage", payer_id="MA-OUT", payer_name="Sunrise MA HMO"))
    assert not any(s.heading == "Provider status with the plan"
                   for s in compose_letter(later, contract_book()).sections)
