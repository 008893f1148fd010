"""The web page's read routes and the appeal letters, on tasks the stream opened from a published scenario (the
session worker classifies it and stores the patient's identifiers encrypted): the letter's LCD crosswalk comes from
the patient's claim history in the database, it names the patient (the API holds the key), the PDF carries the same
text, a Medicare modifier denial gets a reopening request, and the worker serves the page.
"""

from __future__ import annotations

import asyncio
import csv
import io
import urllib.error
import urllib.request

import pytest
from pydantic import SecretStr
from pypdf import PdfReader

from tests.integration.test_api_support import running_api
from tests.integration.test_web_support import Scenario, day, publish_scenario
from tests.support.identifiers import SESSION_PHI_KEY


@pytest.fixture(scope="module")
async def world(stack, worker, db):
    import uuid

    run = uuid.uuid4().hex[:8]
    s = await publish_scenario(stack, db, run)
    async with running_api(stack.direct_database_url, phi_key=SecretStr(SESSION_PHI_KEY)) as api:
        token = await api.token(f"appeals-{run}", ["appeals", "coding"], user="ann")
        outsider = await api.token(f"billing-{run}", ["billing"], user="bob")
        yield s, api, token, outsider


async def _letter(api, token: str, task_id: str, fmt: str = "md") -> tuple[int, str, bytes]:
    async with api.session.get(f"{api.base}/api/tasks/{task_id}/letter", params={"format": fmt},
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def _private_values(s: Scenario) -> list[str]:
    """What a letter never shows: the practice's record number (the identifiers it may show are read apart)."""
    return [s.patient_ref]


async def test_the_appeal_letter_argues_medical_necessity_from_the_claim_history(world):
    s, api, token, _ = world
    status, content_type, body = await _letter(api, token, s.necessity_task)
    assert status == 200 and content_type.startswith("text/markdown"), body[:300]
    text = body.decode()
    deadline = await api.pool.fetchval("SELECT deadline FROM appeal_tasks WHERE task_id = $1", s.necessity_task)
    assert text.startswith("# Medicare redetermination\n")
    for expected in (
        f"**Payer claim number:** ICN-{s.necessity_claim}",
        f"**Patient account number:** {s.necessity_claim}",
        "**Diagnoses (ICD-10-CM):** M54.16, M51.26",
        "**Amount in dispute:** $1,800.00",
        "**Request:** Medicare redetermination (first level of appeal)",
        # the denied lines with the codes' plain meanings (paraphrased tables)
        f"| 1 | {day(-40)} | 64483 (lumbar/sacral transforaminal epidural steroid injection) | 64483-RT | "
        "$1,200.00 |",
        "payer deems the service not medically necessary. N115: decision based on a Local Coverage Determination",
        # the patient, decrypted for this token (its queues include the task)
        "**Patient:** DOE, JANE", f"**Member id:** {s.member_id}", "**Date of birth:** 1958-04-02",
        # the LCD crosswalk, from the history the worker stored; the test payer's MAC jurisdiction is not known
        "the Medicare LCD Epidural Steroid Injections for Pain Management of the claim's MAC",
        f"| Pain duration | Radicular pain for at least 4 weeks (acute herpes zoster excepted) | care for this patient "
        f"on file since {day(-200)} (22 weeks before the procedure) | met |",
        f"physical therapy or manipulation billed on 2 dates ({day(-150)} to {day(-143)}); office visits on "
        f"{day(-200)} | met |",
        # a repeat injection, judged by the LCD's repeat criterion as the decision was: the relief is not on file
        f"| Prior relief | A repeat injection needs at least 50% sustained relief or functional gain after the prior "
        f"one | repeat procedure: the repeat criterion (at least 50% sustained relief of pain or improvement in "
        f"function, lasting at least 3 months) cannot be decided: the relief after the session of {day(-100)} is not "
        "on file; it was repeated 60 days after it, sooner than the 90 days the relief must have lasted (the "
        "duration is to be verified in the document); the enclosed notes record the relief and how long it lasted "
        "| to document |",
        f"| Levels per session | Transforaminal: no more than 2 levels per session; interlaminar or caudal: 1 level | "
        f"2 levels billed on {day(-40)} (a bilateral level counts once) | met |",
        f"1 earlier lumbar/sacral epidural steroid injection session in the 12 months before ({day(-100)}); "
        "limit 4 | met |",
        f"must reach the Medicare Administrative Contractor (MAC) by {deadline.isoformat()} (Medicare "
        "redetermination: 120 days from receipt",
    ):
        assert expected in text, expected
    for value in _private_values(s):
        assert value not in text


async def test_the_pdf_letter_carries_the_same_text(world):
    s, api, token, _ = world
    status, content_type, body = await _letter(api, token, s.necessity_task, "pdf")
    assert status == 200 and content_type == "application/pdf" and body.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    flat = " ".join(text.split())
    for expected in ("Medicare redetermination", f"ICN-{s.necessity_claim}", "Pain duration", "Conservative care",
                     "Sessions in 12 months", "Local Coverage Determination", "Enclosures",
                     "Medicare redetermination (first level of appeal)", "DOE, JANE", s.member_id):
        assert expected in flat, expected
    for value in _private_values(s):
        assert value not in flat


async def test_the_letter_names_only_the_addressed_payers_claim_numbers(world):
    # a crossover: the secondary payer's remittance adds its own ICN to the claim; the letter to the primary payer
    # must cite the primary payer's claim number only
    s, api, token, _ = world
    other = f"ICN2-{s.necessity_claim}"
    async with api.pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval("SELECT payer_claim_numbers FROM claims WHERE claim_id = $1", s.necessity_claim)
        await conn.execute(
            """INSERT INTO remittances (event_id, claim_id, payer_id, payer_type, payer_claim_number, status_code,
                   production_date, total_charge, total_paid, business_key, occurred_at)
               SELECT $2, claim_id, 'MCD-CROSSOVER', 'medicaid', $3, '1', production_date, total_charge, 0, $2,
                      occurred_at + interval '1 day'
               FROM remittances WHERE claim_id = $1 LIMIT 1""", s.necessity_claim, f"xover-{s.run}", other)
        await conn.execute("UPDATE claims SET payer_claim_numbers = array_append(payer_claim_numbers, $2) "
                           "WHERE claim_id = $1", s.necessity_claim, other)
    try:
        status, _, body = await _letter(api, token, s.necessity_task)
    finally:
        async with api.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM remittances WHERE event_id = $1", f"xover-{s.run}")
            await conn.execute("UPDATE claims SET payer_claim_numbers = $2 WHERE claim_id = $1",
                               s.necessity_claim, before)
    text = body.decode()
    assert status == 200, text
    assert f"**Payer claim number:** ICN-{s.necessity_claim}\n" in text
    assert other not in text


async def test_checklist_items_ticked_on_the_task_become_the_enclosures(world):
    s, api, token, _ = world
    _, task = await api.call("GET", f"/api/tasks/{s.necessity_task}", token=token)
    item = next(i for i in task["checklist"] if i["id"] == "imaging-report")
    status, _ = await api.call("PATCH", f"/api/tasks/{s.necessity_task}", token=token,
                               body={"checklist": [{"id": "imaging-report", "done": True}]})
    assert status == 200
    _, _, body = await _letter(api, token, s.necessity_task)
    head, enclosures = body.decode().split("## Enclosures", 1)
    assert item["text"] in enclosures
    still_to_gather = next(line for line in head.splitlines() if "Not yet gathered" in line)
    assert item["text"] not in still_to_gather and "Prior-injection log" in still_to_gather


async def test_a_medicare_modifier_denial_gets_a_reopening_request(world):
    s, api, token, _ = world
    status, _, body = await _letter(api, token, s.reopening_task)
    text = body.decode()
    assert status == 200, text
    assert text.startswith("# Request for a clerical-error reopening\n")
    assert "42 CFR 405.980(a)(3)" in text and "20552" in text and "CO-4" in text
    assert "**Request:** Request for a clerical-error reopening" in text
    assert "Medicare redetermination (first level" not in text  # a reopening, not an appeal
    _, timeline = await api.call("GET", f"/api/tasks/{s.reopening_task}", token=token)
    assert [e["kind"] for e in timeline["timeline"]] == ["submitted", "remittance", "reversal", "remittance"]


async def test_another_teams_token_gets_no_letter_and_no_decisions(world):
    s, api, _, outsider = world
    status, _, body = await _letter(api, outsider, s.necessity_task)
    assert status == 403 and b'"forbidden"' in body
    status, body = await api.call("GET", f"/api/tasks/{s.necessity_task}/decisions", token=outsider)
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await api.call("GET", "/api/worklist", token=outsider, params={"payer": s.payer_id})
    assert status == 200 and body["tasks"] == []


async def test_the_worklist_filters_by_cpt_family_and_shows_how_close_the_deadline_is(world):
    s, api, token, _ = world
    status, page = await api.call("GET", "/api/worklist", token=token,
                                  params={"payer": s.payer_id, "family": "esi_transforaminal"})
    assert status == 200, page
    assert [t["id"] for t in page["tasks"]] == [s.necessity_task]
    (task,) = page["tasks"]
    assert task["families"] == ["esi_transforaminal"]
    assert task["urgency"]["clock"] == "deadline" and task["urgency"]["due"] == task["deadline"]
    assert task["urgency"]["level"] in ("later", "approaching", "close", "urgent")
    _, none = await api.call("GET", "/api/worklist", token=token, params={"payer": s.payer_id,
                                                                          "family": "facet_injection"})
    assert none["tasks"] == []
    _, mismatch = await api.call("GET", "/api/worklist", token=token, params={
        "payer": s.payer_id, "family": "esi_transforaminal", "cpt": "20552"})
    assert mismatch["tasks"] == [] and mismatch["next_offset"] is None
    _, by_code = await api.call("GET", "/api/worklist", token=token, params={"payer": s.payer_id, "cpt": "64484"})
    assert [t["id"] for t in by_code["tasks"]] == [s.necessity_task]
    _, tpi = await api.call("GET", "/api/worklist", token=token, params={"payer": s.payer_id, "family": "tpi",
                                                                         "category": "coding"})
    assert [t["id"] for t in tpi["tasks"]] == [s.reopening_task]
    status, body = await api.call("GET", "/api/worklist", token=token, params={"family": "no_such_family"})
    assert (status, body["error"]) == (422, "unknown_family")
    _, facets = await api.call("GET", "/api/worklist/facets", token=token)
    assert s.payer_id in facets["payers"] and "medical_necessity" in facets["categories"]
    esi = next(f for f in facets["families"] if f["id"] == "esi_transforaminal")
    assert set(esi["codes"]) >= {"64483", "64484"}


async def test_a_write_off_shows_nothing_at_risk_and_sorts_below_what_can_still_be_recovered(world):
    # `at_risk` is what the task can still bring back (the demo summary's at risk); `amount_at_risk` stays the
    # denied amount, a write-off's included
    s, api, token, _ = world
    params = {"payer": s.payer_id, "sort": "at_risk"}
    _, page = await api.call("GET", "/api/worklist", token=token, params=params)
    by_id = {t["id"]: t for t in page["tasks"]}
    assert [t["id"] for t in page["tasks"]] == [s.necessity_task, s.reopening_task]
    assert by_id[s.necessity_task]["at_risk"] == by_id[s.necessity_task]["amount_at_risk"] == 1800
    action = await api.pool.fetchval("SELECT action FROM appeal_tasks WHERE task_id = $1", s.necessity_task)
    await api.pool.execute("UPDATE appeal_tasks SET action = 'write_off' WHERE task_id = $1", s.necessity_task)
    try:
        _, page = await api.call("GET", "/api/worklist", token=token, params=params)
        assert [t["id"] for t in page["tasks"]] == [s.reopening_task, s.necessity_task]
        written = next(t for t in page["tasks"] if t["id"] == s.necessity_task)
        assert (written["at_risk"], written["amount_at_risk"]) == (0, 1800)
        _, by_amount = await api.call("GET", "/api/worklist", token=token,
                                      params={"payer": s.payer_id, "sort": "amount_at_risk"})
        assert [t["id"] for t in by_amount["tasks"]] == [s.necessity_task, s.reopening_task]
        status, task = await api.call("GET", f"/api/tasks/{s.necessity_task}", token=token)
        assert status == 200 and (task["at_risk"], task["amount_at_risk"]) == (0, 1800)
    finally:
        await api.pool.execute("UPDATE appeal_tasks SET action = $2 WHERE task_id = $1", s.necessity_task, action)

async def _csv(api, token: str, params: dict[str, str]) -> tuple[int, dict[str, str], list[list[str]]]:
    async with api.session.get(f"{api.base}/api/worklist", params={**params, "format": "csv"},
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        text = await resp.text()
        rows = list(csv.reader(io.StringIO(text))) if resp.content_type == "text/csv" else []
        return resp.status, dict(resp.headers), rows


async def test_the_worklist_downloads_as_csv_with_the_json_views_tasks_and_filters(world):
    s, api, token, outsider = world
    filters = {"payer": s.payer_id}
    _, page = await api.call("GET", "/api/worklist", token=token, params=filters)
    status, headers, rows = await _csv(api, token, filters)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Cache-Control"] == "no-store" and headers["Content-Disposition"].startswith(
        'attachment; filename="worklist-')
    header, *body = rows
    assert header[:3] == ["task_id", "claim_id", "payer_id"] and "explanation" in header
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert list(by_id) == [t["id"] for t in page["tasks"]]  # the same tasks in the same order
    assert set(by_id) == {s.necessity_task, s.reopening_task}
    necessity = by_id[s.necessity_task]
    json_task = next(t for t in page["tasks"] if t["id"] == s.necessity_task)
    assert necessity["amount_at_risk"] == "1800.00" == f"{json_task['amount_at_risk']:.2f}"  # a plain number
    assert necessity["procedures"] == "64483-RT 64484-RT" and necessity["cpt_families"] == "esi_transforaminal"
    assert necessity["deadline"] == json_task["deadline"] and necessity["urgency"] == json_task["urgency"]["level"]
    assert necessity["payer_claim_numbers"] == f"ICN-{s.necessity_claim}" and necessity["leased"] == "false"
    assert necessity["explanation"] == json_task["explanation"]
    assert s.patient_ref not in "".join(",".join(r) for r in rows)  # nothing the JSON view does not show
    # the same filters as the JSON view: a CPT family keeps one task; the limit and next offset as a header
    _, _, one = await _csv(api, token, {**filters, "family": "tpi"})
    assert [r[0] for r in one[1:]] == [s.reopening_task]
    _, headers, first = await _csv(api, token, {**filters, "limit": "1"})
    assert len(first) == 2 and headers["X-Next-Offset"] == "1"
    # another team's token: the header row and no task, as in its JSON view
    status, _, theirs = await _csv(api, outsider, filters)
    assert status == 200 and theirs == [header]


async def test_a_claim_is_found_by_its_id_or_payer_claim_number_in_the_tokens_queues(world):
    s, api, token, outsider = world
    for text in (s.necessity_claim, s.necessity_claim.lower(), f"ICN-{s.necessity_claim}".lower()):
        status, page = await api.call("GET", "/api/worklist", token=token, params={"claim": text})
        assert status == 200 and [t["id"] for t in page["tasks"]] == [s.necessity_task], text
    _, partial = await api.call("GET", "/api/worklist", token=token, params={"claim": s.necessity_claim[:-1]})
    assert partial["tasks"] == []  # a whole id, not a prefix
    _, theirs = await api.call("GET", "/api/worklist", token=outsider, params={"claim": s.necessity_claim})
    assert theirs["tasks"] == []
    status, body = await api.call("GET", "/api/worklist", token=token, params={"claim": "x" * 101})
    assert (status, body["error"]) == (422, "validation_error")


async def test_decisions_explain_the_task_with_plain_code_meanings(world):
    s, api, token, _ = world
    status, body = await api.call("GET", f"/api/tasks/{s.necessity_task}/decisions", token=token)
    assert status == 200, body
    assert [(d["line_id"], d["group"], d["reason"], d["remarks"]) for d in body["decisions"]] == [
        ("1", "CO", "50", ["N115"]), ("2", "CO", "50", ["N115"])]
    first = body["decisions"][0]
    assert "CO-50" in first["explanation"] and first["rule_id"]
    assert {c["code"]: c["meaning"] for c in first["codes"]}["N115"] == \
        "decision based on a Local Coverage Determination"
    assert body["letter"] == {"kind": "appeal", "reason": None, "code": None}
    assert "submitted" in body["next_states"] and "won" in body["next_states"]
    _, reopening = await api.call("GET", f"/api/tasks/{s.reopening_task}/decisions", token=token)
    assert reopening["letter"] == {"kind": "reopening", "reason": None, "code": None}


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


async def test_the_worker_serves_the_page_and_its_assets_with_a_strict_policy(worker):
    base = f"http://127.0.0.1:{worker.port}"
    status, headers, body = await asyncio.to_thread(_get, base + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert b'<script type="module" src="/web/app.js">' in body
    for name, kind in (("app.js", "text/javascript"), ("api.js", "text/javascript"), ("app.css", "text/css")):
        status, headers, _ = await asyncio.to_thread(_get, f"{base}/web/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind), name
    for bad in ("/web/missing.js", "/web/..%2Fapp.py", "/web/%2e%2e/__init__.py"):
        status, _, _ = await asyncio.to_thread(_get, base + bad)
        assert status == 404, bad


async def test_the_standalone_api_serves_the_page_too(world):
    _, api, _, _ = world
    async with api.session.get(api.base + "/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "Denials work queue" in await resp.text()
    async with api.session.get(api.base + "/web/dom.js") as resp:
        assert resp.status == 200 and "textContent" in await resp.text()
