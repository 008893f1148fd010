"""The demo's pre-submission step: the practice's authorization register, and `denials check` run on the run's
claims as they were first submitted, against the database the worker filled, to count the denials it would have
prevented.

The register holds what the practice obtained (including the authorizations whose number never reached the claim),
imported before the stream so the worker reads it on a CO-197. The check then reads each claim's history from
PostgreSQL, so it sees what the worker stored; a denial counts as prevented when a `deny` finding named its claim and
line (or the whole claim) on the claim's first adjudication and the denial's cause is the finding's category (a
missing-JZ finding does not prevent a medical-necessity denial of the same line).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from service.adapters.authorizations import save_authorizations
from service.adapters.clock import SystemClock
from service.adapters.presubmission import PostgresCheckStore
from service.bootstrap import member_digest
from service.demo.clinic import PAYERS
from service.demo.stream import DemoStream
from service.domain.authorizations import Authorization
from service.domain.presubmission import Checker, load_checker
from service.service_layer import mapping
from service.service_layer.presubmission import check_submissions
from topics.catalogue import CLAIMS_STATUS
from topics.codec import decode
from topics.status import StatusEvent

# The demo's visit kinds as the check's family groups (what the practice's payer lists name), and the kinds a payer
# authorizes on their own although they share codes (an SCS trial and the implant both bill 63650).
KIND_GROUPS = {"esi": "esi", "facet": "facet", "rfa": "rfa", "si": "si", "scs_trial": "scs", "scs_implant": "scs"}
SEPARATE_KINDS = ("scs_trial", "scs_implant")
# An authorization is issued shortly before the visit it was asked for, is good for a few weeks, and covers that one
# session of that procedure (its family: the primary code and its add-on levels).
AUTH_ISSUED_BEFORE, AUTH_VALID_FOR = dt.timedelta(days=10), dt.timedelta(days=60)
AUTH_SESSIONS = 1


def clinic_payers() -> dict[str, dict[str, Any]]:
    """What the practice knows about its payers: which services need prior authorization. (Each payer's filing
    window is the policy table's, payer_policies.toml, which the check and the worker both read.)"""
    return {payer.id: {"authorization": sorted({KIND_GROUPS[k] for k in payer.auth_kinds if k in KIND_GROUPS})}
            for payer in PAYERS}


def checker() -> Checker:
    return load_checker().with_payers(clinic_payers())


def authorization_scope(kind: str, codes: tuple[str, ...]) -> str:
    """What the register row names: the separately authorized kind, else the family of the visit's primary code (so
    an authorization for a transforaminal injection never covers an interlaminar one)."""
    if kind in SEPARATE_KINDS:
        return kind
    family = load_checker().tools.pain.catalog.family(codes[0]) if codes else None
    return family or KIND_GROUPS[kind]


def register_rows(stream: DemoStream, digest) -> list[Authorization]:
    """The practice's authorizations as register rows (member ids as keyed digests only)."""
    return [Authorization(payer_id=a.payer_id, member_digest=digest(a.member_id), auth_number=a.auth_number,
                          scope=authorization_scope(a.kind, a.codes),
                          valid_from=a.service_date - AUTH_ISSUED_BEFORE,
                          valid_to=a.service_date - AUTH_ISSUED_BEFORE + AUTH_VALID_FOR, sessions=AUTH_SESSIONS)
            for a in stream.authorizations if a.kind in KIND_GROUPS]


async def register_authorizations(conn: asyncpg.Connection, stream: DemoStream) -> int:
    """Put the practice's authorizations in the register (member ids as keyed digests only)."""
    auths = register_rows(stream, member_digest())
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
SELECT d.claim_id, d.line_id, d.category, sum(d.amount) AS amount
FROM first f JOIN decisions d ON d.event_id = f.event_id
WHERE d.is_denial
GROUP BY d.claim_id, d.line_id, d.category"""


async def check_the_run(conn: asyncpg.Connection, stream: DemoStream) -> CheckSummary:
    """Run the check on the run's first submissions (history from PostgreSQL) and count what it would have
    prevented on the first adjudications."""
    submissions = first_submissions(stream)
    async with conn.transaction():
        run = await check_submissions(submissions, checker(), store=PostgresCheckStore(conn), clock=SystemClock(),
                                      member_digest=member_digest(), origin="demo")
    causes: dict[tuple[str, str | None], dict[str, Decimal]] = defaultdict(dict)
    for r in await conn.fetch(_FIRST_DENIED_LINES, stream.prefix + "%"):
        causes[(r["claim_id"], r["line_id"])][r["category"]] = r["amount"]
    return summarize(run.claims, causes)


def summarize(claims, causes: dict[tuple[str, str | None], dict[str, Decimal]]) -> CheckSummary:
    """The check's outcomes against the first adjudications' denied lines (`causes`: per claim and line, the denied
    amount per cause). A deny finding prevents the denied amount of its line (or of every line, for a claim-level
    finding) whose cause is the finding's category."""
    out = CheckSummary(claims=len(claims))
    out.flagged = sum(1 for c in claims if c.outcome.outcome == "flagged")
    out.warned = sum(1 for c in claims if c.outcome.outcome == "warned")
    out.denied_lines = len(causes)
    out.denied_amount = sum((a for by in causes.values() for a in by.values()), Decimal("0.00"))
    denied_claims = {claim for claim, _ in causes}
    findings = Counter()
    prevented: dict[str, set[tuple[str, str | None, str]]] = defaultdict(set)
    named: set[tuple[str, str | None, str]] = set()
    for c in claims:
        if c.outcome.outcome == "flagged" and c.submission.claim_id not in denied_claims:
            out.flagged_paid += 1
        for f in c.findings:
            findings[f.rule_id] += 1
            if f.severity != "deny":
                continue
            hits = [(*key, f.category) for key, by in causes.items()
                    if key[0] == f.claim_id and (f.line_id is None or key[1] == f.line_id) and f.category in by]
            prevented[f.rule_id].update(hits)
            named.update(hits)

    def amount(keys) -> Decimal:
        return sum((causes[(claim, line)][cause] for claim, line, cause in keys), Decimal("0.00"))

    out.prevented_lines = len({(claim, line) for claim, line, _ in named})
    out.prevented_amount = amount(named)
    out.by_rule = [{"rule_id": rule, "findings": n,
                    "denials_prevented": len({(claim, line) for claim, line, _ in prevented[rule]}),
                    "amount": float(amount(prevented[rule]))}
                   for rule, n in sorted(findings.items(), key=lambda kv: (-len(prevented[kv[0]]), -kv[1], kv[0]))]
    return out
