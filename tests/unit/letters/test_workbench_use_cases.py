"""The web page's use cases with in-memory stores: a letter covers only the tasks the token may see, a task that
takes no letter is a conflict (409), another team's task is forbidden, and the work list is scoped."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.model import ChecklistItem
from service.domain.tasks import Task, TaskLine
from service.service_layer import workbench as wb
from service.service_layer.tasks_api import Conflict, Forbidden, NotFound, Scope, TaskView
from tests.unit.letters.builders import DOS, TODAY, book, claim, denials

NOW = dt.datetime.combine(TODAY, dt.time(14, 5), tzinfo=dt.UTC)

NOW = dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)


def task(task_id: str, category: str, queue: str, **changes) -> Task:
    base = Task(task_id=task_id, claim_id="PC-100", payer_id="MCR-JL", payer_type="medicare", category=category,
                action="appeal", queue=queue, state="open", appealable=True, amount_at_risk=Decimal("600.00"),
                recoverability=0.6, explanation=f"{category} denial", rule_ids=("r",), opened_at=NOW,
                last_event_at=NOW, source_event_id="rm-1", deadline=TODAY + dt.timedelta(days=10),
                lines=(TaskLine("1", Decimal("600.00"), ("CO-50",), "64483", ("RT",), DOS),),
                checklist=(ChecklistItem("hp-notes", "Progress notes", True),))
    return replace(base, **changes)


class Stores:
    def __init__(self, tasks: list[Task]):
        self.tasks = {t.task_id: t for t in tasks}
        self.asked: list[wb.WorklistQuery] = []

    async def task_view(self, task_id: str) -> TaskView | None:
        t = self.tasks.get(task_id)
        return TaskView(task=t, claim=None) if t else None

    async def letter_facts(self, task_id: str) -> wb.LetterFacts | None:
        if task_id not in self.tasks:
            return None
        return wb.LetterFacts(claim=claim(), tasks=tuple(self.tasks.values()), decisions=denials("necessity"))

    async def find_worklist(self, query: wb.WorklistQuery) -> list[TaskView]:
        self.asked.append(query)
        return [TaskView(task=t, claim=None) for t in self.tasks.values()
                if query.queues is None or t.queue in query.queues]


ANN = Scope(team="appeals", queues=frozenset({"appeals"}), user="ann")


async def test_a_letter_covers_only_the_tasks_the_token_may_see():
    stores = Stores([task("necessity", "medical_necessity", "appeals"),
                     task("records", "documentation", "billing", amount_at_risk=Decimal("900.00"))])
    letter = await wb.draft_letter(stores, stores, ANN, "necessity", today=TODAY, book=book(), now=NOW)
    assert letter.task_ids == ("necessity",)
    supervisor = Scope(team="lead", queues=frozenset(), supervisor=True)
    everything = await wb.draft_letter(stores, stores, supervisor, "necessity", today=TODAY, book=book(), now=NOW)
    assert everything.task_ids == ("necessity", "records")


async def test_another_teams_task_is_forbidden_and_an_unknown_one_not_found():
    stores = Stores([task("auth", "authorization", "authorization")])
    with pytest.raises(Forbidden):
        await wb.draft_letter(stores, stores, ANN, "auth", today=TODAY, book=book(), now=NOW)
    with pytest.raises(NotFound):
        await wb.draft_letter(stores, stores, ANN, "missing", today=TODAY, book=book(), now=NOW)


async def test_a_task_that_takes_no_letter_is_a_conflict_and_has_no_letter_kind():
    stores = Stores([task("fix", "coding", "appeals", action="corrected_claim", appealable=False)])
    with pytest.raises(Conflict) as err:
        await wb.draft_letter(stores, stores, ANN, "fix", today=TODAY, book=book(), now=NOW)
    assert err.value.code == "not_appealable" and "send a corrected claim" in err.value.message
    facts = await stores.letter_facts("fix")
    assert wb.letter_kind(facts, ANN, "fix", TODAY, book()) is None


async def test_the_worklist_is_scoped_to_the_tokens_queues_and_carries_urgency_and_families():
    stores = Stores([task("necessity", "medical_necessity", "appeals"), task("auth", "authorization",
                                                                             "authorization")])
    items = await wb.worklist(stores, ANN, wb.WorklistQuery(), today=TODAY, book=book())
    assert stores.asked[0].queues == frozenset({"appeals"})
    assert [(i.view.task.task_id, i.urgency.level, i.families) for i in items] == [
        ("necessity", "close", ("esi_transforaminal",))]
    with pytest.raises(Forbidden):
        await wb.worklist(stores, ANN, wb.WorklistQuery(queue="authorization"), today=TODAY, book=book())


def test_a_cpt_family_is_its_codes_and_an_unknown_family_is_invalid():
    assert wb.family_codes(book(), "esi_transforaminal") == ("64479", "64480", "64483", "64484")
    with pytest.raises(wb.Invalid):
        wb.family_codes(book(), "nope")
