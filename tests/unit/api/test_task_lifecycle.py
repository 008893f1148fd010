"""Work-queue operations on a task: user transitions (TRANSITIONS is the only table), checklist, notes, leases,
the deadline timer's expiry. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.model import ChecklistItem
from service.domain.tasks import (
    CLOSED_STATES,
    MAX_NOTE_CHARS,
    TRANSITIONS,
    Task,
    TaskRuleError,
    TransitionError,
    apply_user_transition,
    expire_if_past_deadline,
    expiry_date,
    expiry_note,
)

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def task(state: str = "open", **changes) -> Task:
    base = dict(
        task_id="t-1", claim_id="PC-1", payer_id="BCBS-TX", payer_type="commercial", category="authorization",
        action="obtain_authorization", queue="authorization", state=state, appealable=True,
        amount_at_risk=Decimal("1200.00"), recoverability=0.4, explanation="CO-197 ...", rule_ids=("carc.197",),
        opened_at=NOW - dt.timedelta(days=3), last_event_at=NOW - dt.timedelta(days=3), source_event_id="rm-1",
        deadline=TODAY + dt.timedelta(days=20), filing_deadline=TODAY + dt.timedelta(days=40),
        checklist=(ChecklistItem("auth-letter", "Get the authorization letter"),
                   ChecklistItem("auth-on-claim", "Put the auth number on the claim")),
    )
    base.update(changes)
    return Task(**base)


ALL_PAIRS = [(a, b) for a in TRANSITIONS for b in TRANSITIONS if a != b]


@pytest.mark.parametrize(("from_state", "to_state"), ALL_PAIRS)
def test_a_user_transition_is_allowed_exactly_when_the_transitions_table_says_so(from_state, to_state):
    t = task(from_state)
    reason = "payer will not pay: small balance" if to_state == "written_off" else None
    if to_state in TRANSITIONS[from_state]:
        version = t.version
        assert apply_user_transition(t, to_state, at=NOW, reason=reason) == from_state
        assert t.state == to_state and t.version == version + 1
        assert (t.closed_at == NOW) == (to_state in CLOSED_STATES)
    else:
        with pytest.raises(TransitionError):
            apply_user_transition(t, to_state, at=NOW, reason=reason)
        assert t.state == from_state


def test_moving_to_the_same_state_changes_nothing():
    t = task("in_progress")
    assert apply_user_transition(t, "in_progress", at=NOW) == "in_progress"
    assert t.version == 1 and not t.changed


def test_a_write_off_needs_a_reason_and_an_unknown_state_is_refused():
    with pytest.raises(TaskRuleError) as err:
        apply_user_transition(task(), "written_off", at=NOW, reason="   ")
    assert err.value.code == "reason_required"
    with pytest.raises(TaskRuleError) as err:
        apply_user_transition(task(), "archived", at=NOW)
    assert err.value.code == "unknown_state"


def test_a_recovered_amount_goes_with_a_win_only():
    t = task("submitted")
    apply_user_transition(t, "won", at=NOW, recovered_amount=Decimal("812.40"))
    assert t.recovered_amount == Decimal("812.40")
    with pytest.raises(TaskRuleError) as err:
        apply_user_transition(task("submitted"), "lost", at=NOW, recovered_amount=Decimal("1.00"))
    assert err.value.code == "recovered_amount_needs_won"


def test_closing_a_task_ends_its_lease():
    t = task()
    t.lease_to("team-a/ann", now=NOW, until=NOW + dt.timedelta(minutes=15))
    apply_user_transition(t, "written_off", at=NOW, reason="duplicate of another claim")
    assert t.lease_expires_at is None


def test_a_lease_goes_to_one_holder_until_it_expires():
    t = task()
    t.lease_to("team-a/ann", now=NOW, until=NOW + dt.timedelta(minutes=15))
    assert t.assignee == "team-a/ann" and t.lease_active(NOW)
    assert t.held_by_other("team-a/bob", NOW) and not t.held_by_other("team-a/ann", NOW)
    with pytest.raises(TaskRuleError) as err:
        t.lease_to("team-a/bob", now=NOW + dt.timedelta(minutes=5), until=NOW + dt.timedelta(minutes=20))
    assert err.value.code == "leased_to_another"
    later = NOW + dt.timedelta(minutes=16)
    assert not t.lease_active(later)
    t.lease_to("team-a/bob", now=later, until=later + dt.timedelta(minutes=15))
    assert t.assignee == "team-a/bob"


def test_only_an_open_task_can_be_leased():
    with pytest.raises(TaskRuleError) as err:
        task("in_progress").lease_to("a", now=NOW, until=NOW + dt.timedelta(minutes=1))
    assert err.value.code == "not_leasable"


def test_assigning_and_releasing():
    t = task()
    t.assign("team-b/cy", until=NOW + dt.timedelta(minutes=15))
    assert (t.assignee, t.lease_expires_at) == ("team-b/cy", NOW + dt.timedelta(minutes=15))
    t.assign(None, until=None)
    assert (t.assignee, t.lease_expires_at) == (None, None)
    t.move_to_queue("appeals")
    assert t.queue == "appeals"


def test_checklist_items_are_marked_one_by_one():
    t = task()
    assert t.mark_checklist("auth-letter", True) is True
    assert [i.done for i in t.checklist] == [True, False]
    assert t.mark_checklist("auth-letter", True) is False  # already done: no change
    with pytest.raises(TaskRuleError) as err:
        t.mark_checklist("nope", True)
    assert err.value.code == "unknown_checklist_item"
    closed = task("won")
    with pytest.raises(TaskRuleError) as err:
        closed.mark_checklist("auth-letter", True)
    assert err.value.code == "task_closed"


def test_notes_are_appended_with_author_and_time_and_bounded():
    t = task()
    note = t.add_note("  called the payer, ref 123  ", author="team-a/ann", at=NOW)
    assert note.text == "called the payer, ref 123" and t.notes == (note,)
    for text, code in (("   ", "empty_note"), ("x" * (MAX_NOTE_CHARS + 1), "note_too_long")):
        with pytest.raises(TaskRuleError) as err:
            t.add_note(text, author="a", at=NOW)
        assert err.value.code == code


def test_expiry_waits_for_the_last_clock_and_happens_once():
    t = task(deadline=TODAY - dt.timedelta(days=3), filing_deadline=TODAY)
    assert expiry_date(t) == TODAY
    assert expire_if_past_deadline(t, today=TODAY, at=NOW) is None  # the filing window is open today
    tomorrow = TODAY + dt.timedelta(days=1)
    t.lease_to("a", now=NOW, until=NOW + dt.timedelta(days=2))
    assert expire_if_past_deadline(t, today=tomorrow, at=NOW) == "open"
    assert t.state == "expired" and t.lease_expires_at is None
    assert expire_if_past_deadline(t, today=tomorrow, at=NOW) is None  # idempotent
    assert "appeal deadline" in expiry_note(t) and "PC-1" not in expiry_note(t)


def test_tasks_without_a_clock_or_already_submitted_never_expire():
    far = TODAY + dt.timedelta(days=400)
    assert expire_if_past_deadline(task(deadline=None, filing_deadline=None), today=far, at=NOW) is None
    assert expire_if_past_deadline(task("submitted"), today=far, at=NOW) is None


def test_refreshing_the_priority_stores_the_score_and_parts_without_a_version_bump():
    t = task()
    parts = t.refresh_priority(TODAY)
    assert t.priority == parts.score > 0 and t.priority_parts["as_of"] == TODAY.isoformat()
    assert t.version == 1


def test_a_change_set_of_several_operations_is_one_version_step():
    t = task()
    loaded = t.version
    apply_user_transition(t, "in_progress", at=NOW)
    t.add_note("started", author="a", at=NOW)
    t.mark_checklist("auth-letter", True)
    t.settle_version(loaded)
    assert t.version == loaded + 1 and t.changed
