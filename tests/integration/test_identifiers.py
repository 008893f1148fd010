"""Patient identifiers kept safely: the stream stores them encrypted (a field is rewritten only when its value
changes; an 835 without a birth date erases nothing), a letter shows them only to a token whose queues include the
task (supervisors too), every read is an audit row, an API without the key (or with another key) says they are
withheld, the keys rotate; and the letter route answers 409 with the reason when the facts allow no letter."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from pydantic import SecretStr

from service.adapters.identifiers import IdentifierVault, rotate, save_identifiers
from service.domain.model import PatientIdentifiers
from service.domain.tasks import task_id_for
from service.service_layer.unit_of_work import IdentifiersSeen
from tests.integration.test_api_support import open_pool, private_database, running_api, settings_for
from tests.support import events
from tests.support.identifiers import OTHER_PHI_KEY, SESSION_PHI_KEY
from tests.support.kafka import publish_json
from tests.support.ports import eventually

NAME, BIRTH = "QUILL, ODETTE", "1949-11-23"
MEDICARE = {"id": "MCR-JH", "name": "Medicare Part B (Jurisdiction H)", "type": "medicare"}
COMMERCIAL = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}


def _patient(claim_id: str, *, member: str | None = None, birth: str | None = BIRTH, name: str = NAME) -> dict:
    return {"member_id": member or f"MBR-{claim_id}", "patient_ref": f"MRN-{claim_id}", "name": name,
            "birth_date": birth}


def _submitted(event_id: str, claim_id: str, payer: dict, *, occurred: str = "2026-01-16T09:00:00Z",
               patient: dict | None = None) -> dict:
    event = events.submitted(event_id, claim_id, payer=payer, occurred_at=occurred)
    event["claim"]["patient"] = patient or _patient(claim_id)
    return event


def _denied(event_id: str, claim_id: str, payer: dict, reason: str, *, remarks: list[str] | None = None,
            occurred: str = "2026-03-02T14:05:00Z", notice: str = "2026-02-27", patient: dict | None = None) -> dict:
    line = events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00, remarks=remarks or [],
                       adjustments=[{"group": "CO", "reason": reason, "amount": 1200.00}])
    return events.remittance(event_id, claim_id, payer=payer, lines=[line], occurred_at=occurred,
                             production_date=notice, patient=patient or _patient(claim_id, birth=None))


async def _applied(db: asyncpg.Pool, ids: list[str]) -> bool:
    return await db.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", ids) == len(ids)


async def _publish(stack, db, status: list[dict], remits: list[dict]) -> None:
    if status:
        await publish_json(stack.bootstrap, "claims.status.v1", status)
        await eventually(lambda: _applied(db, [e["event_id"] for e in status]), timeout=90, message="submissions")
    if remits:
        await publish_json(stack.bootstrap, "claims.remittance.v1", remits)
        await eventually(lambda: _applied(db, [e["event_id"] for e in remits]), timeout=90, message="remittances")


# -- the stream's write ------------------------------------------------------------------------------------------------

async def test_the_stream_stores_identifiers_encrypted_and_rewrites_a_field_only_when_it_changes(
        stack, worker, db, run_id):
    claim = f"ID-{run_id}"
    vault = IdentifierVault([SESSION_PHI_KEY])
    await _publish(stack, db, [_submitted(f"st-{run_id}", claim, COMMERCIAL)], [])
    first = await db.fetchrow("SELECT * FROM claim_identifiers WHERE claim_id = $1", claim)
    assert first is not None and first["payer_id"] == COMMERCIAL["id"]
    for field, value in (("name", NAME), ("member_id", f"MBR-{claim}"), ("birth_date", BIRTH)):
        token = bytes(first[f"{field}_enc"])
        assert value.encode() not in token  # the database never holds a clear value
        assert str(vault.decrypt(field, token)) == value

    # the 835 repeats the name and member id and has no birth date: nothing is rewritten, nothing erased
    await _publish(stack, db, [], [_denied(f"rm-{run_id}-1", claim, COMMERCIAL, "50", remarks=["N115"])])
    same = await db.fetchrow("SELECT * FROM claim_identifiers WHERE claim_id = $1", claim)
    assert same["updated_at"] == first["updated_at"] and bytes(same["birth_date_enc"]) == bytes(
        first["birth_date_enc"])

    # a corrected member id is rewritten alone; a record older than the stored values changes nothing it holds
    newer = _denied(f"rm-{run_id}-2", claim, COMMERCIAL, "50", occurred="2026-03-09T14:05:00Z",
                    patient=_patient(claim, member=f"FIX-{claim}", birth=None))
    older = _denied(f"rm-{run_id}-3", claim, COMMERCIAL, "50", occurred="2026-01-02T14:05:00Z",
                    patient=_patient(claim, member=f"OLD-{claim}", birth=None, name="STALE, NAME"))
    await _publish(stack, db, [], [newer])
    await _publish(stack, db, [], [older])
    last = await db.fetchrow("SELECT * FROM claim_identifiers WHERE claim_id = $1", claim)
    assert vault.decrypt("member_id", bytes(last["member_id_enc"])) == f"FIX-{claim}"
    assert bytes(last["name_enc"]) == bytes(first["name_enc"])
    assert last["source_at"] == dt.datetime(2026, 3, 9, 14, 5, tzinfo=dt.UTC)


async def test_an_older_record_fills_a_field_the_newer_ones_left_empty(stack, db, run_id):
    vault = IdentifierVault([SESSION_PHI_KEY])
    url = stack.direct_database_url
    claim = f"ID-{run_id}-gap"
    await db.execute("INSERT INTO claims (claim_id) VALUES ($1)", claim)
    later, earlier = dt.datetime(2026, 3, 2, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    pool = await open_pool(url, settings_for(url))
    try:
        async with pool.acquire() as conn:
            await save_identifiers(conn, vault, [IdentifiersSeen(claim, "P", later, PatientIdentifiers(
                name=NAME, member_id="M-1"))])
            await save_identifiers(conn, vault, [IdentifiersSeen(claim, "P", earlier, PatientIdentifiers(
                name="EARLIER, NAME", member_id="M-0", birth_date=dt.date(1949, 11, 23)))])
            row = await conn.fetchrow("SELECT * FROM claim_identifiers WHERE claim_id = $1", claim)
    finally:
        await pool.close()
    assert vault.decrypt("name", row["name_enc"]) == NAME and vault.decrypt("member_id", row["member_id_enc"]) == "M-1"
    assert vault.decrypt("birth_date", row["birth_date_enc"]) == dt.date(1949, 11, 23)


# -- letters: who sees the identifiers, and the audit trail ---------------------------------------------------------

@pytest.fixture(scope="module")
async def claims(stack, worker, db):
    """A Medicare ESI necessity denial, a commercial claim first filed 193 days after service (CO-29), and CO-197
    authorization denials from Medicare and a commercial plan."""
    import uuid

    run = uuid.uuid4().hex[:8]
    ids = {k: f"ID-{run}-{k}" for k in ("esi", "late", "auth-mcr", "auth-com")}
    status = [_submitted(f"st-{run}-esi", ids["esi"], MEDICARE),
              _submitted(f"st-{run}-late", ids["late"], COMMERCIAL, occurred="2026-07-27T09:00:00Z"),
              _submitted(f"st-{run}-am", ids["auth-mcr"], MEDICARE),
              _submitted(f"st-{run}-ac", ids["auth-com"], COMMERCIAL)]
    remits = [_denied(f"rm-{run}-esi", ids["esi"], MEDICARE, "50", remarks=["N115"]),
              _denied(f"rm-{run}-late", ids["late"], COMMERCIAL, "29", occurred="2026-08-20T14:05:00Z",
                      notice="2026-08-15"),
              _denied(f"rm-{run}-am", ids["auth-mcr"], MEDICARE, "197"),
              _denied(f"rm-{run}-ac", ids["auth-com"], COMMERCIAL, "197")]
    await _publish(stack, db, status, remits)
    tasks = {"esi": task_id_for(ids["esi"], MEDICARE["id"], "medical_necessity"),
             "late": task_id_for(ids["late"], COMMERCIAL["id"], "timely_filing"),
             "auth-mcr": task_id_for(ids["auth-mcr"], MEDICARE["id"], "authorization"),
             "auth-com": task_id_for(ids["auth-com"], COMMERCIAL["id"], "authorization")}
    queues = {k: await db.fetchval("SELECT queue FROM appeal_tasks WHERE task_id = $1", t) for k, t in tasks.items()}
    assert all(queues.values()), queues
    return run, ids, tasks, queues


async def _letter(api, token: str, task_id: str) -> tuple[int, str]:
    async with api.session.get(f"{api.base}/api/tasks/{task_id}/letter",
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.text()


async def _reads(db, task_id: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT actor, change, note, to_state FROM task_events WHERE task_id = $1 "
                          "AND change = 'identifiers_read' ORDER BY id", task_id)


async def test_a_letter_names_the_patient_only_for_a_token_whose_queues_include_the_task_and_audits_the_read(
        stack, db, claims):
    run, ids, tasks, queues = claims
    async with running_api(stack.direct_database_url, phi_key=SecretStr(SESSION_PHI_KEY)) as api:
        team = await api.token(f"team-{run}", [queues["esi"]], user="ann")
        outsider = await api.token(f"other-{run}", ["credentialing"], user="bob")
        lead = await api.token(f"lead-{run}", [], supervisor=True, user="lee")
        before = len(await _reads(db, tasks["esi"]))

        status, text = await _letter(api, team, tasks["esi"])
        assert status == 200, text
        for expected in (f"**Patient:** {NAME}", f"**Member id:** MBR-{ids['esi']}", f"**Date of birth:** {BIRTH}",
                         "LCD L39015 (Epidural Steroid Injections for Pain Management) and its billing and coding "
                         "article A58731, Novitas Solutions (jurisdiction JH)"):
            assert expected in text, expected
        status, text = await _letter(api, outsider, tasks["esi"])
        assert status == 403 and NAME not in text
        status, text = await _letter(api, lead, tasks["esi"])
        assert status == 200 and NAME in text

        reads = (await _reads(db, tasks["esi"]))[before:]
        assert [(r["actor"], r["note"]) for r in reads] == [
            (f"team-{run}/ann", "read patient name, member id, date of birth for the letter (md)"),
            (f"lead-{run}/lee", "read patient name, member id, date of birth for the letter (md)")]
        status, audit = await api.call("GET", f"/api/tasks/{tasks['esi']}/audit", token=team)
        assert status == 200 and [e["change"] for e in audit["entries"]].count("identifiers_read") >= 2
        for entry in audit["entries"]:
            assert NAME not in (entry["note"] or "") and BIRTH not in (entry["note"] or "")


async def test_without_the_key_or_with_another_key_the_identifiers_are_withheld_and_nothing_is_read(
        stack, db, claims):
    run, ids, tasks, queues = claims
    for overrides, words in (({}, "withheld: this service has no key to read patient identifiers"),
                             ({"phi_key": SecretStr(OTHER_PHI_KEY)},
                              "withheld: the configured keys cannot read this claim's identifiers")):
        async with running_api(stack.direct_database_url, **overrides) as api:
            token = await api.token(f"team-{run}", [queues["esi"]], user="ann")
            before = len(await _reads(db, tasks["esi"]))
            status, text = await _letter(api, token, tasks["esi"])
            assert status == 200, text
            assert f"**Patient:** [{words}" in text and NAME not in text and f"MBR-{ids['esi']}" not in text
            assert len(await _reads(db, tasks["esi"])) == before


async def test_a_letter_the_facts_do_not_support_is_a_409_with_the_reason(stack, db, claims):
    run, ids, tasks, queues = claims
    async with running_api(stack.direct_database_url, phi_key=SecretStr(SESSION_PHI_KEY)) as api:
        lead = await api.token(f"lead-{run}", [], supervisor=True)
        before = len(await _reads(db, tasks["late"]))
        status, body = await api.call("GET", f"/api/tasks/{tasks['late']}/letter", token=lead)
        assert (status, body["error"]) == (409, "write_off_recommended"), body
        assert body["message"].startswith("The claim was first submitted on 2026-07-27, 193 days after the date of "
                                          "service (2026-01-15), after the filing window closed on 2026-04-15")
        assert body["details"] == {"recommendation": "write_off"}
        assert NAME not in body["message"] and len(await _reads(db, tasks["late"])) == before  # nothing read
        _, insight = await api.call("GET", f"/api/tasks/{tasks['late']}/decisions", token=lead)
        assert insight["letter"]["kind"] is None and insight["letter"]["code"] == "write_off_recommended"
        assert insight["letter"]["reason"] == body["message"]

        status, body = await api.call("GET", f"/api/tasks/{tasks['auth-mcr']}/letter", token=lead)
        assert (status, body["error"]) == (409, "reconsideration_not_available"), body
        assert body["message"].startswith("Original Medicare takes no reconsideration of a missing authorization")

        status, text = await _letter(api, lead, tasks["auth-com"])
        assert status == 200, text
        assert text.startswith("# Reconsideration of an authorization denial\n")
        assert "## Request for a retrospective review of the services: criteria crosswalk" in text


# -- key rotation ----------------------------------------------------------------------------------------------------

async def test_rotation_re_encrypts_every_row_with_the_first_key_so_the_old_key_can_go(stack):
    old, new = IdentifierVault([SESSION_PHI_KEY]), IdentifierVault([OTHER_PHI_KEY, SESSION_PHI_KEY])
    async with private_database(stack.direct_database_url) as url:
        pool = await open_pool(url, settings_for(url))
        try:
            async with pool.acquire() as conn:
                await conn.execute("INSERT INTO claims (claim_id) SELECT 'C' || g FROM generate_series(1, 7) g")
                at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
                await save_identifiers(conn, old, [IdentifiersSeen(f"C{i}", "P", at, PatientIdentifiers(
                    name=f"NAME {i}", member_id=f"M{i}", birth_date=dt.date(1950, 1, i))) for i in range(1, 8)])
                report = await rotate(conn, new, batch=3)
                rows = await conn.fetch("SELECT * FROM claim_identifiers ORDER BY claim_id")
        finally:
            await pool.close()
    assert (report.rows, report.unreadable) == (7, 0)
    only_new = IdentifierVault([OTHER_PHI_KEY])
    assert [only_new.decrypt("name", r["name_enc"]) for r in rows] == [f"NAME {i}" for i in range(1, 8)]
    assert bytes(rows[0]["name_digest"]) == only_new.digest("name", "NAME 1")


def test_the_identifiers_command_makes_keys_and_refuses_a_bad_one(tmp_path):
    import os
    import subprocess

    from tests.support.worker import denials_command

    made = subprocess.run([denials_command(), "identifiers", "new-key"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and IdentifierVault([made.stdout.strip()]).key_count == 1
    env = {**os.environ, "DENIALS_PHI_KEY": "not-a-key", "DENIALS_DATA_DIR": str(tmp_path)}
    bad = subprocess.run([denials_command(), "identifiers", "status"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert bad.returncode == 2 and "not-a-key" not in bad.stderr and "32 bytes in URL-safe base64" in bad.stderr


async def test_the_worker_refuses_to_start_with_a_malformed_key(stack, tmp_path):
    import os
    import subprocess

    from tests.support.worker import denials_command

    env = {**os.environ, "DENIALS_PHI_KEY": "not-a-key", "DATABASE_URL": stack.direct_database_url,
           "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap, "DENIALS_DATA_DIR": str(tmp_path)}
    done = await asyncio.to_thread(subprocess.run, [denials_command(), "worker"], capture_output=True, text=True,
                                   env=env, timeout=120)
    assert done.returncode == 2 and "DENIALS_PHI_KEY" in done.stderr and "not-a-key" not in done.stderr
