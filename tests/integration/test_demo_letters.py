"""Every letter of a demo run, checked against its claim's facts: a `denials demo` run (its own key, its own
database) opens tasks across every payer type; the API drafts the letter of each open task, and each one names the
patient, member id and birth date the stream stored, the dates of service, the denied codes, the policy (a Medicare
LCD by its number) and the task's checklist as enclosures, and none says what the claim's facts contradict: no
"enclosed X" without X among its enclosures and on file (a 271, another payer's remittance, the approval of an
authorization the register held), no modifier "on the claim" the submitted line does not carry, no urgency nothing
documents, no X modifier for an office visit, no injection records for a drug test. A task the facts allow no letter
gets a 409 with a recommendation (bill the patient, bill the other payer, verify eligibility, write off), never a
letter that would be upheld on its face."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass

import asyncpg
import pytest
from pydantic import SecretStr

from service.adapters.identifiers import IdentifierVault
from service.domain.letters import LetterBook
from tests.integration.test_api_support import running_api
from tests.integration.test_demo import DemoRun, run_demo
from tests.support import database

CLAIMS = "300"  # ~15 s on two cores: enough tasks for every letter kind and every refusal the demo's scenarios make
OPEN = ("open", "in_progress", "submitted")
REFUSALS = {"write_off_recommended", "corrected_claim_recommended", "reconsideration_not_available",
            "not_appealable", "missing_facts", "bill_patient_recommended", "rebill_other_payer_recommended",
            "verify_eligibility_recommended"}
EM_CODES = {f"992{n:02d}" for n in (2, 3, 4, 5, 11, 12, 13, 14, 15)}
UDT_CODES = {"80305", "80306", "80307", "G0480", "G0481", "G0482", "G0483"}
X_MODIFIERS = ("XE", "XS", "XP", "XU", "59")
LINES = r"Lines? ((?:\d+ \([A-Z0-9]{5}\)(?:, | and )?)+)"
CARRIED = re.compile(LINES + r" carried (?:modifier )?([A-Z0-9]{2}(?:, [A-Z0-9]{2})*)")
CARRIED_NO = re.compile(LINES + r" carried no modifier ([A-Z0-9]{2})")
# "the enclosed X" in a letter's argument -> words one of its enclosures must contain
ENCLOSED = {"enclosed approval": "approval", "enclosed visit note": "Visit note", "enclosed order": "order",
            "enclosed remittance": "remittance", "enclosed justification": "G0483",
            "encloses a signed Waiver of Liability": "Waiver of Liability",
            "enclosed proof of the original submission": "original submission",
            "enclosed eligibility response": "271"}

pytestmark = pytest.mark.timeout(300)


@dataclass
class Drafted:
    task: asyncpg.Record
    status: int
    text: str  # the Markdown letter, or the 409's message
    code: str | None = None


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = database.provision("denials_letters")
    data_dir = tmp_path_factory.mktemp("demo-letters") / "data"
    try:
        run = run_demo(data_dir, "--claims", CLAIMS, "--no-serve", "--json",
                       extra_env={"DATABASE_URL": db.direct_url})
        yield db, data_dir, run
    finally:
        database.teardown(db)


@pytest.fixture(scope="module")
def drafted(demo_db) -> tuple[list[Drafted], dict, str]:
    db, data_dir, run = demo_db
    assert run.returncode == 0, run.stderr[-3000:]
    key = (data_dir / "phi.key").read_text().strip()  # the demo made its own key
    return asyncio.run(_draft_all(db.direct_url, key)) + (key,)


async def _draft_all(url: str, key: str) -> tuple[list[Drafted], dict]:
    async with running_api(url, phi_key=SecretStr(key)) as api:
        token = await api.token("letters-check", [], supervisor=True, user="qa")
        tasks = await api.pool.fetch("SELECT * FROM appeal_tasks WHERE state = ANY($1::text[]) ORDER BY task_id",
                                     list(OPEN))
        out = []
        for t in tasks:
            async with api.session.get(f"{api.base}/api/tasks/{t['task_id']}/letter",
                                       headers={"Authorization": f"Bearer {token}"}) as resp:
                body = await resp.text()
                if resp.status == 409:
                    payload = await resp.json(content_type=None)
                    out.append(Drafted(t, 409, payload["message"], payload["error"]))
                else:
                    out.append(Drafted(t, resp.status, body))
        facts = await _facts(api.pool, [d.task for d in out])
    return out, facts


async def _facts(pool: asyncpg.Pool, tasks: list[asyncpg.Record]) -> dict:
    """What the store says about each task's claim: its submission, identifiers, first submission, decisions."""
    claims = sorted({t["claim_id"] for t in tasks})
    rows = await pool.fetch("SELECT claim_id, submission, service_date_from, service_date_to, adjudicated_payers "
                            "FROM claims WHERE claim_id = ANY($1::text[])", claims)
    ids = await pool.fetch("SELECT * FROM claim_identifiers WHERE claim_id = ANY($1::text[])", claims)
    first = await pool.fetch("SELECT claim_id, min(occurred_at) AS at FROM claim_events WHERE kind = 'submitted' "
                             "AND claim_id = ANY($1::text[]) GROUP BY claim_id", claims)
    decisions = await pool.fetch("SELECT task_id, group_code, reason, rule_id FROM decisions WHERE is_denial "
                                 "AND task_id = ANY($1::text[])", [t["task_id"] for t in tasks])
    reads = await pool.fetch("SELECT task_id, count(*) AS n FROM task_events WHERE change = 'identifiers_read' "
                             "GROUP BY task_id")
    return {"claims": {r["claim_id"]: r for r in rows},
            "identifiers": {(r["claim_id"], r["payer_id"]): r for r in ids},
            "first_submitted": {r["claim_id"]: r["at"].date() for r in first},
            "codes": {(r["task_id"], f"{r['group_code']}-{r['reason']}") for r in decisions},
            "rules": {(r["task_id"], r["rule_id"]) for r in decisions},
            "reads": {r["task_id"]: r["n"] for r in reads}}


def _field(text: str, label: str) -> str:
    match = re.search(rf"^- \*\*{re.escape(label)}:\*\* (.*)$", text, re.M)
    assert match, f"no {label} in the letter"
    return match.group(1).replace("\\", "")


def _identifier(vault: IdentifierVault, facts: dict, claim_id: str, payer_id: str, field: str) -> str | None:
    rows = [r for (c, p), r in facts["identifiers"].items() if c == claim_id and (p == payer_id or
                                                                                 field != "member_id")]
    rows.sort(key=lambda r: r["payer_id"] != payer_id)
    for r in rows:
        if r[f"{field}_enc"] is not None:
            value = vault.decrypt(field, r[f"{field}_enc"])
            return value.isoformat() if isinstance(value, dt.date) else value
    return None


def test_the_demo_run_opens_work_for_every_letter_kind(drafted):
    letters, _, _ = drafted
    kinds = {d.text.split("\n", 1)[0] for d in letters if d.status == 200}
    assert len([d for d in letters if d.status == 200]) >= 10, kinds
    assert "# Medicare redetermination" in kinds
    assert any(k.startswith("# Reconsideration") or k.startswith("# Medicare Advantage plan reconsideration")
               for k in kinds), kinds
    codes = {d.code for d in letters if d.status == 409}
    assert "write_off_recommended" in codes, codes
    assert all(d.status in (200, 409) for d in letters), [(d.status, d.text[:200]) for d in letters]


def test_every_letter_names_the_patient_the_dates_the_codes_the_policy_and_the_enclosures(drafted):
    letters, facts, key = drafted
    vault = IdentifierVault([key])
    for d in (x for x in letters if x.status == 200):
        t, text = d.task, d.text
        claim = facts["claims"][t["claim_id"]]
        where = f"{t['task_id']} ({t['category']}, {t['payer_type']})"
        for label, field in (("Patient", "name"), ("Member id", "member_id"), ("Date of birth", "birth_date")):
            expected = _identifier(vault, facts, t["claim_id"], t["payer_id"], field)
            assert expected is not None, f"{where}: no {field} stored"
            assert _field(text, label) == expected, where
        assert facts["reads"].get(t["task_id"], 0) >= 1, f"{where}: the read is not audited"
        dates = _field(text, "Dates of service")
        assert dates.startswith(claim["service_date_from"].isoformat()), where
        for code in (c for (task_id, c) in facts["codes"] if task_id == t["task_id"]):
            assert code in text, f"{where}: {code} missing"
        for line in t["lines"]:
            if line.get("procedure_code"):
                assert line["procedure_code"] in text, where
        enclosures = text.split("## Enclosures", 1)[1]
        left_out = " ".join(text.split(f"Not enclosed, as {why}: ", 1)[1].split("\n", 1)[0]
                            for why in ("this letter does not argue them", "they do not apply to this claim")
                            if f"Not enclosed, as {why}" in text)
        for item in t["checklist"]:
            shown = item["text"].replace("*", "\\*")
            assert shown in enclosures or shown in left_out, f"{where}: enclosure {item['text']!r} missing"
        assert "family" not in text.lower(), where
        if re.search(r"^## .*: criteria crosswalk$", text, re.M) and t["payer_type"] == "medicare":
            assert re.search(r"LCD L\d{5}", text) or "[to complete: the LCD and" in text, where


def test_no_letter_contradicts_its_claims_facts(drafted):
    letters, facts, _ = drafted
    book = LetterBook.load()
    for d in (x for x in letters if x.status == 200):
        t, text = d.task, d.text
        where = f"{t['task_id']} ({t['category']}, {t['payer_type']})"
        # the timely-filing argument: the first submission on file, inside the window the letter names
        if "## The claim was filed within the filing window" in text:
            first, closed = re.search(r"first submitted on (\d{4}-\d\d-\d\d),.* window that closed on "
                                      r"(\d{4}-\d\d-\d\d)", text).groups()
            assert first == facts["first_submitted"][t["claim_id"]].isoformat(), where
            assert first <= closed, where
        # "within the limits" only when the crosswalk's sessions row is met
        sessions = re.findall(r"^\| Sessions in 12 months[^\n]*\| (met|not met|to document) \|$", text, re.M)
        if "within the coverage limits" in text:
            assert sessions and all(s == "met" for s in sessions), where
        assert "not met |" not in "".join(r for r in text.splitlines() if r.startswith("| Sessions in 12 months"))
        # no medical-necessity argument for a frequency denial, nor for an epidural without a covered diagnosis
        reasons = {c.split("-", 1)[1] for (task_id, c) in facts["codes"] if task_id == t["task_id"]}
        if reasons & {"119", "151"}:
            assert "## The services were medically necessary" not in text, where
        if "## The services were medically necessary" in text:
            diagnoses = (facts["claims"][t["claim_id"]]["submission"] or {}).get("diagnoses") or []
            for line in t["lines"]:
                rule = book.diagnosis_rule(book.pain.catalog.family(line.get("procedure_code")))
                if rule is not None and diagnoses:
                    assert any(rule.covers(dx) for dx in diagnoses), where


def test_a_task_without_a_letter_says_why_without_naming_the_patient(drafted):
    letters, facts, key = drafted
    vault = IdentifierVault([key])
    for d in (x for x in letters if x.status == 409):
        t = d.task
        assert d.code in REFUSALS, (d.code, d.text)
        assert t["task_id"] not in facts["reads"], "a refused letter read the identifiers"
        for field in ("name", "member_id", "birth_date"):
            value = _identifier(vault, facts, t["claim_id"], t["payer_id"], field)
            assert value is None or value not in d.text
        if d.code == "write_off_recommended":
            assert "Recommend a write-off of the denied balance, not an appeal." in d.text


def test_the_summary_and_the_letters_share_one_run(demo_db):
    _, _, run = demo_db
    assert isinstance(run, DemoRun) and run.summary["dead_letters"] == 0


def _submitted_modifiers(claim) -> dict[str, set[str]]:
    """The modifiers of each line as the claim was submitted."""
    return {line["line_id"]: set(line.get("modifiers") or ())
            for line in (claim["submission"] or {}).get("lines") or ()}


def _lines(named: str) -> list[str]:
    return re.findall(r"(\d+) \(", named)


def _body(text: str) -> str:
    """The letter as sent: without the draft box and the enclosure list."""
    return "\n".join(x for x in text.split("## Enclosures", 1)[0].splitlines() if not x.startswith(">"))


def test_no_letter_asserts_an_enclosure_a_modifier_or_a_fact_that_is_not_on_file(drafted):
    letters, facts, _ = drafted
    for d in (x for x in letters if x.status == 200):
        t, text = d.task, d.text
        where = f"{t['task_id']} ({t['category']}, {t['payer_type']})"
        claim = facts["claims"][t["claim_id"]]
        body, enclosures = _body(text), text.split("## Enclosures", 1)[1].split("\nPlease contact", 1)[0]
        rules = {r for (task_id, r) in facts["rules"] if task_id == t["task_id"]} | set(t["rule_ids"])
        # urgency nothing documents; a modifier the claim does not carry
        assert "could not wait" not in body and "modifiers on the claim" not in body, where
        submitted = _submitted_modifiers(claim)
        for named, modifiers in CARRIED.findall(body):
            for line in _lines(named):
                assert set(modifiers.split(", ")) <= submitted.get(line, set()), (where, line, modifiers)
        for named, modifier in CARRIED_NO.findall(body):
            for line in _lines(named):
                assert modifier not in submitted.get(line, set()), (where, line, modifier)
        # every "enclosed X" is among the enclosures, and what it encloses is on file
        for phrase, needed in ENCLOSED.items():
            if phrase in body:
                assert needed in enclosures, (where, phrase)
        assert "enclosed eligibility response" not in body, where  # the store keeps no 271
        if "its enclosed remittance" in body:
            other = re.search(r"([A-Z0-9-]+)\) adjudicated the claim|([A-Z0-9-]+) adjudicated the claim", body)
            payer = next(g for g in other.groups() if g)
            assert payer in claim["adjudicated_payers"] and payer != t["payer_id"], where
        if "MSP questionnaire" in enclosures:
            assert t["payer_type"] in ("medicare", "medicare_advantage"), where
        if "The practice obtained authorization" in body:
            assert "auth.on_file" in rules, where
        # an office visit is argued with modifier 25, never an X modifier; a drug test encloses no injection records
        codes = {line.get("procedure_code") for line in t["lines"]}
        if t["category"] == "bundling" and codes <= EM_CODES:
            assert not any(x in enclosures or f" {x} " in body for x in X_MODIFIERS), where
            assert "modifier 25" in body, where
        if codes and codes <= UDT_CODES:
            assert not re.search(r"[Ii]njection|fluoroscop|Imaging report", enclosures), where
        # a Medicare Advantage first-level request says what the practice's contract status asks of it
        if t["payer_type"] == "medicare_advantage" and t["appeal_level"] == 1:
            assert "## Provider status with the plan" in text, where


def test_tasks_whose_next_step_is_not_an_appeal_get_the_same_refusal_whatever_their_route(drafted):
    letters, _, _ = drafted
    expected = {"bill_patient": "bill_patient_recommended"}
    for d in letters:
        t = d.task
        if t["action"] in expected:
            assert (d.status, d.code) == (409, expected[t["action"]]), (t["task_id"], d.code)
            if "GA" in {m for line in t["lines"] for m in line.get("modifiers") or ()}:
                assert "bill the patient (ABN on file)" in d.text
        if t["category"] == "eligibility" and d.status == 409:
            assert d.code == "verify_eligibility_recommended", (t["task_id"], d.code)
        if t["category"] == "coordination_of_benefits" and d.status == 409:
            assert d.code == "rebill_other_payer_recommended", (t["task_id"], d.code)
    assert not any(d.status == 200 and d.task["category"] == "eligibility" for d in letters)
