"""What a task is worth and where it sits in the queue: a bilateral false duplicate is worth the bilateral add-on, a
write-off is not money at risk, a fifth ESI past the LCD limit sinks to the bottom as a write-off, and an overdue
task keeps a priority while a good-cause late remedy is open."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain import model
from service.domain.classification import load_classifier
from service.domain.pain import PainRules
from service.domain.ruledata import RuleFiles
from service.domain.tasks import open_task
from tests.unit.domain.builders import DOS, T0, remit, session

CLF = load_classifier()
TODAY = dt.date(2026, 3, 10)


def paid_line(code: str, mods: tuple[str, ...], *, allowed: str, line_id: str = "1") -> model.RemitLine:
    return model.RemitLine(line_id=line_id, procedure=model.Procedure(code, mods), charge=Decimal("2380.00"),
                           paid=Decimal("398.00"), allowed=Decimal(allowed), service_date=DOS,
                           adjustments=(model.Adjustment("CO", "45", Decimal("1872.37")),))


def denied_line(code: str, mods: tuple[str, ...], reason: str, *, line_id: str = "2",
                amount: str = "2380.00") -> model.RemitLine:
    return model.RemitLine(line_id=line_id, procedure=model.Procedure(code, mods), charge=Decimal(amount),
                           paid=Decimal("0.00"), service_date=DOS,
                           adjustments=(model.Adjustment(reason.split("-")[0], reason.split("-")[1], Decimal(amount)),))


def task_for(r: model.Remittance, history=()):
    denials = [d for d in CLF.classify(r, facts=None, history=list(history)) if d.is_denial]
    return open_task(r.claim_id, r.payer.id, r.payer.type, denials, source_event_id="rm-1", at=T0)


def test_a_bilateral_false_duplicate_is_worth_the_bilateral_add_on_not_the_whole_charge():
    r = remit(paid_line("64635", ("RT",), allowed="507.63"), denied_line("64635", ("LT",), "CO-18"),
              payer_type="medicare", payer_id="MCR-JL")
    task = task_for(r)
    assert task.action == "reopening"
    assert task.amount_at_risk == Decimal("253.82")  # 50 % of the paid side's $507.63, not the $2,380 charge
    (line,) = task.lines
    assert (line.amount, line.value) == (Decimal("2380.00"), Decimal("253.82"))  # the denied amount is kept
    assert "one line 64635-50 with 1 unit" in task.explanation


def test_a_fifth_esi_past_the_lcd_limit_is_a_write_off_that_is_not_money_at_risk():
    history = [session("62323", day) for day in (dt.date(2025, 2, 10), dt.date(2025, 5, 12), dt.date(2025, 8, 11),
                                                 dt.date(2025, 11, 10))]
    fifth = task_for(remit(denied_line("62323", (), "CO-151", line_id="1", amount="1380.00"), payer_type="medicare",
                           payer_id="MCR-JL"), history)
    assert (fifth.category, fifth.action, fifth.queue, fifth.appealable) == (
        "frequency_limit", "write_off", "billing", False)
    assert fifth.at_risk == 0 and fifth.amount_at_risk == Decimal("1380.00")
    small = task_for(remit(denied_line("64483", ("RT",), "CO-50", line_id="1", amount="276.00"),
                           payer_type="medicare", payer_id="MCR-JL"))
    assert small.action == "appeal" and small.at_risk == Decimal("276.00")
    assert fifth.refresh_priority(TODAY).score < small.refresh_priority(TODAY).score


def test_at_risk_counts_only_open_recoverable_work():
    task = task_for(remit(denied_line("64483", ("RT",), "CO-50", line_id="1", amount="900.00"),
                          payer_type="medicare", payer_id="MCR-JL"))
    assert task.at_risk == Decimal("900.00")
    task.recoverability = 0.0
    assert task.at_risk == 0
    task.recoverability = 0.4
    task.transition("won", at=T0)
    assert task.at_risk == 0


def test_an_overdue_task_keeps_a_priority_while_the_payer_takes_a_good_cause_late_appeal():
    def overdue(payer_type: str, payer_id: str):
        task = task_for(remit(denied_line("64483", ("RT",), "CO-50", line_id="1", amount="2000.00"),
                              payer_type=payer_type, payer_id=payer_id))
        return task.refresh_priority(task.deadline + dt.timedelta(days=10))

    medicare = overdue("medicare", "MCR-JL")
    assert medicare.overdue and medicare.score > 0 and "42 CFR 405.942(b)" in medicare.late_option
    nobody = overdue("other", "LIEN-CO")
    assert nobody.overdue and nobody.score == 0 and nobody.late_option is None


def test_common_pain_codes_have_their_families():
    catalog = PainRules.load(RuleFiles()).catalog
    families = {code: catalog.family(code) for code in ("20610", "20611", "64624", "64625", "64628", "64629",
                                                        "95990", "95991")}
    assert families == {"20610": "joint_injection", "20611": "joint_injection", "64624": "genicular_rfa",
                        "64625": "si_rfa", "64628": "basivertebral_ablation", "64629": "basivertebral_ablation",
                        "95990": "pump_refill", "95991": "pump_refill"}
    assert catalog.get("64629").addon_of == ("64628",)
    assert catalog.get("20611").imaging_included and not catalog.get("20610").imaging_included
