"""The labelled corpus: scenarios a coder wrote (claim, what the payer sent, what to do and why), and the accuracy of
the classifier against them, per expected category and action, with the confusion pairs.

Scenarios are plain dicts (parsed from TOML or JSON by the caller), so this module does no I/O."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from service.domain import model
from service.domain.authorizations import Authorization
from service.domain.classification.engine import Classifier
from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, QUEUES

DEFAULT_NOTICE = dt.date(2026, 2, 27)
DEFAULT_DOS = dt.date(2026, 1, 15)
OCCURRED = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
CHECKED_FIELDS = ("queue", "appealable", "is_denial", "deadline", "filing_deadline", "bucket", "due_date", "rule_id",
                  "value")


class ScenarioError(ValueError):
    """A corpus case that cannot be read: names the case and the field."""


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f"{where}: not a date") from None


def _money(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ScenarioError(f"{where}: not an amount") from None


def _adjustment(text: Any, where: str) -> model.Adjustment:
    """'CO-197' or 'CO-197:120.50'."""
    if not isinstance(text, str) or "-" not in text:
        raise ScenarioError(f"{where}: expected GROUP-REASON, e.g. CO-197")
    code, _, amount = text.partition(":")
    group, reason = code.split("-", 1)
    return model.Adjustment(group=group.upper(), reason=reason.upper(),
                            amount=_money(amount or "100.00", where))


def _procedure(raw: dict[str, Any]) -> model.Procedure:
    return model.Procedure(str(raw["code"]).upper(), tuple(m.upper() for m in raw.get("mods", ())))


def _detail(raw: dict[str, Any], where: str) -> model.SessionDetail:
    """What the platform documented about a session: `side`, `levels`, `intent`, `relief` (percent), `relief_days`."""
    try:
        return model.SessionDetail(
            side=raw.get("side"), levels=tuple(str(x) for x in raw.get("levels", ())), intent=raw.get("intent"),
            relief_percent=int(raw["relief"]) if "relief" in raw else None,
            relief_days=int(raw["relief_days"]) if "relief_days" in raw else None)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: side, levels, intent, relief or relief_days is invalid") from None


def _authorization(raw: dict[str, Any], payer: model.Payer, where: str) -> Authorization:
    """An authorization on file for the patient: `{ number, scope, from, to, side, levels, units, payer }`."""
    valid_from, valid_to = _date(raw.get("from"), f"{where}.from"), _date(raw.get("to"), f"{where}.to")
    if valid_from is None or valid_to is None or "number" not in raw or "scope" not in raw:
        raise ScenarioError(f"{where}: an authorization needs number, scope, from and to")
    return Authorization(payer_id=str(raw.get("payer", payer.id)), member_digest="", auth_number=str(raw["number"]),
                         scope=str(raw["scope"]), valid_from=valid_from, valid_to=valid_to, side=raw.get("side"),
                         levels=raw.get("levels"), units=raw.get("units"))


def _payer(raw: Any, where: str) -> model.Payer:
    raw = raw or {}
    payer_type = raw.get("type", "commercial")
    if payer_type not in ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"):
        raise ScenarioError(f"{where}.payer.type: unknown payer type")
    return model.Payer(id=raw.get("id", payer_type.upper()), type=payer_type, name=raw.get("name"))


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    ref: str
    scenario: str
    why: str
    expect: dict[str, Any]
    target: tuple[str | None, int]  # (line_id or None for claim level, adjustment index)
    remit: model.Remittance | None = None
    report: model.StatusReport | None = None
    facts: model.ClaimFacts | None = None
    history: tuple[model.HistorySession, ...] = ()
    as_of: dt.date | None = None
    payer_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)  # payer-id rows of coverage.toml


def scenario_from_dict(raw: dict[str, Any], *, defaults: dict[str, Any] | None = None) -> Scenario:
    raw = {**(defaults or {}), **raw}
    case_id = str(raw.get("id") or "?")
    where = f"case {case_id}"
    for key in ("id", "ref", "scenario", "why", "expect"):
        if key not in raw:
            raise ScenarioError(f"{where}: missing {key}")
    expect = dict(raw["expect"])
    if expect.get("category") is not None and expect["category"] not in CATEGORIES:
        raise ScenarioError(f"{where}.expect.category: not a category")
    if expect.get("action") not in ACTIONS:
        raise ScenarioError(f"{where}.expect.action: not an action")
    if expect.get("queue") not in (None, *QUEUES):
        raise ScenarioError(f"{where}.expect.queue: not a queue")
    payer = _payer(raw.get("payer"), where)
    notice = _date(raw.get("notice"), f"{where}.notice") or DEFAULT_NOTICE
    claim_id = str(raw.get("claim_id", f"CL-{case_id}"))
    patient = str(raw.get("patient", "PT-1"))
    try:
        lines = []
        for i, ln in enumerate(raw.get("lines", [])):
            lw = f"{where}.lines[{i}]"
            lines.append(model.RemitLine(
                line_id=str(ln.get("id", i + 1)), procedure=_procedure(ln), charge=_money(ln.get("charge", 1000), lw),
                paid=_money(ln.get("paid", 0), lw), units=_money(ln.get("units", 1), lw),
                allowed=_money(ln["allowed"], lw) if "allowed" in ln else None,
                service_date=_date(ln.get("dos"), f"{lw}.dos") or DEFAULT_DOS,
                adjustments=tuple(_adjustment(a, f"{lw}.adj") for a in ln.get("adj", ())),
                remarks=tuple(r.upper() for r in ln.get("remarks", ()))))
        history = tuple(
            model.HistorySession(claim_id=str(h.get("claim", "EARLIER")), line_id=str(h.get("line", f"h{i}")),
                                 service_date=_date(h["date"], f"{where}.history[{i}].date"), procedure=_procedure(h),
                                 paid=h.get("paid", True), detail=_detail(h, f"{where}.history[{i}]"))
            for i, h in enumerate(raw.get("history", [])))
        facts = None
        if "submission" in raw:
            sub = raw["submission"]
            sub_payer = _payer(sub.get("payer"), where) if "payer" in sub else payer
            submitted_lines = tuple(
                model.SubmittedLine(line_id=str(ln.get("id", i + 1)),
                                    procedure=model.Procedure(
                                        str(ln["code"]).upper(),
                                        tuple(m.upper() for m in sub.get("modifiers", {}).get(
                                            str(ln.get("id", i + 1)), ln.get("mods", ())))),
                                    charge=Decimal("1000"),
                                    service_date=_date(ln.get("dos"), where) or DEFAULT_DOS,
                                    detail=_detail(ln, f"{where}.lines[{i}]"))
                for i, ln in enumerate(raw.get("lines", [])))
            injury = None
            if "injury" in sub:
                inj = sub["injury"]
                injury = model.Injury(kind=inj.get("kind", "workers_comp"),
                                      date_of_injury=_date(inj.get("date"), f"{where}.submission.injury.date"),
                                      state=inj.get("state"), claim_number_sent=bool(inj.get("claim_number")),
                                      adjuster_sent=bool(inj.get("adjuster")))
            submission = model.Submission(
                event_id=f"st-{case_id}", occurred_at=OCCURRED, payer=sub_payer, claim_id=claim_id,
                service_date_from=DEFAULT_DOS, patient_key=patient, prior_authorization=sub.get("prior_auth"),
                other_payers=tuple(model.OtherPayer(id=o["id"], type=o.get("type", "other"),
                                                    responsibility=o.get("responsibility", "unknown"))
                                   for o in sub.get("other_payers", ())),
                lines=submitted_lines, injury=injury)
            facts = model.ClaimFacts(claim_id=claim_id, submission=submission,
                                     adjudicated_payers=set(sub.get("adjudicated", ())),
                                     forwarded=bool(sub.get("forwarded", False)))
        if "authorizations" in raw:
            facts = facts or model.ClaimFacts(claim_id=claim_id)
            facts.authorizations = tuple(_authorization(a, payer, f"{where}.authorizations[{i}]")
                                         for i, a in enumerate(raw["authorizations"]))
        remit = report = None
        target: tuple[str | None, int] = (None, 0)
        if raw.get("kind") == "status":
            status = raw["status"]
            report = model.StatusReport(
                event_id=f"st-{case_id}", occurred_at=OCCURRED, kind=raw.get("status_kind", "status"), payer=payer,
                status=model.StatusCode(category=str(status["category"]).upper(), code=status.get("code"),
                                        entity=status.get("entity"),
                                        effective_date=_date(status.get("date"), f"{where}.status.date")),
                claim_id=None if raw.get("batch") else claim_id,
                service_date_from=_date(raw.get("dos"), f"{where}.dos") or DEFAULT_DOS)
        else:
            remit = model.Remittance(
                event_id=f"rm-{case_id}", occurred_at=OCCURRED, payer=payer, claim_id=claim_id,
                status_code=str(raw.get("status", "1")), total_charge=sum((ln.charge for ln in lines), Decimal(0)),
                total_paid=_money(raw.get("total_paid", sum((ln.paid for ln in lines), Decimal(0))), where),
                production_date=notice, filing_indicator=raw.get("filing_indicator"),
                service_date_from=_date(raw.get("dos"), where) or DEFAULT_DOS,
                service_date_to=_date(raw.get("dos_to"), where) or _date(raw.get("dos"), where) or DEFAULT_DOS,
                patient_key=patient,
                adjustments=tuple(_adjustment(a, f"{where}.claim_adj") for a in raw.get("claim_adj", ())),
                remarks=tuple(r.upper() for r in raw.get("claim_remarks", ())), lines=tuple(lines))
            spec = str(expect.get("target", "1:0"))
            line_part, _, index = spec.partition(":")
            target = (None if line_part == "claim" else line_part, int(index or 0))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ScenarioError(f"{where}: missing or invalid field {exc}") from None
    return Scenario(id=case_id, ref=str(raw["ref"]), scenario=str(raw["scenario"]), why=str(raw["why"]),
                    expect=expect, target=target, remit=remit, report=report, facts=facts, history=history,
                    as_of=_date(raw.get("as_of"), f"{where}.as_of"),
                    payer_overrides=dict(raw.get("payer_overrides", {})), coverage=dict(raw.get("coverage", {})))


@dataclass(frozen=True, slots=True)
class CaseResult:
    scenario: Scenario
    predicted: dict[str, Any]
    mismatches: tuple[str, ...]  # "field: expected X, got Y"

    @property
    def passed(self) -> bool:
        return not self.mismatches


def _predict(clf: Classifier, s: Scenario) -> dict[str, Any]:
    if s.payer_overrides:
        clf = clf.with_payer_overrides(s.payer_overrides)
    if s.coverage:
        clf = clf.with_coverage(s.coverage)
    if s.report is not None:
        d = clf.classify_status(s.report, facts=s.facts)[0]
        return {"category": d.category, "action": d.action, "queue": d.queue, "bucket": d.bucket,
                "due_date": d.due_date, "filing_deadline": d.filing_deadline, "rule_id": d.rule_id,
                "explanation": d.explanation}
    assert s.remit is not None
    decisions = clf.classify(s.remit, facts=s.facts, history=s.history, as_of=s.as_of)
    for d in decisions:
        if (d.line_id, d.adjustment_index) == s.target:
            return {"category": d.category, "action": d.action, "queue": d.queue, "appealable": d.appealable,
                    "is_denial": d.is_denial, "deadline": d.deadline, "filing_deadline": d.filing_deadline,
                    "rule_id": d.rule_id, "explanation": d.explanation, "value": d.value,
                    "checklist": tuple(item.id for item in d.checklist)}
    raise ScenarioError(f"case {s.id}: expect.target {s.target} names no adjustment")


def run_case(clf: Classifier, s: Scenario) -> CaseResult:
    predicted = _predict(clf, s)
    mismatches = []
    for name in ("category", "action", *CHECKED_FIELDS):
        if name not in s.expect:
            continue
        expected = s.expect[name]
        if name in ("deadline", "filing_deadline", "due_date"):
            expected = _date(expected, f"case {s.id}.expect.{name}")
        if name == "value" and expected is not None:
            expected = _money(expected, f"case {s.id}.expect.value")
        if predicted.get(name) != expected:
            mismatches.append(f"{name}: expected {expected}, got {predicted.get(name)}")
    # `explains`: phrases the explanation must contain; `checklist`: item ids the decision must list
    for phrase in s.expect.get("explains", ()):
        if phrase.lower() not in str(predicted.get("explanation", "")).lower():
            mismatches.append(f"explanation: expected to say {phrase!r}")
    for phrase in s.expect.get("never_says", ()):
        if phrase.lower() in str(predicted.get("explanation", "")).lower():
            mismatches.append(f"explanation: must not say {phrase!r}")
    for item in s.expect.get("checklist", ()):
        if item not in predicted.get("checklist", ()):
            mismatches.append(f"checklist: expected item {item!r}, got {list(predicted.get('checklist', ()))}")
    for item in s.expect.get("checklist_absent", ()):
        if item in predicted.get("checklist", ()):
            mismatches.append(f"checklist: item {item!r} does not belong")
    return CaseResult(s, predicted, tuple(mismatches))


@dataclass(frozen=True, slots=True)
class EvalReport:
    results: tuple[CaseResult, ...]

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def per(self, field_name: str) -> dict[str, tuple[int, int]]:
        """(correct, total) of `field_name` per expected value."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            expected = r.scenario.expect.get(field_name)
            if field_name not in r.scenario.expect:
                continue
            key = str(expected)
            out[key][1] += 1
            out[key][0] += r.predicted.get(field_name) == expected
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}

    def confusion(self, field_name: str) -> Counter[tuple[str, str]]:
        pairs: Counter[tuple[str, str]] = Counter()
        for r in self.results:
            if field_name in r.scenario.expect and r.predicted.get(field_name) != r.scenario.expect[field_name]:
                pairs[(str(r.scenario.expect[field_name]), str(r.predicted.get(field_name)))] += 1
        return pairs

    def render(self) -> str:
        lines = [f"corpus: {self.total} cases, {self.passed} fully correct ({self.accuracy:.1%})"]
        for name in ("category", "action"):
            stats = self.per(name)
            correct = sum(c for c, _ in stats.values())
            total = sum(t for _, t in stats.values())
            lines.append("")
            lines.append(f"accuracy per {name}: {correct}/{total} ({correct / total if total else 0:.1%})")
            for key, (c, t) in stats.items():
                lines.append(f"  {key:<26} {c:>4}/{t:<4} {c / t:.1%}")
            pairs = self.confusion(name)
            lines.append(f"confusion pairs ({name}, expected -> predicted): "
                         + (", ".join(f"{a} -> {b} x{n}" for (a, b), n in pairs.most_common()) or "none"))
        failures = [r for r in self.results if not r.passed]
        if failures:
            lines.append("")
            lines.append("failures:")
            for r in failures:
                lines.append(f"  {r.scenario.id} (ref {r.scenario.ref}): {'; '.join(r.mismatches)}")
                lines.append(f"      rule {r.predicted.get('rule_id')}: {r.predicted.get('explanation')}")
        return "\n".join(lines)


def evaluate(clf: Classifier, scenarios: Sequence[Scenario]) -> EvalReport:
    return EvalReport(tuple(run_case(clf, s) for s in scenarios))


def scenarios_from_documents(documents: Iterable[tuple[str, dict[str, Any]]]) -> list[Scenario]:
    """Each document is (name, parsed TOML/JSON) with a `case` list and optional `defaults`; ids must be unique."""
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for name, doc in documents:
        cases = doc.get("case")
        if not isinstance(cases, list):
            raise ScenarioError(f"{name}: no [[case]] list")
        for raw in cases:
            try:
                s = scenario_from_dict(raw, defaults=doc.get("defaults"))
            except ScenarioError as exc:
                raise ScenarioError(f"{name}: {exc}") from None
            if s.id in seen:
                raise ScenarioError(f"{name}: case id {s.id} is used twice")
            seen.add(s.id)
            scenarios.append(s)
    return scenarios
