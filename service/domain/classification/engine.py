"""The denial classifier: one decision per adjustment of a remittance, in DESIGN.md's precedence.

1. non-denial kinds: reversals, predeterminations and crossovers by CLP02; a group that changes the reading
   (`carc_groups.csv`: CO-137 is a tax, PR-45 is not a write-down, CR is a 4010 correction except on a denied claim);
   cost share, contractual and informational adjustments by CARC;
2. a remark that names the cause of a generic CARC (16, 96, A1, 234, 129 ...) gives the category;
3. otherwise the CARC's category;
4. claim history, for generic necessity/frequency codes only (a limit exceeded makes it `frequency_limit`;
   a missing prerequisite is named);
5. the pain-management layer explains and routes coding, bundling, duplicate and authorization denials;
6. payer-type routes, then remarks that change the route (action, appealability, queue; never the category);
7. liability: PR denials bill the patient, CO/PI/OA never do, and the patient is billed only once every payer on the
   claim has adjudicated;
8. queue, the two clocks, the checklist and a one-sentence explanation.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from service.domain import model
from service.domain.authorizations import Authorization, AuthorizationScopes, EarlierUse, covering
from service.domain.authorizations import sides_of as billed_sides
from service.domain.checklists import ChecklistBook
from service.domain.classification.codes import CarcRow, CodeTables, GroupRow, Lookup, RarcRow
from service.domain.classification.outcomes import Outcomes
from service.domain.classification.routing import Routing
from service.domain.classification.status import StatusClassifier
from service.domain.classification.vocabulary import ACTION_PHRASES, APPEAL_WINDOW_ACTIONS, FILING_ACTIONS
from service.domain.classification.write_offs import late_filing
from service.domain.clocks import Clock, Clocks, PayerPolicy, appeal_deadline, filing_deadline, reopening_deadline
from service.domain.memo import Memo
from service.domain.pain import PainRules
from service.domain.pain.bundling import addon_finding, pair_finding
from service.domain.pain.diagnoses import AxialRules
from service.domain.pain.duplicates import duplicate_finding
from service.domain.pain.history import (
    LIKELY_NOT_MET,
    MET,
    MISSING,
    NOT_MET,
    UNDECIDABLE,
    frequency_finding,
    prerequisite_finding,
    region_words,
    repeat_finding,
    side_words,
    sides_of,
)
from service.domain.pain.modifiers import modifier_findings
from service.domain.policy import CoveragePolicies, FamilyPolicy
from service.domain.pricing import PricingRules
from service.domain.ruledata import RuleFiles, rules_root

# Every number a step applies and every code list that starts a step is a row of `outcomes.csv` (read by rule id, in
# force on the remittance's production date). What stays here chooses a path, not a value: the CAS group (PR makes
# the patient liable, as DESIGN says), the payer type's process (Medicare corrects a clerical error by reopening,
# counts Part A filing from the through date) and which finding leads to which action and explanation.

# Actions whose decisions carry a clock (dated from the remittance and the line): never taken from the memo.
_CLOCK_ACTIONS = frozenset({"reopening", *APPEAL_WINDOW_ACTIONS, *FILING_ACTIONS})
# Bounds of the per-classifier caches (entries); a full cache is emptied and refilled, never grown.
_LOOKUP_CACHE_MAX = 65536
_PLAIN_CACHE_MAX = 8192


@dataclass(frozen=True, slots=True)
class _Plain:
    """A non-denial reading that no history, pain-management or clock rule touched: everything of the decision that
    does not belong to the line (amount, procedure, dates) and the explanation after its head."""

    category: str
    action: str
    queue: str | None
    appealable: bool
    recoverability: float
    rule_id: str
    checklist: tuple[model.ChecklistItem, ...]
    tail: str
    unknown_remarks: tuple[str, ...]


# A retired code's legacy reading takes the kind its category implies (a retired deductible code is cost share).
_LEGACY_KINDS = {"patient_responsibility": "cost_share", "contractual": "contractual", "informational": "informational"}


@dataclass
class _Draft:
    """A decision being made: each precedence step may change it and says why."""

    category: str
    is_denial: bool
    action: str
    appealable: bool
    recoverability: float
    rule_id: str
    clauses: list[str] = field(default_factory=list)
    code_rule: str = ""  # the rule id the codes gave (CARC row or group row), before any later step changed it
    queue: str | None = None  # set when a rule names the team; else routing decides
    extra_items: list[model.ChecklistItem] = field(default_factory=list)
    cause_remark: str | None = None  # the remark that named the category, if any
    route_notes: list[tuple[str, str]] = field(default_factory=list)  # (rule_id, clause): said if that rule decides
    value: Decimal | None = None  # what the fix can bring back, when a rule values it (else the denied amount)

    def route(self, action: str, rule_id: str, clause: str | None = None, *, appealable: bool | None = None,
              recoverability: float | None = None) -> None:
        self.action = action
        self.rule_id = rule_id
        if appealable is not None:
            self.appealable = appealable
        if recoverability is not None:
            self.recoverability = recoverability
        if clause:
            self.clauses.append(clause)


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the engine knows about the remittance being classified."""

    remit: model.Remittance
    facts: model.ClaimFacts | None
    policy: PayerPolicy
    part: str | None  # Medicare part A or B
    reading: str  # processed | denied | forwarded | reversal | not_ours | predetermination
    same_claim: tuple[model.HistorySession, ...]
    history: tuple[model.HistorySession, ...]  # earlier sessions plus this claim's lines
    pending_payers: tuple[str, ...]
    as_of: dt.date | None
    # what `_patient_billing` reads of the claim (forwarded, payers pending): part of the plain-reading memo's key
    billing: tuple[bool, tuple[str, ...]] = (False, ())

    @property
    def payer_type(self) -> str:
        return self.remit.payer.type

    @property
    def part_b(self) -> bool:
        return self.payer_type == "medicare" and self.part == "B"


def _session(remit: model.Remittance, line: model.RemitLine,
             detail: model.SessionDetail = model.NO_DETAIL) -> model.HistorySession:
    service_date = line.service_date or remit.first_service_date or remit.production_date
    return model.HistorySession(claim_id=remit.claim_id, line_id=line.line_id, service_date=service_date,
                                procedure=line.procedure, paid=line.paid > 0, detail=detail)


def _details(remit: model.Remittance, facts: model.ClaimFacts | None,
             history: Sequence[model.HistorySession]) -> dict[str, model.SessionDetail]:
    """What the platform documented about this claim's lines (side, levels, intent, relief), by line id: from the
    submission when it is known, else from the history rows the store kept for the claim."""
    out = {s.line_id: s.detail for s in history if s.claim_id == remit.claim_id and not s.detail.empty}
    submission = facts.submission if facts else None
    if submission is not None:
        codes = {line.line_id: line.procedure.code for line in remit.lines}
        for line in submission.lines:
            if not line.detail.empty and codes.get(line.line_id) == line.procedure.code:
                out[line.line_id] = line.detail
    return out


def _procedure_text(procedure: model.Procedure | None) -> str:
    if procedure is None:
        return ""
    return "-".join((procedure.code, *procedure.modifiers))


def _pending_payers(remit: model.Remittance, facts: model.ClaimFacts | None) -> tuple[str, ...]:
    """Payers on the claim (the submission's payer and its other payers) that have not adjudicated it yet."""
    if facts is None or facts.submission is None:
        return ()
    on_claim = [facts.submission.payer.id, *(p.id for p in facts.submission.other_payers)]
    done = set(facts.adjudicated_payers) | {remit.payer.id}
    return tuple(dict.fromkeys(p for p in on_claim if p not in done))


class Classifier:
    """Loads the rule tables once; `classify` and `classify_status` are pure functions of their arguments."""

    def __init__(self, files: RuleFiles | None = None, *, clocks: Clocks | None = None):
        files = files or RuleFiles()
        self.rules_version: str = files.version()
        self.codes = CodeTables.load(files)
        self.routing = Routing.load(files)
        self.pain = PainRules.load(files)
        self.axial = AxialRules.load(files)  # lines whose diagnoses their policy never covers (axial-only ESI)
        self.coverage = CoveragePolicies.load(files, self.pain.families)
        # family groups an authorization may name (esi, facet, rfa ...): the check's table
        self.auth_scopes = AuthorizationScopes.from_table(files.toml("check_rules"), self.pain.families)
        self.pricing = PricingRules.from_texts(files.text("pricing.toml"), files.text("pricing_codes.csv"))
        self.clocks = clocks or Clocks.load(files)
        self.checklists = ChecklistBook.load(files)
        # The steps' numbers and code lists (`outcomes.csv`), checked against the codes the other tables know.
        self.outcomes = Outcomes.load(files, carcs=frozenset(self.codes.carc.codes()),
                                      rarcs=frozenset(self.codes.rarc.codes()),
                                      ncci=frozenset(pair.id for pair in self.pain.ncci))
        self.status = StatusClassifier(self.codes, self.routing, self.checklists, self.rules_version)
        # Remarks that mark a Qualified Medicare Beneficiary (deductible, coinsurance, copay): read from the table.
        self.qmb_remarks = frozenset(code for code in self.codes.rarc.codes()
                                     if any(row.liability == "qmb" for row in self.codes.rarc.versions(code)))
        # Codes the tables do not know, as "CARC:<code>" / "RARC:<code>"; the raw code is also kept on the decision.
        self.unknown_codes: Counter[str] = Counter()
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Code lookups by (code, date), and non-denial readings by everything they depend on (`_plain_key`): most
        adjustments are CO-45 and PR cost share, read the same way for every line of the same codes and family."""
        self._carc_cache: Memo = Memo(_LOOKUP_CACHE_MAX)  # (code, date) -> (Lookup[CarcRow], token)
        self._rarc_cache: Memo = Memo(_LOOKUP_CACHE_MAX)  # (code, date) -> (Lookup[RarcRow], token)
        self._group_cache: Memo = Memo(_LOOKUP_CACHE_MAX)  # (group, reason, date, reading) -> GroupRow | None
        self._plain: Memo = Memo(_PLAIN_CACHE_MAX)  # _plain_key -> _Plain | None
        # Deadlines by (which clock, the payer's policy (a frozen value), the day it counts from): pure functions of
        # these and the holiday calendar, which a classifier never changes.
        self._clock_cache: Memo = Memo(_LOOKUP_CACHE_MAX)

    def with_payer_overrides(self, overrides: dict[str, dict[str, Any]]) -> Classifier:
        """The same rules with per-payer-id policy overrides (a clinic's contract windows)."""
        clone = object.__new__(Classifier)
        clone.__dict__.update(self.__dict__)
        clone.clocks = self.clocks.with_overrides(overrides)
        clone.unknown_codes = Counter()
        clone._reset_caches()
        return clone

    def with_coverage(self, payers: dict[str, dict[str, Any]]) -> Classifier:
        """The same rules with per-payer-id coverage rows (a clinic's knowledge of a plan's policy)."""
        clone = object.__new__(Classifier)
        clone.__dict__.update(self.__dict__)
        clone.coverage = self.coverage.with_payers(payers)
        clone.unknown_codes = Counter()
        clone._reset_caches()
        return clone

    def policy(self, payer: model.Payer, family: str | None, on: dt.date | None) -> FamilyPolicy:
        return self.coverage.policy_for(payer.type, payer.id, family, on, payer_name=payer.name)

    # ----------------------------------------------------------------------------------------------- remittances

    def classify(self, remit: model.Remittance, *, facts: model.ClaimFacts | None,
                 history: Sequence[model.HistorySession], as_of: dt.date | None = None) -> list[model.Decision]:
        """One decision per adjustment: claim-level adjustments first, then each line's in order."""
        claim = self._claim(remit, facts, history, as_of)
        on = remit.production_date
        # What the plain-reading memo's key takes from the claim, the remarks and the line: read once, not once per
        # adjustment (`_decide` puts them together with the adjustment's own codes).
        context = (claim.reading, claim.billing, self.outcomes.epoch(on))
        decisions = []
        if remit.adjustments:
            looked_up = [self._rarc(code, on) for code in remit.remarks]
            common = (context, tuple(token for _, token in looked_up), remit.total_paid > 0, True, None)
            decisions.extend(self._decide(claim, None, index, adj, remit.remarks, looked_up, None, common)
                             for index, adj in enumerate(remit.adjustments))
        for line in remit.lines:
            if not line.adjustments:
                continue
            remarks = tuple(dict.fromkeys((*line.remarks, *remit.remarks)))
            looked_up = [self._rarc(code, on) for code in remarks]
            family = self.pain.catalog.family(line.procedure.code)
            common = (context, tuple(token for _, token in looked_up), line.paid > 0, False, family)
            decisions.extend(self._decide(claim, line, index, adj, remarks, looked_up, family, common)
                             for index, adj in enumerate(line.adjustments))
        return decisions

    def classify_status(self, report: model.StatusReport, *,
                        facts: model.ClaimFacts | None = None) -> list[model.StatusDecision]:
        """One decision for the claim-level status plus one per line status."""
        policy = self.clocks.policies.for_payer(report.payer)
        return self.status.classify(report, facts, policy, self.clocks.holidays)

    def _claim(self, remit: model.Remittance, facts: model.ClaimFacts | None,
               history: Sequence[model.HistorySession], as_of: dt.date | None) -> _Claim:
        details = _details(remit, facts, history)
        same_claim = tuple(_session(remit, line, details.get(line.line_id, model.NO_DETAIL)) for line in remit.lines)
        claim_id, line_ids = remit.claim_id, {line.line_id for line in remit.lines}
        merged = tuple(s for s in history if s.claim_id != claim_id or s.line_id not in line_ids) + same_claim
        reading = self.codes.claim_statuses.get(remit.status_code, {}).get("reading", "processed")
        part = None
        if remit.payer.type == "medicare":
            part = "A" if (remit.filing_indicator or "").upper() == "MA" else "B"
        pending = _pending_payers(remit, facts)
        done = (set(facts.adjudicated_payers) if facts else set()) | {remit.payer.id}
        # forwarded now, or forwarded earlier (a crossover) and no second payer has answered yet
        forwarded = reading == "forwarded" or bool(facts and facts.forwarded and len(done) < 2)
        return _Claim(remit=remit, facts=facts, policy=self.clocks.policies.for_payer(remit.payer), part=part,
                      reading=reading, same_claim=same_claim, history=merged,
                      pending_payers=pending, as_of=as_of, billing=(forwarded, pending))

    # ----------------------------------------------------------------------------------------------- cached lookups

    def _carc(self, code: str, on: dt.date) -> tuple[Lookup[CarcRow], tuple]:
        """The CARC's row in force on the date, and a small token naming it (code, row, standing) for memo keys."""
        key = (code, on)
        found = self._carc_cache.get(key)
        if found is None:
            lookup = self.codes.carc.lookup(code, on)
            found = self._carc_cache.keep(key, (lookup, (lookup.code, id(lookup.row), lookup.standing)))
        return found

    def _rarc(self, code: str, on: dt.date) -> tuple[Lookup[RarcRow], tuple]:
        key = (code, on)
        found = self._rarc_cache.get(key)
        if found is None:
            lookup = self.codes.rarc.lookup(code, on)
            found = self._rarc_cache.keep(key, (lookup, (lookup.code, id(lookup.row), lookup.standing)))
        return found

    def _group_row(self, group: str, reason: str, on: dt.date, reading: str) -> GroupRow | None:
        key = (group, reason, on, reading)
        try:
            return self._group_cache[key]
        except KeyError:
            return self._group_cache.keep(key, self.codes.carc_groups.lookup(group, reason, on, reading))

    # ----------------------------------------------------------------------------------------------- one adjustment

    def _decide(self, claim: _Claim, line: model.RemitLine | None, index: int, adj: model.Adjustment,
                remarks: tuple[str, ...], looked_up: list[tuple[Lookup[RarcRow], tuple]], family: str | None,
                common: tuple) -> model.Decision:
        """`looked_up`: the remarks' rows and tokens; `family`: the line's procedure family; `common`: what the
        plain-reading memo's key takes from the claim (reading, billing, rules epoch), the remarks (their tokens),
        whether anything was paid, whether the adjustment is claim-level, and the family (see `classify`)."""
        remit = claim.remit
        on = remit.production_date
        carc, carc_token = self._carc(adj.reason, on)
        group_row = self._group_row(adj.group, adj.reason, on, claim.reading)
        # Everything a non-denial reading depends on (see `_Plain`): a hit skips the precedence steps entirely.
        plain_key = (common, adj.group, carc_token, id(group_row) if group_row is not None else None,
                     on if carc.standing == "not_yet_effective" else None)
        plain = self._plain.get(plain_key)
        if plain is not None:
            return self._from_plain(plain, claim, line, index, adj, remarks)
        rarcs = [lookup for lookup, _ in looked_up]
        for lookup in rarcs:
            if lookup.row is None:
                self.unknown_codes[f"RARC:{lookup.code}"] += 1
        target = next((s for s in claim.same_claim if s.line_id == line.line_id), None) if line is not None else None

        draft = self._status_kind(claim, group_row)
        if draft is None:
            draft = self._code_kind(claim, line, adj, carc, group_row)
        draft.code_rule = draft.rule_id
        denial = draft.is_denial
        if draft.is_denial and carc.row is not None and carc.row.category:
            self._cause_from_remark(draft, carc.row, rarcs)
            if target is not None:
                self._history(draft, claim, carc.row, target, adj.group)
                self._pain_layer(draft, claim, carc.row, line, target, adj.group)
            self._authorization(draft, claim, carc.row, line)
            self._payer_route(draft, claim, carc.row)
            late = late_filing(carc.row.code, self.outcomes.codes("timely_filing.past_window", on, "CARC"),
                               draft.action, claim.facts, claim.policy, self.clocks.holidays,
                               (line.service_date if line is not None else None) or remit.first_service_date)
            if late is not None:
                draft.route("write_off", "timely_filing.past_window", late, appealable=False,
                            recoverability=self.outcomes.recoverability("timely_filing.past_window", on))
            self._remark_routes(draft, rarcs, on)
            self._liability(draft, claim, adj, line)
        if draft.action == "bill_patient":
            self._patient_billing(draft, claim, remarks)
        unknown_remarks = [lookup.code for lookup in rarcs if lookup.row is None]
        if unknown_remarks:
            draft.clauses.append(f"remark {', '.join(unknown_remarks)} is not in the rule tables (kept as sent)")
        decision = self._finish(draft, claim, line, index, adj, remarks, carc, family)
        if not denial and draft.action not in _CLOCK_ACTIONS and draft.value is None:
            # No step read the history, the line's dates or the payer's clocks: the same key reads the same way.
            self._plain.keep(plain_key, _Plain(
                category=decision.category, action=decision.action, queue=decision.queue,
                appealable=decision.appealable, recoverability=decision.recoverability, rule_id=decision.rule_id,
                checklist=decision.checklist, tail=self._explain_tail(draft, carc),
                unknown_remarks=tuple(unknown_remarks)))
        return decision

    def _from_plain(self, plain: _Plain, claim: _Claim, line: model.RemitLine | None, index: int,
                    adj: model.Adjustment, remarks: tuple[str, ...]) -> model.Decision:
        for code in plain.unknown_remarks:
            self.unknown_codes[f"RARC:{code}"] += 1
        return model.Decision(
            line_id=line.line_id if line is not None else None,
            adjustment_index=index,
            group=adj.group,
            reason=adj.reason,
            amount=adj.amount,
            remarks=remarks,
            category=plain.category,
            is_denial=False,
            action=plain.action,
            queue=plain.queue,
            appealable=plain.appealable,
            recoverability=plain.recoverability,
            explanation=self._explain_head(adj, remarks, line) + plain.tail,
            rule_id=plain.rule_id,
            rules_version=self.rules_version,
            checklist=plain.checklist,
            procedure=line.procedure if line is not None else None,
            service_date=(line.service_date if line is not None else None) or claim.remit.service_date_from,
        )

    def _status_kind(self, claim: _Claim, group_row: GroupRow | None) -> _Draft | None:
        """Claim statuses, and group rows for every reason code of a group, that make an adjustment non-denial."""
        on = claim.remit.production_date
        if claim.reading == "reversal":
            return _Draft("informational", False, "none", False, self.outcomes.recoverability("status.reversal", on),
                          "status.reversal",
                          ["CLP02 22 reverses an earlier payment (link it to the original; the re-adjudication that "
                           "follows is classified on its own)"])
        if claim.reading == "predetermination":
            return _Draft("informational", False, "none", False,
                          self.outcomes.recoverability("status.predetermination", on), "status.predetermination",
                          ["CLP02 25 is predetermination pricing only, no payment"])
        if claim.reading == "not_ours":
            return _Draft("informational", False, "wait", False, self.outcomes.recoverability("status.not_ours", on),
                          "status.not_ours",
                          ["CLP02 23: the payer says the claim is not theirs and forwarded it, so track the other "
                           "payer"])
        if group_row is not None and group_row.code == "*" and group_row.kind != "reason":
            clause = f"group {group_row.group}: {group_row.meaning}"
            return self._from_kind(group_row.kind, group_row.category, group_row.action, group_row.appealable,
                                   group_row.recoverability, group_row.rule_id, [clause], claim, None, group_row.group)
        return None

    def _code_kind(self, claim: _Claim, line: model.RemitLine | None, adj: model.Adjustment,
                   carc: Lookup[CarcRow], group_row: GroupRow | None) -> _Draft:
        row = carc.row
        clauses = []
        if group_row is not None and group_row.kind == "reason":
            clauses.append(f"group {group_row.group}: {group_row.meaning}")
        elif group_row is not None:
            # The group changes the reading of this code: the group row decides and its rule id names it.
            clauses.append(f"group {group_row.group}: {group_row.meaning} (reference {group_row.ref})")
            return self._from_kind(group_row.kind, group_row.category, group_row.action, group_row.appealable,
                                   group_row.recoverability, group_row.rule_id, clauses, claim, line, adj.group)
        if row is None or not row.category:
            self.unknown_codes[f"CARC:{carc.code}"] += 1
            why = ("the CARC is not in the rule tables" if row is None
                   else "the retired CARC has no verified legacy meaning")
            rule = "carc.unknown" if row is None else "carc.unmapped"
            return _Draft("unclassified", True, "review", True,
                          self.outcomes.recoverability(rule, claim.remit.production_date), rule,
                          [*clauses, f"{why}, so the raw code is kept for manual review"])
        rule_id = f"carc.{row.code}" + (".legacy" if carc.standing == "retired" else "")
        if carc.standing == "retired":
            stopped = f" (retired after {row.stop.isoformat()})" if row.stop is not None else ""
            clauses.append(f"a retired code{stopped} read with its legacy meaning")
        elif carc.standing == "not_yet_effective":
            clauses.append(f"the code is not yet effective on {claim.remit.production_date.isoformat()}")
        kind = _LEGACY_KINDS.get(row.category, "denial") if row.kind == "legacy" else row.kind
        if kind == "cost_share" and adj.group != "PR":
            # DESIGN: only group PR bills the patient; the patient's share put in CO/PI/OA is the provider's.
            clauses.append(f"group {adj.group} leaves the provider liable for the patient's share, so it is not billed "
                           "to the patient")
            return _Draft("contractual", False, "none", False,
                          self.outcomes.recoverability("group.provider_liable", claim.remit.production_date),
                          "group.provider_liable", clauses)
        return self._from_kind(kind, row.category, row.action, row.appealable, row.recoverability, rule_id, clauses,
                               claim, line, adj.group)

    def _from_kind(self, kind: str, category: str, action: str, appealable: bool, recoverability: float,
                   rule_id: str, clauses: list[str], claim: _Claim, line: model.RemitLine | None,
                   group: str) -> _Draft:
        """The first reading of an adjustment from the kind of the row that decides it."""
        on = claim.remit.production_date
        if kind == "contractual" and group == "PR":
            return _Draft("patient_responsibility", False, "bill_patient", False,
                          self.outcomes.recoverability("kind.contractual_under_pr", on), rule_id, clauses)
        if kind in ("cost_share", "contractual", "informational"):
            return _Draft(category, False, action, False, recoverability if kind == "cost_share"
                          else self.outcomes.recoverability("kind.no_recovery", on), rule_id, clauses)
        if kind == "contractual_partial":
            paid = line.paid if line is not None else claim.remit.total_paid
            if paid > 0:
                return _Draft("contractual", False, "none", False,
                              self.outcomes.recoverability("kind.partial_paid", on), rule_id,
                              clauses + ["a partial reduction applied as the payment rules say"])
            clauses.append("it zeroes the payment, which the rule never does on its own")
            return _Draft(category, True, action, appealable, recoverability, f"{rule_id}.zero_pay", clauses)
        return _Draft(category, True, action, appealable, recoverability, rule_id, clauses)

    def _cause_from_remark(self, draft: _Draft, row: CarcRow, rarcs: list[Lookup[RarcRow]]) -> None:
        """A remark names the cause of a generic CARC (line remarks come before claim remarks)."""
        if not row.rarc_cause:
            return
        for lookup in rarcs:
            rarc = lookup.row
            if rarc is None or rarc.kind != "cause" or not rarc.category:
                continue
            if row.rarc_cause == "frequency" and rarc.category != "frequency_limit":
                continue
            draft.category = rarc.category
            draft.action = rarc.action or draft.action
            if rarc.appealable is not None:
                draft.appealable = rarc.appealable
            if rarc.recoverability is not None:
                draft.recoverability = rarc.recoverability
            draft.rule_id = f"rarc.{rarc.code}"
            draft.cause_remark = rarc.code
            draft.clauses.append(f"remark {rarc.code} names the cause: {rarc.meaning} (reference {rarc.ref})")
            return
        if row.rarc_cause == "any":
            draft.clauses.append("no remark names the cause, so the CARC's default reading applies")

    def _history(self, draft: _Draft, claim: _Claim, row: CarcRow, target: model.HistorySession, group: str) -> None:
        """Claim history, judged by the payer's own coverage policy (Medicare LCD rows for Medicare and Medicare
        Advantage; none on file for other payer types unless configured):

        - a generic necessity/frequency code (never 197, 29, 18, 16) becomes `frequency_limit` when the patient's
          rolling sessions exceed the policy's limit, and a session past a hard limit is a write-off;
        - a repeat of the same procedure is judged by the policy's repeat criterion (relief and how long it lasted);
        - a missing prerequisite is named (the category stays `medical_necessity`).
        A rule whose data is missing (side, levels, documented relief) says it cannot decide, never that it is
        not met; a payer without a policy on file is told so, never a Medicare limit."""
        if draft.category not in ("medical_necessity", "frequency_limit"):
            return  # no history rule reads another category (nothing below changes the draft)
        family = self.pain.catalog.family(target.procedure.code)
        policy = self.policy(claim.remit.payer, family, target.service_date)
        on = claim.remit.production_date
        generic = row.history_generic or (row.code in self.outcomes.codes("history.necessity_generic", on, "CARC")
                                          and draft.category == "medical_necessity")
        if generic and draft.category in ("medical_necessity", "frequency_limit"):
            if self._frequency(draft, claim, row, target, policy, group):
                return
        if draft.category != "medical_necessity":
            return
        repeat = repeat_finding(target, claim.history, self.pain, policy.repeat) if policy.known else None
        if repeat is not None:
            self._repeat(draft, repeat, on)
            return
        prereq = prerequisite_finding(target, claim.same_claim, claim.history, self.pain,
                                      policy.prerequisite if policy.known else None, policy.repeat)
        if prereq is None:
            return
        rule = prereq.rule
        unknown = "" if policy.known or policy.terms.payer_type == "other" else (
            f"; {policy.unknown_text('coverage policy')}, so only the blocks on file are checked")
        verdict = prereq.verdict
        if prereq.satisfied_by_repeat:
            draft.clauses.append(prereq.describe(self.pain) + unknown)
        elif verdict == MISSING:
            draft.route("appeal", f"history.{rule.id}", f"claim history shows {prereq.describe(self.pain)}{unknown}",
                        recoverability=self.outcomes.recoverability("history.prerequisite.missing", on))
            draft.extra_items.append(model.ChecklistItem(id=rule.checklist_id, text=rule.checklist))
        elif verdict == NOT_MET:
            draft.route("write_off", f"history.{rule.id}.not_met",
                        f"claim history shows {prereq.describe(self.pain)}: the policy's prerequisite is not met, so "
                        "the denial stands (prevention: an ABN signed before such a session, billed with GA)",
                        appealable=False,
                        recoverability=self.outcomes.recoverability("history.prerequisite.not_met", on))
        elif verdict == UNDECIDABLE:
            draft.rule_id = f"history.{rule.id}.undecidable"
            draft.clauses.append(f"{prereq.describe(self.pain)}{unknown}")
            draft.extra_items.append(model.ChecklistItem(
                id=rule.checklist_id, text=f"{rule.checklist}: document the side, levels and relief of each "
                                           "(the claim history does not hold them)"))
        else:
            dates = ", ".join(s.service_date.isoformat() for s in prereq.found)
            draft.rule_id = f"history.{rule.id}.met" if prereq.criteria else draft.rule_id
            draft.clauses.append(f"claim history shows {prereq.describe(self.pain)}{unknown}")
            if prereq.criteria:
                draft.recoverability = max(draft.recoverability,
                                           self.outcomes.recoverability("history.prerequisite.met", on))
            draft.extra_items.append(model.ChecklistItem(
                id=rule.checklist_id, text=f"{rule.checklist} (on file: {dates})"))

    def _frequency(self, draft: _Draft, claim: _Claim, row: CarcRow, target: model.HistorySession,
                   policy: FamilyPolicy, group: str) -> bool:
        """Session limits; True when the limit decided the decision."""
        if not policy.known:
            # No limit to apply: count the sessions the way most policies do, for the worker to compare.
            counted = frequency_finding(target, claim.history, self.pain)
            if counted is None:
                return False
            where = f" {region_words(counted.region)}" if counted.region and counted.region != "sacroiliac" else ""
            sessions = (f"{len(counted.counted)} earlier{where} session{'s' if len(counted.counted) != 1 else ''} "
                        f"of this kind in the rolling 12 months ({counted.dates})")
            unknown = policy.unknown_text("session limit")
            if (draft.category == "medical_necessity" and counted.counted and draft.rule_id == draft.code_rule
                    and row.code in self.coverage.frequency_worded_carcs):
                draft.category = "frequency_limit"  # the code's own words name frequency
            if draft.category == "frequency_limit":
                draft.clauses.append(f"claim history shows {sessions}; {unknown}")
                draft.rule_id = "history.frequency.policy_unknown"
                draft.extra_items.append(model.ChecklistItem(
                    id="sessions-counted", text=f"Session log ({counted.dates}) against the plan's own session limit"))
            elif counted.counted:
                draft.clauses.append(f"claim history shows {sessions}; {unknown}, so frequency is not named as the "
                                     "cause")
            return False
        freq = frequency_finding(target, claim.history, self.pain, policy.frequency_limits)
        if freq is None:
            return False
        on = claim.remit.production_date
        staged = f"; {freq.rule.note}" if freq.staged_sides and freq.rule.note else ""
        if freq.exceeded:
            draft.category = "frequency_limit"
            draft.extra_items.append(model.ChecklistItem(
                id="sessions-counted",
                text=f"Sessions that count ({freq.dates}): show any was another region or a new injury"))
            ga = target.procedure.has(self.pain.modifiers.abn_on_file)
            if freq.rule.hard and ga and group != "PR":
                draft.route("appeal", f"history.{freq.rule.id}.abn",
                            f"claim history shows {freq.describe()}{staged}; the line carries GA (ABN on file), so "
                            "the patient, not the provider, is liable: ask the payer to correct the liability with the "
                            "signed ABN", recoverability=self.outcomes.recoverability("history.frequency.abn", on))
            elif freq.rule.hard and ga:
                # PR with GA: the liability step bills the patient on the signed ABN
                draft.route("write_off", f"history.{freq.rule.id}",
                            f"claim history shows {freq.describe()}{staged}: a session past the policy's limit is not "
                            "covered", appealable=False,
                            recoverability=self.outcomes.recoverability("history.frequency.hard", on))
            elif freq.rule.hard:
                draft.route("write_off", f"history.{freq.rule.id}",
                            f"claim history shows {freq.describe()}{staged}: a session past the policy's limit is not "
                            "covered, so an appeal cannot change it (prevention: an ABN signed before such a session, "
                            "billed with GA, makes the patient liable)", appealable=False,
                            recoverability=self.outcomes.recoverability("history.frequency.hard", on))
            else:
                draft.route("appeal", f"history.{freq.rule.id}", f"claim history shows {freq.describe()}{staged}",
                            recoverability=self.outcomes.recoverability("history.frequency.soft", on))
            return True
        if draft.category == "frequency_limit" and draft.rule_id == draft.code_rule:
            draft.clauses.append(f"claim history shows only {freq.describe()}{staged}, so the payer may have counted "
                                 "another provider's sessions: appeal with the session log")
            draft.recoverability = max(draft.recoverability,
                                       self.outcomes.recoverability("history.frequency.under_limit", on))
            draft.rule_id = f"history.{freq.rule.id}.under_limit"
            draft.extra_items.append(model.ChecklistItem(
                id="sessions-counted", text=f"Session log on file ({freq.dates}) showing the limit was not reached"))
        elif freq.counted and draft.category == "medical_necessity":
            draft.clauses.append(f"claim history shows {freq.describe()}{staged}, so frequency is not the cause")
        return False

    def _repeat(self, draft: _Draft, repeat, on: dt.date) -> None:
        crit = repeat.criterion
        if repeat.verdict == MET:
            draft.rule_id = f"history.{crit.id}.met"
            draft.clauses.append(f"a repeat session: {repeat.describe()}")
            draft.recoverability = max(draft.recoverability, self.outcomes.recoverability("history.repeat.met", on))
            draft.extra_items.append(model.ChecklistItem(
                id=f"{crit.id}-relief", text=f"Notes documenting the relief after the session of "
                                             f"{repeat.earlier.service_date.isoformat()} ({crit.relief_words})"))
        elif repeat.verdict == LIKELY_NOT_MET:
            draft.route("appeal", f"history.{crit.id}.likely_not_met",
                        f"a repeat session: {repeat.describe()}: likely short of the policy's repeat criterion, so "
                        "appeal only with notes showing the relief lasted",
                        recoverability=self.outcomes.recoverability("history.repeat.likely_not_met", on))
            draft.extra_items.append(model.ChecklistItem(
                id=f"{crit.id}-relief", text=f"Notes showing the relief after the session of "
                                             f"{repeat.earlier.service_date.isoformat()} and how long it lasted "
                                             f"({crit.relief_words})"))
        elif repeat.verdict == NOT_MET:
            draft.route("write_off", f"history.{crit.id}.not_met",
                        f"a repeat session: {repeat.describe()}: the policy's repeat criterion is not met, so the "
                        "denial stands (prevention: an ABN signed before such a session, billed with GA)",
                        appealable=False, recoverability=self.outcomes.recoverability("history.repeat.not_met", on))
        else:
            draft.rule_id = f"history.{crit.id}.undecidable"
            draft.clauses.append(f"a repeat session: {repeat.describe()}")
            draft.extra_items.append(model.ChecklistItem(
                id=f"{crit.id}-relief", text=f"Document the relief after the session of "
                                             f"{repeat.earlier.service_date.isoformat()} on the same pain scale, and "
                                             f"how long it lasted ({crit.relief_words})"))

    def _pain_layer(self, draft: _Draft, claim: _Claim, row: CarcRow, line: model.RemitLine,
                    target: model.HistorySession, group: str) -> None:
        on = claim.remit.production_date
        if draft.category == "duplicate" and row.code in self.outcomes.codes("pain.duplicate", on, "CARC"):
            self._duplicate(draft, claim, target)
            return
        if draft.category == "bundling":
            same_date = [s for s in claim.history if s.service_date == target.service_date]
            self._bundling(draft, claim, row, target, same_date)
            return
        if draft.category not in ("frequency_limit", "medical_necessity", "coding"):
            return  # the modifier findings and the liability modifiers below read these categories only
        terms = self.coverage.terms(claim.payer_type, claim.remit.payer.id)
        findings = modifier_findings(target, line.units, claim.same_claim, claim.history, claim.payer_type,
                                     self.pain, drug_waste_required=terms.drug_waste_required and claim.part != "A")
        units = next((f for f in findings if f.id == "units_over_max"), None)
        if units is not None and draft.category in ("frequency_limit", "medical_necessity", "coding"):
            draft.route("corrected_claim", "pain.units.over_max", f"{units.problem}: {units.fix}",
                        recoverability=self.outcomes.recoverability("pain.units.over_max", on))
            draft.queue = "coding"
            return
        kx = next((f for f in findings if f.id == "kx_missing"), None)
        if draft.category == "medical_necessity" and kx is not None and row.history_generic:
            draft.category = "coding"
            kx_rule = self.outcomes.row("pain.modifier.kx_missing", on)
            draft.route("corrected_claim", "pain.modifier.kx_missing",
                        f"{kx.problem} (reference {kx_rule.ref}), so the necessity denial follows from the missing "
                        f"attestation: {kx.fix}", recoverability=kx_rule.recoverability)
            return
        if draft.category == "coding":
            submitted = self._submitted_modifiers(claim, line)
            dropped = sorted(submitted - set(line.procedure.modifiers)) if submitted is not None else []
            dropped_rule = self.outcomes.row("pain.modifier.dropped_by_payer", on)
            if row.code in dropped_rule.codes.get("CARC", ()) and dropped:
                # Medicare corrects a clerical error by reopening, never by appeal: a process, not a number.
                action = "reopening" if claim.payer_type == "medicare" else "appeal"
                draft.route(action, "pain.modifier.dropped_by_payer",
                            f"the submitted claim carried {', '.join(dropped)}, which the payer did not apply",
                            appealable=action == "appeal", recoverability=dropped_rule.recoverability)
                return
            if findings:
                first = findings[0]
                draft.rule_id = f"pain.modifier.{first.id}"
                draft.clauses.append("; ".join(f"{f.problem}: {f.fix}" for f in findings))
        if group == "PR" or draft.category != "medical_necessity":
            return  # patient liability is settled by _liability
        if target.procedure.has(self.pain.modifiers.abn_on_file) and claim.payer_type == "medicare":
            draft.clauses.append("the line carries GA (ABN on file) yet the provider was made liable: appeal "
                                 "with the signed ABN")
            draft.rule_id = "pain.liability.ga_not_honoured"
        elif target.procedure.has(self.pain.modifiers.no_abn):
            draft.route("write_off", "pain.liability.gz",
                        "GZ says no ABN was issued, so the provider is liable and an appeal helps only if the LCD "
                        "criteria were in fact met",
                        recoverability=self.outcomes.recoverability("pain.liability.gz", on))
        elif (axial := self.axial.axial_only(self.pain.catalog.family(target.procedure.code),
                                             claim.facts.submission if claim.facts else None, line.line_id)):
            draft.route("write_off", "pain.diagnosis.axial_only", axial.describe(), appealable=False,
                        recoverability=self.outcomes.recoverability("pain.diagnosis.axial_only", on))

    def _submitted_modifiers(self, claim: _Claim, line: model.RemitLine) -> set[str] | None:
        submission = claim.facts.submission if claim.facts else None
        if submission is None:
            return None
        for submitted in submission.lines:
            if submitted.line_id == line.line_id and submitted.procedure.code == line.procedure.code:
                return set(submitted.procedure.modifiers)
        return None

    def _duplicate(self, draft: _Draft, claim: _Claim, target: model.HistorySession) -> None:
        finding = duplicate_finding(target, claim.same_claim, claim.history, self.pain)
        on = claim.remit.production_date
        where = ""
        if finding.match is not None:
            whose = "this claim's" if finding.match.claim_id == target.claim_id else "another claim's"
            where = f" ({whose} line {finding.match.line_id} of {finding.match.service_date.isoformat()})"
        if finding.verdict == "false" and self._level_not_covered(draft, claim, target):
            return
        if finding.verdict == "false" and finding.kind == "sides":
            self._bilateral_duplicate(draft, claim, target, finding.reason + where, finding.match)
        elif finding.verdict == "false" and finding.kind == "addon_units":
            draft.route("corrected_claim", "pain.duplicate.addon_units",
                        f"not a repeat procedure: {finding.reason}{where}, so correct the line to the add-on code with "
                        "one unit per additional level and no repeat modifier", appealable=True,
                        recoverability=self.outcomes.recoverability("pain.duplicate.addon_units", on))
            draft.queue = "coding"
        elif finding.verdict == "false":
            draft.route("corrected_claim", "pain.duplicate.false",
                        f"a false duplicate: {finding.reason}{where}, so resubmit with the modifier that shows it "
                        "(50/RT/LT/76/XE)", appealable=True,
                        recoverability=self.outcomes.recoverability("pain.duplicate.false", on))
            draft.queue = "coding"
        elif finding.verdict == "true":
            draft.route("none", "pain.duplicate.true",
                        f"a true duplicate: {finding.reason}{where}, so nothing is lost and nothing is recoverable",
                        appealable=False, recoverability=self.outcomes.recoverability("pain.duplicate.true", on))
        else:
            draft.clauses.append(f"{finding.reason}{where}")

    def _bilateral_duplicate(self, draft: _Draft, claim: _Claim, target: model.HistorySession, reason: str,
                             match: model.HistorySession | None) -> None:
        """The other side of a procedure paid on one side: one bilateral procedure, worth the bilateral add-on (about
        half of one side's allowable when the MPFS bilateral indicator is 1), not the whole charge."""
        code = target.procedure.code
        on = claim.remit.production_date
        ind = self.pricing.indicators(code)
        percent = self.pricing.bilateral_percent.get(ind.bilateral) if ind and ind.bilateral else None
        paid_side = None
        if match is not None and match.claim_id == claim.remit.claim_id:
            paid_side = next((x for x in claim.remit.lines if x.line_id == match.line_id), None)
        allowed = paid_side.allowed if paid_side is not None and paid_side.allowed else None
        worth = ""
        if percent is not None:
            extra = percent - 100
            if allowed is not None:
                draft.value = (allowed * extra / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                worth = (f"; it is worth about ${draft.value:,.2f} ({extra:f}% of the ${allowed:,.2f} the paid side "
                         f"was allowed: bilateral payment is {percent:f}% of one side), not the whole charge")
            else:
                worth = (f"; it is worth about {extra:f}% of one side's allowable (bilateral payment is "
                         f"{percent:f}% of one side), not the whole charge")
            if extra <= 0:
                draft.value = Decimal("0.00")
                draft.route("write_off", "pain.duplicate.bilateral_not_payable",
                            f"a false duplicate: {reason}, but {code} has bilateral indicator {ind.bilateral}: the "
                            "second side adds nothing to the payment", appealable=False,
                            recoverability=self.outcomes.recoverability("pain.duplicate.bilateral_not_payable", on))
                return
        if claim.part_b or (claim.payer_type == "medicare" and claim.part != "A"):
            fix = (f"the fix is one line {code}-{self.pain.modifiers.bilateral} with 1 unit (Medicare pays a bilateral "
                   "procedure on one line), by reopening, not a second line with 76/XE")
        else:
            fix = (f"resubmit {code} as one line with modifier {self.pain.modifiers.bilateral} and 1 unit, or RT and "
                   "LT lines if this plan's manual asks for them")
        draft.route("corrected_claim", "pain.duplicate.bilateral",
                    f"a false duplicate: {reason}: the two sides are one bilateral procedure; {fix}{worth}",
                    appealable=True, recoverability=self.outcomes.recoverability("pain.duplicate.bilateral", on))
        draft.queue = "coding"

    def _level_not_covered(self, draft: _Draft, claim: _Claim, target: model.HistorySession) -> bool:
        """An add-on level past the policy's levels per session (a third transforaminal level): not a duplicate but a
        level the policy does not cover."""
        info = self.pain.catalog.get(target.procedure.code)
        if info is None or not info.is_addon:
            return False
        policy = self.policy(claim.remit.payer, info.family, target.service_date)
        if not policy.known or policy.levels is None:
            return False
        target_sides = sides_of(target)
        count = Decimal(0)
        for x in claim.remit.lines:
            x_info = self.pain.catalog.get(x.procedure.code)
            x_date = x.service_date or claim.remit.first_service_date
            if (x_info is None or x_info.family != info.family or x_info.region != info.region
                    or x_date != target.service_date):
                continue
            x_sides = sides_of(model.HistorySession(claim_id="", line_id="", service_date=target.service_date,
                                                    procedure=x.procedure))
            if target_sides and x_sides and not (target_sides & x_sides):
                continue
            count += x.units
            if x.line_id == target.line_id:
                break
        limit = policy.levels.limit
        if count <= limit:
            return False
        draft.route("write_off", f"pain.levels.{policy.levels.id}",
                    f"not a duplicate: it is level {int(count)} of the session on the {side_words(target_sides)}, and "
                    f"no more than {limit} levels per session are covered ({policy.levels.cite.text()}), so the level "
                    "is not payable (prevention: an ABN signed before the session, billed with GA)",
                    appealable=False, recoverability=self.outcomes.recoverability("pain.levels",
                                                                                  claim.remit.production_date))
        return True

    def _bundling(self, draft: _Draft, claim: _Claim, row: CarcRow, target: model.HistorySession,
                  same_date: list[model.HistorySession]) -> None:
        on = claim.remit.production_date
        named = self.outcomes.row("pain.bundling.addon", on).codes
        addon = addon_finding(target, same_date, self.pain)
        if addon is not None and (addon.partner is None or row.code in named.get("CARC", ())
                                  or draft.rule_id in {f"rarc.{code}" for code in named.get("RARC", ())}):
            if addon.partner is None:
                if claim.part_b:
                    draft.route("new_claim", "pain.bundling.addon_without_primary",
                                f"add-on {target.procedure.code} has no primary ({' or '.join(addon.primaries)}) on "
                                "file that date, and an omitted service is not a clerical reopening on Medicare",
                                recoverability=self.outcomes.recoverability("pain.bundling.addon_without_primary", on))
                else:
                    draft.route("corrected_claim", "pain.bundling.addon_without_primary",
                                f"add-on {target.procedure.code} has no primary ({' or '.join(addon.primaries)}) on "
                                "file that date: add the primary line",
                                recoverability=self.outcomes.recoverability("pain.bundling.addon_without_primary", on))
            else:
                paid = {True: "paid", False: "denied", None: "not yet adjudicated"}[addon.partner.paid]
                if addon.partner.paid is False:
                    draft.route("corrected_claim", "pain.bundling.addon_primary_denied",
                                f"its primary {addon.partner.procedure.code} on file that date was {paid}: fix the "
                                "primary's denial first",
                                recoverability=self.outcomes.recoverability("pain.bundling.addon_primary_denied", on))
                else:
                    # Medicare pays a missed add-on by reopening (a clerical error), not by appeal: a process.
                    action = "reopening" if claim.payer_type == "medicare" else "appeal"
                    draft.route(action, "pain.bundling.addon_primary_on_file",
                                f"its primary {addon.partner.procedure.code} is on file that date ({paid}), so the "
                                "payer should pay the add-on with it", appealable=action == "appeal",
                                recoverability=self.outcomes.recoverability("pain.bundling.addon_primary_on_file", on))
            return
        pair = pair_finding(target, same_date, self.pain)
        if pair is None:
            return
        partner = _procedure_text(pair.partner.procedure)
        base = (f"{target.procedure.code} bundles into {partner} the same date: {pair.pair.why} "
                f"(reference {pair.pair.ref})")
        rule = f"pain.ncci.{pair.pair.id}"
        if not pair.recoverable:
            draft.route("write_off", rule, f"{base}, never separately payable", appealable=False,
                        recoverability=self.outcomes.recoverability("pain.ncci.never", on))
        elif (pair.pair.id in self.outcomes.codes("pain.ncci.same_level", on, "NCCI") and not pair.other_side
              and not pair.bypass_present):
            draft.route("write_off", rule, f"{base}; if the block was at another level, resubmit it with XS instead",
                        recoverability=self.outcomes.recoverability("pain.ncci.same_level", on))
        elif pair.bypass_present:
            present = next(m for m in target.procedure.modifiers if m in pair.pair.bypass)
            draft.route("appeal", rule, f"{base}; the line already carries {present}: appeal with the "
                        "documentation of the distinct service",
                        recoverability=self.outcomes.recoverability("pain.ncci.bypass_present", on))
        elif pair.other_side:
            draft.route("corrected_claim", rule, f"{base}, but it was on the other side: resubmit with XS",
                        recoverability=self.outcomes.recoverability("pain.ncci.other_side", on))
        else:
            draft.route("corrected_claim", rule, f"{base}; add {pair.pair.bypass[0]} only if the documentation shows "
                        "a distinct service", recoverability=self.outcomes.recoverability("pain.ncci.distinct", on))

    def _authorization(self, draft: _Draft, claim: _Claim, row: CarcRow, line: model.RemitLine | None) -> None:
        on = claim.remit.production_date
        if row.code not in self.outcomes.codes("auth.check", on, "CARC") or draft.category != "authorization":
            return
        submission = claim.facts.submission if claim.facts else None
        if submission is not None and submission.prior_authorization:
            draft.route("appeal", "auth.on_claim", "the submitted claim carried an authorization number, so the "
                        "payer failed to match it: appeal with the approval letter",
                        recoverability=self.outcomes.recoverability("auth.on_claim", on))
            return
        on_file = self._authorization_on_file(claim, line)
        if on_file is not None:
            # The practice obtained it and the claim did not say so: the fix is the number, not a retro-authorization.
            draft.route("corrected_claim", "auth.on_file",
                        f"authorization on file: corrected claim with REF*G1 {on_file.auth_number} "
                        f"({on_file.describe()})", appealable=True,
                        recoverability=self.outcomes.recoverability("auth.on_file", on))
        elif submission is None:
            draft.clauses.append("if an authorization exists, correct the claim with its number (REF*G1)")
        else:
            draft.clauses.append("no authorization number was on the submitted claim")

    def _authorization_on_file(self, claim: _Claim, line: model.RemitLine | None) -> Authorization | None:
        """The register's authorization of this payer that covers the denied line (or, for a claim-level denial,
        any of the claim's lines), read as the pre-submission check reads it: the same code, family or group, or the
        same separately authorized service (an SCS trial never covers the implant), in force on the date of service,
        on the side billed, with sessions left after the patient's earlier claims."""
        auths = claim.facts.authorizations if claim.facts else ()
        if not auths:
            return None
        remit = claim.remit
        same_claim = [(x.line_id, self.pain.catalog.family(x.procedure.code),
                       x.service_date or remit.first_service_date or remit.production_date) for x in remit.lines]
        earlier = self._earlier_uses(claim)
        for x in [line] if line is not None else list(remit.lines):
            day = x.service_date or remit.first_service_date or remit.production_date
            service = self.auth_scopes.service(
                payer_id=remit.payer.id, code=x.procedure.code, family=self.pain.catalog.family(x.procedure.code),
                same_date=[family for _, family, d in same_claim if d == day], service_date=day,
                sides=billed_sides(x.procedure.modifiers), levels=None, units=int(x.units), claim_id=remit.claim_id)
            found = covering(auths, service, earlier)
            if found is not None:
                return found
        return None

    def _earlier_uses(self, claim: _Claim) -> list[EarlierUse]:
        """The patient's other claims in the history, as the register sees them (which number each carried is not
        known here, so each date counts against an authorization that covered it)."""
        by_claim: dict[str, list[model.HistorySession]] = {}
        for s in claim.history:
            if s.claim_id != claim.remit.claim_id:
                by_claim.setdefault(s.claim_id, []).append(s)
        out = []
        for claim_id, sessions in by_claim.items():
            for s in sessions:
                family = self.pain.catalog.family(s.procedure.code)
                if family is None:
                    continue
                same = [self.pain.catalog.family(o.procedure.code) for o in sessions
                        if o.service_date == s.service_date]
                out.append(EarlierUse(self.auth_scopes.service(
                    payer_id=claim.remit.payer.id, code=s.procedure.code, family=family, same_date=same,
                    service_date=s.service_date, sides=billed_sides(s.procedure.modifiers, s.detail.side),
                    levels=None, units=1, claim_id=claim_id)))
        return out

    def _payer_route(self, draft: _Draft, claim: _Claim, row: CarcRow) -> None:
        route = self.routing.payer_route(claim.payer_type, claim.part, row.code, draft.category, draft.action)
        if route is not None:
            draft.route(route.action, route.rule_id, appealable=route.appealable,
                        recoverability=route.recoverability)
            # Said only if no remark changes the route again (an explicit payer instruction wins).
            draft.route_notes.append((route.rule_id, f"{route.why} (reference {route.ref})"))

    def _remark_routes(self, draft: _Draft, rarcs: list[Lookup[RarcRow]], on: dt.date) -> None:
        """Remarks that change the route: action, appealability and queue, never the category."""
        unprocessable = self.outcomes.codes("rarc.route.unprocessable", on, "RARC")
        for lookup in rarcs:
            rarc = lookup.row
            if rarc is None or not rarc.route:
                continue
            rule = f"rarc.route.{rarc.code}"
            clause = None if rarc.code == draft.cause_remark else f"remark {rarc.code}: {rarc.meaning}"
            if rarc.route == "no_appeal":
                if draft.action == "appeal":  # a reopening is not an appeal: it stays
                    correctable = draft.category in self.routing.no_appeal_correctable
                    draft.route("corrected_claim" if correctable else "write_off", rule, clause, appealable=False)
                else:
                    draft.appealable = False
                    if clause:
                        draft.clauses.append(clause)
            elif rarc.route == "no_resubmit":
                if draft.action in ("corrected_claim", "new_claim"):
                    draft.route("appeal" if draft.appealable else "write_off", rule, clause)
                elif clause:
                    draft.clauses.append(clause)
            else:
                draft.route(rarc.route, rule, clause, appealable=rarc.appealable)
                if rarc.route == "new_claim" and rarc.code in unprocessable:
                    draft.clauses.append("an unprocessable claim was never filed, so the timely-filing clock runs on")

    def _liability(self, draft: _Draft, claim: _Claim, adj: model.Adjustment, line: model.RemitLine | None) -> None:
        """Group PR makes the patient liable (GZ overrides it: no ABN, provider liable); CO/PI/OA never bill."""
        gz = line is not None and line.procedure.has(self.pain.modifiers.no_abn)
        if adj.group == "PR":
            if gz:
                draft.route("write_off", "pain.liability.gz_over_pr",
                            "the line carries GZ (no ABN), so the provider, not the patient, is liable despite "
                            "group PR", recoverability=self.outcomes.recoverability("pain.liability.gz_over_pr",
                                                                                    claim.remit.production_date))
                return
            note = "group PR makes the patient liable"
            if claim.payer_type == "medicare" and draft.category in ("medical_necessity", "frequency_limit"):
                has_ga = line is not None and line.procedure.has(self.pain.modifiers.abn_on_file)
                note = ("GA on the line: the signed ABN makes the patient liable" if has_ga
                        else "group PR makes the patient liable: confirm the signed ABN before billing")
                draft.extra_items.append(model.ChecklistItem(
                    id="abn-signed", text="The ABN (CMS-R-131) the patient signed for this service before it was "
                                          "performed, naming the service and the estimated cost"))
            # A PR group row that decided keeps its own rule id; otherwise the generic liability rule decides.
            keep = draft.rule_id.startswith(("history.", "carc.PR-"))
            rule = draft.rule_id if keep else "group.pr.patient_liable"
            draft.route("bill_patient", rule, note)
            return
        if draft.action == "bill_patient":
            draft.route("write_off", "group.provider_liable",
                        f"group {adj.group} leaves the provider liable, so the patient may not be billed")

    def _patient_billing(self, draft: _Draft, claim: _Claim, remarks: tuple[str, ...]) -> None:
        """The patient is billed only once every payer on the claim has adjudicated; a QMB patient never is."""
        # forwarded now, or forwarded earlier (a crossover) and no second payer has answered yet (`_claim`)
        forwarded = claim.billing[0]
        qmb = next((code for code in remarks if code in self.qmb_remarks), None)
        if qmb is not None:
            if forwarded or claim.pending_payers:
                draft.route("wait", "cob.qmb_wait", f"remark {qmb}: a QMB patient may not be billed, and the cost "
                            "share is with the next payer")
            else:
                draft.route("rebill_other_payer", "cob.qmb_medicaid", f"remark {qmb}: a QMB patient may not be "
                            "billed, so send the cost share to Medicaid")
            return
        if forwarded:
            draft.route("wait", "cob.forwarded", "the claim was forwarded to the next payer (CLP02 19/20/21), so bill "
                        "the patient only after it adjudicates")
        elif claim.pending_payers:
            draft.route("wait", "cob.payers_pending", f"payer {', '.join(claim.pending_payers)} on the claim has not "
                        "adjudicated yet, so bill the patient after it does")

    # ----------------------------------------------------------------------------------------------- output

    def _clocks(self, draft: _Draft, claim: _Claim, line: model.RemitLine | None) -> tuple[Clock | None, Clock | None]:
        remit = claim.remit
        deadline = None
        if draft.action == "reopening":
            deadline = self._clock(reopening_deadline, claim.policy, remit.production_date)
        elif draft.action in APPEAL_WINDOW_ACTIONS:
            deadline = self._clock(appeal_deadline, claim.policy, remit.production_date)
        filing = None
        if draft.action in FILING_ACTIONS:
            policy = claim.policy
            if draft.action == "rebill_other_payer":
                policy = self._other_payer_policy(claim)
            service = (line.service_date if line is not None else None) or remit.first_service_date
            if claim.part == "A" and remit.service_date_to:
                service = remit.service_date_to  # institutional claims count from the "through" date
            if policy is not None and service is not None:
                filing = self._clock(filing_deadline, policy, service)
        return deadline, filing

    def _clock(self, rule, policy: PayerPolicy, day: dt.date) -> Clock:
        """`rule(policy, day, holidays)` (appeal, reopening or filing deadline), cached."""
        key = (rule, policy, day)
        found = self._clock_cache.get(key)
        if found is None:
            found = self._clock_cache.keep(key, rule(policy, day, self.clocks.holidays))
        return found

    def _other_payer_policy(self, claim: _Claim) -> PayerPolicy | None:
        submission = claim.facts.submission if claim.facts else None
        if submission is None:
            return None
        for other in submission.other_payers:
            if other.id != claim.remit.payer.id and other.id not in (claim.facts.adjudicated_payers if claim.facts
                                                                     else ()):
                return self.clocks.policies.for_payer(model.Payer(id=other.id, type=other.type, name=other.name))
        return None

    def _finish(self, draft: _Draft, claim: _Claim, line: model.RemitLine | None, index: int,
                adj: model.Adjustment, remarks: tuple[str, ...], carc: Lookup[CarcRow],
                family: str | None) -> model.Decision:
        deadline, filing = self._clocks(draft, claim, line)
        if claim.as_of is not None:
            for clock, what in ((deadline, "window"), (filing if draft.action in ("corrected_claim", "new_claim")
                                                       else None, "timely-filing window")):
                if clock is not None and clock.date < claim.as_of:
                    draft.clauses.append(f"the {what} closed on {clock.date.isoformat()} (as of "
                                         f"{claim.as_of.isoformat()})")
                    draft.recoverability = self.outcomes.recoverability("clock.window_closed",
                                                                        claim.remit.production_date)
        queue = draft.queue if draft.queue and draft.is_denial else self.routing.queue(
            draft.action, draft.category, draft.is_denial)
        checklist: tuple[model.ChecklistItem, ...] = ()
        if draft.action not in ("none", "wait", "write_off") and (draft.is_denial or draft.action == "bill_patient"):
            checklist = self.checklists.for_decision(draft.category, family, draft.extra_items, draft.action)
            if draft.is_denial and draft.action != "bill_patient":
                injury = claim.facts.submission.injury if claim.facts and claim.facts.submission else None
                known = {item.id for item in checklist}
                checklist += tuple(item for item in self.checklists.for_payer(claim.payer_type, injury)
                                   if item.id not in known)
        return model.Decision(
            line_id=line.line_id if line is not None else None,
            adjustment_index=index,
            group=adj.group,
            reason=adj.reason,
            amount=adj.amount,
            remarks=remarks,
            category=draft.category,
            is_denial=draft.is_denial,
            action=draft.action,
            queue=queue,
            appealable=draft.appealable,
            recoverability=round(max(0.0, min(1.0, draft.recoverability)), 2),
            explanation=self._explain(draft, adj, remarks, line, carc),
            rule_id=draft.rule_id,
            rules_version=self.rules_version,
            deadline=deadline.date if deadline else None,
            deadline_basis=deadline.basis if deadline else None,
            filing_deadline=filing.date if filing else None,
            filing_deadline_basis=filing.basis if filing else None,
            checklist=checklist,
            procedure=line.procedure if line is not None else None,
            service_date=(line.service_date if line is not None else None) or claim.remit.service_date_from,
            value=draft.value if draft.is_denial else None,
        )

    def _explain(self, draft: _Draft, adj: model.Adjustment, remarks: tuple[str, ...], line: model.RemitLine | None,
                 carc: Lookup[CarcRow]) -> str:
        return self._explain_head(adj, remarks, line) + self._explain_tail(draft, carc)

    def _explain_head(self, adj: model.Adjustment, remarks: tuple[str, ...], line: model.RemitLine | None) -> str:
        """What was adjusted: the codes, the remarks and the line's procedure (with its region)."""
        head = f"{adj.group}-{adj.reason}"
        if remarks:
            head += f" with {', '.join(remarks)}"
        if line is not None:
            head += f" on {_procedure_text(line.procedure)}"
            info = self.pain.catalog.get(line.procedure.code)
            if info is not None and info.region:
                head += f" ({region_words(info.region)})"
        return head

    @staticmethod
    def _explain_tail(draft: _Draft, carc: Lookup[CarcRow]) -> str:
        """Why and what to do: the code's meaning, the clauses of the steps that decided, the action."""
        meaning = f"{carc.row.meaning} (reference {carc.row.ref})" if carc.row is not None else "unknown code"
        notes = [clause for rule_id, clause in draft.route_notes if rule_id == draft.rule_id]
        return ": " + "; ".join([meaning, *draft.clauses, *notes, ACTION_PHRASES[draft.action]]) + "."


@functools.lru_cache(maxsize=4)
def _cached(root: Path) -> Classifier:
    return Classifier(RuleFiles(root))


def load_classifier(data_dir: Path | str | None = None) -> Classifier:
    """The classifier over the packaged rule tables (or another directory), loaded once and cached."""
    return _cached(Path(data_dir) if data_dir is not None else rules_root())


__all__ = ["Classifier", "load_classifier"]
