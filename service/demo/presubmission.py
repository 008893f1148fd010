"""The demo's pre-submission step: the practice's authorization register, and `denials check` run on the run's
claims as they were first submitted, against the database the worker filled, to count the denials it would have
prevented.

The register holds what the practice obtained (including the authorizations whose number never reached the claim),
imported before the stream so the worker reads it on a CO-197. The check then reads each claim's history from
PostgreSQL, so it sees what the worker stored; a denial counts as prevented when a `deny` finding named its claim and
line (or the whole claim) on the claim's first adjudication.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from service.adapters.authorizations import save_authorizations
from service.adapters.presubmission import PostgresCheckStore
from service.demo.clinic import PAYERS
from service.demo.stream import DemoStream
from service.domain.authorizations import Authorization
from service.domain.presubmission import Checker, load_checker
from service.service_layer import mapping
from service.service_layer.handlers import default_member_digest
from service.service_layer.presubmission import check_submissions
from topics.catalogue import CLAIMS_STATUS
from topics.codec import decode
from topics.status import StatusEvent

# The demo's visit kinds as the check's family groups (what an authorization names).
KIND_GROUPS = {"esi": "esi", "facet": "facet", "rfa": "rfa", "si": "si", "scs_trial": "scs", "scs_implant": "scs"}
AUTH_VALID_BEFORE, AUTH_VALID_AFTER = dt.timedelta(days=30), dt.timedelta(days=90)


def clinic_payers() -> dict[str, dict[str, Any]]:
    """What the practice knows about its payers: which services need prior authorization, and each filing window."""
    out: dict[str, dict[str, Any]] = {}
    for payer in PAYERS:
        out[payer.id] = {"authorization": sorted({KIND_GROUPS[k] for k in payer.auth_kinds if k in KIND_GROUPS}),
                         "filing_days": payer.filing_limit_days, "filing_default": False,
                         "filing_basis": f"{payer.name} contract: {payer.filing_limit_days} days after the date of "
                                         "service"}
    return out


def checker() -> Checker:
    return load_checker().with_payers(clinic_payers())


async def register_authorizations(conn: asyncpg.Connection, stream: DemoStream) -> int:
    """Put the practice's authorizations in the register (member ids as keyed digests only)."""
    digest = default_member_digest()
    auths = [Authorization(payer_id=a.payer_id, member_digest=digest(a.member_id), auth_number=a.auth_number,
                           scope=KIND_GROUPS[a.kind], valid_from=a.service_date - AUTH_VALID_BEFORE,
                           valid_to=a.service_date + AUTH_VALID_AFTER)
             for a in stream.authorizations if a.kind in KIND_GROUPS]
    if auths:
        async with conn.transaction():
            await save_authorizations(conn, auths, "demo")
    return len(auths)


def first_submissions(stream: DemoStream):
    """Each claim as the practice first sent it (the last original before any correction: a resubmission after a
    front-door rejection replaces the rejected one), in the order they were sent."""
    latest = {}
    for record in stream.records():
        if record.topic != CLAIMS_STATUS:
            continue
        event = decode(StatusEvent, record.value)
        if event.kind == "submitted" and (event.claim.frequency_code or "1") == "1":
            latest[event.claim.claim_id] = event
    return sorted((mapping.submission(e) for e in latest.values()), key=lambda s: (s.occurred_at, s.event_id))


@dataclass
class CheckSummary:
    claims: int = 0
    flagged: int = 0
    warned: int = 0
    denied_lines: int = 0  # denied lines of the claims' first adjudications
    denied_amount: Decimal = Decimal("0.00")
    prevented_lines: int = 0  # of them, lines a deny finding named before submission
    prevented_amount: Decimal = Decimal("0.00")
    flagged_paid: int = 0  # flagged claims whose first adjudication denied nothing
    by_rule: list[dict[str, Any]] = field(default_factory=list)  # rule, findings, denials prevented, amount

    def as_json(self) -> dict[str, Any]:
        return {"claims_checked": self.claims, "flagged": self.flagged, "warned": self.warned,
                "denied_lines": self.denied_lines, "denied_amount": float(self.denied_amount),
                "prevented_denials": self.prevented_lines, "prevented_amount": float(self.prevented_amount),
                "flagged_but_paid": self.flagged_paid, "by_rule": self.by_rule}


_FIRST_DENIED_LINES = """
WITH first AS (
    SELECT DISTINCT ON (claim_id) claim_id, event_id FROM remittances
    WHERE claim_id LIKE $1 AND duplicate_of IS NULL AND status_code <> '22'
    ORDER BY claim_id, occurred_at, event_id)
SELECT d.claim_id, d.line_id, sum(d.amount) AS amount
FROM first f JOIN decisions d ON d.event_id = f.event_id
WHERE d.is_denial
GROUP BY d.claim_id, d.line_id"""


async def check_the_run(conn: asyncpg.Connection, stream: DemoStream) -> CheckSummary:
    """Run the check on the run's first submissions (history from PostgreSQL) and count what it would have
    prevented on the first adjudications."""
    submissions = first_submissions(stream)
    async with conn.transaction():
        run = await check_submissions(submissions, checker(), store=PostgresCheckStore(conn),
                                      member_digest=default_member_digest(), origin="demo")
    denied = {(r["claim_id"], r["line_id"]): r["amount"]
              for r in await conn.fetch(_FIRST_DENIED_LINES, stream.prefix + "%")}
    out = CheckSummary(claims=len(run.claims))
    out.flagged = sum(1 for c in run.claims if c.outcome.outcome == "flagged")
    out.warned = sum(1 for c in run.claims if c.outcome.outcome == "warned")
    out.denied_lines, out.denied_amount = len(denied), sum(denied.values(), Decimal("0.00"))
    denied_claims = {claim for claim, _ in denied}
    findings = Counter()
    prevented: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    named: set[tuple[str, str | None]] = set()
    for c in run.claims:
        if c.outcome.outcome == "flagged" and c.submission.claim_id not in denied_claims:
            out.flagged_paid += 1
        for f in c.findings:
            findings[f.rule_id] += 1
            if f.severity != "deny":
                continue
            hits = [key for key in denied if key[0] == f.claim_id and (f.line_id is None or key[1] == f.line_id)]
            prevented[f.rule_id].update(hits)
            named.update(hits)
    out.prevented_lines = len(named)
    out.prevented_amount = sum((denied[key] for key in named), Decimal("0.00"))
    out.by_rule = [{"rule_id": rule, "findings": n, "denials_prevented": len(prevented[rule]),
                    "amount": float(sum((denied[k] for k in prevented[rule]), Decimal("0.00")))}
                   for rule, n in sorted(findings.items(), key=lambda kv: (-len(prevented[kv[0]]), -kv[1], kv[0]))]
    return out
