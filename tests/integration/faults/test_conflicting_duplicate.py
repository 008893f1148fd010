"""A reused event id with other content (DESIGN.md invariant 8): the same `event_id` first with CO-197, then with
CO-50 + N115, to a real worker. The later version is a dead letter `conflicting_duplicate` with both digests and its
original bytes, counted by a metric and logged; the first version stays applied (its task and decisions unchanged);
a byte-identical redelivery of the first version stays a silent duplicate."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

from tests.support import events
from tests.support.kafka import publish
from tests.support.ports import eventually
from topics.catalogue import CLAIMS_REMITTANCE
from topics.codec import content_digest

METRIC = re.compile(r'^denials_conflicting_duplicates_total\{topic="claims\.remittance\.v1"\} (\S+)$', re.M)


def _metric(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        match = METRIC.search(resp.read().decode())
    return float(match.group(1)) if match else 0.0


async def _state(db, claim_id: str) -> tuple[list, list]:
    tasks = await db.fetch("SELECT task_id, category, action, state, amount_at_risk FROM appeal_tasks "
                           "WHERE claim_id = $1 ORDER BY task_id", claim_id)
    decisions = await db.fetch("SELECT event_id, group_code, reason, remarks, category FROM decisions "
                               "WHERE claim_id = $1 ORDER BY id", claim_id)
    return [tuple(r) for r in tasks], [tuple(r) for r in decisions]


async def test_a_reused_event_id_with_other_content_is_dead_lettered_and_the_first_version_stays(
        stack, db, fleet, run_id):
    claim_id = f"CD-{run_id}"
    event_id = f"rm-{run_id}-cd"
    key = claim_id.encode()
    first = json.dumps(events.remittance(event_id, claim_id)).encode()  # CO-197: authorization
    later = json.dumps(events.remittance(event_id, claim_id, remarks=["N115"], lines=[events.line(
        "1", "64483", ["RT"], charge=1200.00, paid=0.00,
        adjustments=[{"group": "CO", "reason": "50", "amount": 1200.00}])])).encode()
    worker = await fleet.start(f"conflict-{run_id}")

    await publish(stack.bootstrap, CLAIMS_REMITTANCE, [(key, first)])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM appeal_tasks WHERE claim_id = $1", claim_id),
                     timeout=90, message="the first version applied")
    tasks, decisions = await _state(db, claim_id)
    assert [t[1] for t in tasks] == ["authorization"] and [d[2] for d in decisions] == ["197"]
    before = await asyncio.to_thread(_metric, worker.port)

    # the first version again byte for byte, then the later version behind it on the same partition: once the
    # later one is dead-lettered, the redelivery before it has been handled too
    await publish(stack.bootstrap, CLAIMS_REMITTANCE, [(key, first), (key, later)])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM dead_letters WHERE source_event_id = $1", event_id),
                     timeout=90, message="the conflicting version dead-lettered")

    letters = await db.fetch("SELECT * FROM dead_letters WHERE source_event_id = $1", event_id)
    assert len(letters) == 1, "exactly one dead letter: the byte-identical redelivery is a silent duplicate"
    (letter,) = letters
    assert letter["error_class"] == "conflicting_duplicate" and letter["value"] == later and letter["key"] == key
    detail = json.loads(letter["detail"]) if isinstance(letter["detail"], str) else letter["detail"]
    assert detail["first_digest"] == content_digest(first)
    assert detail["digest"] == content_digest(later) != content_digest(first)
    assert content_digest(first) in letter["reason"] and content_digest(later) in letter["reason"]
    assert await db.fetchval("SELECT content_digest FROM inbox WHERE event_id = $1", event_id) == content_digest(first)

    # the first version stays applied: the same task and decisions (no CO-50 reading, no medical-necessity task)
    assert await _state(db, claim_id) == (tasks, decisions)
    assert await asyncio.to_thread(_metric, worker.port) == before + 1
    log = worker.log_path.read_text()
    line = next(x for x in log.splitlines() if "event.conflicting_duplicate" in x and event_id in x)
    assert content_digest(first) in line and content_digest(later) in line
    assert "DOE" not in line and f"MEM-{claim_id}" not in line  # no PHI in the log line
