"""`GET /api/prevention` and `GET /api/recoupments` over denials and PLB adjustments the worker stored from the
broker. The API runs in-process on the shared test database; every query names this test's own payer
(`PAY-<run_id>`), so only this test's rows are counted.

Fixture: three claims denied CO-197 on 64483 at $1,200.00 with no authorization on file (3 denials, $3,600.00), one
claim whose submission carried an authorization number the payer failed to match (not avoidable: not counted), two
64493 lines denied for a missing modifier (below the default minimum of 3).
"""

from __future__ import annotations

import datetime as dt

from tests.integration.test_api_support import running_api
from tests.support import events
from tests.support.kafka import publish_json
from tests.support.ports import eventually


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(when: dt.datetime) -> str:
    # A remittance answers the submission in effect at its production date (business time), so the dates must agree
    # with the submission's, which is sent 20 days ago.
    return when.date().isoformat()


async def test_prevention_lists_the_avoidable_cause_with_counts_and_example_claims(stack, worker, db, run_id):
    payer = {"id": f"PAY-{run_id}", "name": "Test plan", "type": "commercial"}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    auth = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                        adjustments=[{"group": "CO", "reason": "197", "amount": 1200.00}])]
    coding = [events.line("1", "64493", [], charge=900.00, paid=0.00,
                          adjustments=[{"group": "CO", "reason": "4", "amount": 900.00}])]
    remits = [events.remittance(f"rm-{run_id}-{n}", f"PC-{run_id}-{n}", payer=payer, lines=auth,
                                occurred_at=_iso(now - dt.timedelta(days=10 - n)), trace_number=f"EFT-{run_id}-{n}",
                                production_date=_day(now - dt.timedelta(days=10 - n)))
              for n in (1, 2, 3)]
    remits += [events.remittance(f"rm-{run_id}-k{n}", f"PC-{run_id}-k{n}", payer=payer, lines=coding,
                                 occurred_at=_iso(now - dt.timedelta(days=5)), trace_number=f"EFT-{run_id}-k{n}",
                                 production_date=_day(now - dt.timedelta(days=5)))
               for n in (1, 2)]
    matched = f"PC-{run_id}-m"
    await publish_json(stack.bootstrap, "claims.status.v1", [events.submitted(
        f"st-{run_id}-m", matched, payer=payer, prior_authorization="AUTH-77",
        occurred_at=_iso(now - dt.timedelta(days=20)))])
    # another topic, another agent: the submission must be on file before its remittance is classified
    await eventually(lambda: db.fetchval("SELECT submission IS NOT NULL FROM claims WHERE claim_id = $1", matched),
                     message="the submission with its authorization number")
    remits.append(events.remittance(f"rm-{run_id}-m", matched, payer=payer, lines=auth,
                                    occurred_at=_iso(now - dt.timedelta(days=3)), trace_number=f"EFT-{run_id}-m",
                                    production_date=_day(now - dt.timedelta(days=3))))
    await publish_json(stack.bootstrap, "claims.remittance.v1", remits)
    await eventually(lambda: db.fetchval(
        "SELECT count(DISTINCT event_id) = 6 FROM decisions WHERE payer_id = $1", payer["id"]),
        message="the six remittances classified")
    assert await db.fetchval("SELECT rule_id FROM decisions WHERE event_id = $1", f"rm-{run_id}-m") == "auth.on_claim"

    async with running_api(stack.direct_database_url) as api:
        auth_team = await api.token(f"auth-{run_id}", ["authorization"])
        status, body = await api.call("GET", "/api/prevention", token=auth_team, params={"payer": payer["id"]})
        assert status == 200, body
        (rule,) = body["rules"]
        assert rule["rule"] == (f"payer {payer['id']} denies 64483 without prior authorization: 3 denials, "
                                "$3,600.00 in 90 days")
        assert (rule["denials"], rule["claims"], rule["amount"], rule["codes"]) == (3, 3, 3600.0, ["CO-197"])
        assert rule["example_claims"] == [f"PC-{run_id}-3", f"PC-{run_id}-2", f"PC-{run_id}-1"]
        assert rule["check"].startswith("require a prior-authorization number (REF*G1)")

        # the coding denials: listed from two, and only for a token that sees the coding queue
        status, body = await api.call("GET", "/api/prevention", token=auth_team,
                                      params={"payer": payer["id"], "min_denials": "2"})
        assert [r["condition"] for r in body["rules"]] == ["no_prior_authorization"]
        supervisor = await api.token(f"sup-{run_id}", [], supervisor=True)
        status, body = await api.call("GET", "/api/prevention", token=supervisor,
                                      params={"payer": payer["id"], "min_denials": "2"})
        assert [(r["condition"], r["denials"]) for r in body["rules"]] == [
            ("no_prior_authorization", 3), ("modifier_error", 2)]
        # a window that ends before the denials sees nothing
        status, body = await api.call("GET", "/api/prevention", token=supervisor,
                                      params={"payer": payer["id"], "days": "1"})
        assert (status, body["rules"]) == (200, [])
        status, body = await api.call("GET", "/api/prevention", token=supervisor, params={"days": "0"})
        assert (status, body["error"]) == (422, "validation_error")


async def test_recoupments_list_the_unlinked_ones_for_the_contracts_queue(stack, worker, db, run_id):
    payer = {"id": f"PAY-{run_id}", "name": "Test plan", "type": "commercial"}
    claim_id = f"PC-{run_id}"
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}", claim_id, payer=payer, trace_number=f"EFT-{run_id}")])
    await eventually(lambda: db.fetchval("SELECT 1 FROM claims WHERE claim_id = $1", claim_id), message="the claim")
    production = dt.date.today() - dt.timedelta(days=3)

    def plb(n: int, reason: str, amount: float, claim: str | None) -> dict:
        return {"event_id": f"plb-{run_id}-{n}", "schema_version": 1, "occurred_at": "2026-07-01T10:00:00Z",
                "payer": payer, "payee": {"npi": f"NPI{run_id}"},
                "remit": {"trace_number": f"EFT-{run_id}-p", "production_date": production.isoformat()},
                "adjustment": {"reason": reason, "reference": f"REF-{n}", "claim_id": claim, "amount": amount}}

    await publish_json(stack.bootstrap, "remittance.provider-adjustments.v1", [
        plb(1, "WO", 250.00, None), plb(2, "WO", 95.00, claim_id), plb(3, "L6", -4.10, None),
        plb(4, "72", 40.00, f"PC-{run_id}-unknown")], key_of=lambda e: e["payee"]["npi"])
    await eventually(lambda: db.fetchval("SELECT count(*) = 4 FROM provider_adjustments WHERE payee_npi = $1",
                                         f"NPI{run_id}"), message="the four adjustments")

    async with running_api(stack.direct_database_url) as api:
        contracts = await api.token(f"contracts-{run_id}", ["contracts"])
        status, body = await api.call("GET", "/api/recoupments", token=contracts, params={"payer": payer["id"]})
        assert status == 200, body
        assert [(r["event_id"], r["reason"], r["amount"], r["linked"]) for r in body["recoupments"]] == [
            (f"plb-{run_id}-1", "WO", 250.0, False), (f"plb-{run_id}-4", "72", 40.0, False)]
        assert body["recoupments"][0]["meaning"] == "overpayment recovery" and body["count"] == 2
        status, body = await api.call("GET", "/api/recoupments", token=contracts,
                                      params={"payer": payer["id"], "linked": "true"})
        assert [(r["event_id"], r["claim_id"]) for r in body["recoupments"]] == [(f"plb-{run_id}-2", claim_id)]
        coding = await api.token(f"coding-{run_id}", ["coding"])
        status, body = await api.call("GET", "/api/recoupments", token=coding)
        assert (status, body["error"]) == (403, "forbidden")
