"""`denials classify [FILE|-] [--as-of DATE]`: the classifier without Kafka or PostgreSQL.

Input: JSON lines of `claims.remittance.v1` and `claims.status.v1` events, or an X12 835/277/277CA file (it starts
with `ISA`; parsed by `service.x12`). Events are processed in order; claim history and claim facts are kept in memory
from the earlier events of the same input. Output on stdout, JSON lines only, in input order: one line per adjustment
and one per status event. A bad line is reported on stderr with its line number and the field, the rest are still
classified, and the exit code is 2.
Codes the rule tables do not know are classified `unclassified` (or noted), kept as sent and counted on stderr."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from service.domain import model
from service.domain.classification import Classifier, load_classifier
from service.service_layer import mapping
from topics.catalogue import PROVIDER_ADJUSTMENTS
from topics.codec import ContractError, decode
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

EXIT_BAD_INPUT = 2
FORWARDED = ("19", "20", "21")


@dataclass(frozen=True, slots=True)
class InputEvent:
    """One decoded input event with where it came from (line number in the file)."""

    line_no: int
    event: model.Remittance | model.Submission | model.StatusReport


@dataclass(frozen=True, slots=True)
class InputError:
    line_no: int
    reason: str  # value-free: field paths and rule names (ContractError.reason)


def events_from_json_lines(data: bytes) -> Iterator[InputEvent | InputError]:
    """Decode JSON lines: a remittance has `claim` + `remit`, a status event has `kind`. A line of `denials ingest
    --dry-run` (`{"topic": ..., "key": ..., "value": {...}}`) is read by its value; provider adjustments (PLB) have no
    adjustment to classify and are skipped."""
    for line_no, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            peek = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            yield InputError(line_no, "not_json: the record is not valid JSON")
            continue
        if not isinstance(peek, dict):
            yield InputError(line_no, "schema_violation: (record): not a JSON object")
            continue
        if isinstance(peek.get("topic"), str) and isinstance(peek.get("value"), dict):
            if peek["topic"] == PROVIDER_ADJUSTMENTS:
                continue
            peek = peek["value"]
            raw = json.dumps(peek).encode()
        try:
            if "claim" in peek and "remit" in peek:
                yield InputEvent(line_no, mapping.remittance(decode(RemittanceEvent, raw)))
            elif "kind" in peek:
                yield InputEvent(line_no, mapping.status_event(decode(StatusEvent, raw)))
            else:
                yield InputError(line_no, "schema_violation: (record): neither a remittance (claim + remit) nor a "
                                          "status event (kind)")
        except ContractError as exc:
            yield InputError(line_no, str(exc))


def events_from_x12(data: bytes, source: str | None = None) -> Iterator[InputEvent | InputError]:
    """X12 835/277/277CA input through `service.x12.events_from_file`: events in file order (numbered by their
    position in the file), then one error per rejected record (at its first segment line) or one for a rejected
    file. Provider-level adjustments (PLB) have no adjustment to classify and are skipped."""
    try:
        x12 = importlib.import_module("service.x12")
    except ModuleNotFoundError:
        yield InputError(1, "x12: X12 input needs the service.x12 module, which is not installed")
        return
    for position, item in enumerate(x12.events_from_file(data, source=source), start=1):
        if isinstance(item, RemittanceEvent):
            yield InputEvent(position, mapping.remittance(item))
        elif isinstance(item, StatusEvent):
            yield InputEvent(position, mapping.status_event(item))
        elif isinstance(item, ProviderAdjustmentEvent):
            continue
        else:  # RecordError / FileRejected: value-free reasons
            yield InputError(getattr(item, "first_line", None) or position, str(item.reason))


def events_from_bytes(data: bytes, source: str | None = None) -> Iterator[InputEvent | InputError]:
    """The hook that turns a file into events: X12 when it starts with ISA (or a bare ST set), else JSON lines."""
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:4]
    if head[:3] == b"ISA" or (head[:2] == b"ST" and len(head) > 2 and not head[2:3].isalnum()):
        return events_from_x12(data, source)
    return events_from_json_lines(data)


@dataclass
class ClaimMemory:
    """History and claim facts built from the earlier events of the input, as the store keeps them in the service."""

    submissions: dict[str, model.Submission] = field(default_factory=dict)
    adjudicated: dict[str, set[str]] = field(default_factory=dict)
    forwarded: dict[str, bool] = field(default_factory=dict)
    patient_of_claim: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, dict[tuple[str, str], model.HistorySession]] = field(default_factory=dict)

    def facts(self, claim_id: str) -> model.ClaimFacts:
        return model.ClaimFacts(claim_id=claim_id, submission=self.submissions.get(claim_id),
                                adjudicated_payers=set(self.adjudicated.get(claim_id, ())),
                                forwarded=self.forwarded.get(claim_id, False))

    def history(self, patient_key: str | None) -> list[model.HistorySession]:
        return list(self.sessions.get(patient_key, {}).values()) if patient_key else []

    def _record(self, patient_key: str | None, session: model.HistorySession) -> None:
        if patient_key:
            self.sessions.setdefault(patient_key, {})[(session.claim_id, session.line_id)] = session

    def remember_submission(self, sub: model.Submission) -> None:
        self.submissions[sub.claim_id] = sub
        if sub.patient_key:
            self.patient_of_claim[sub.claim_id] = sub.patient_key
        for line in sub.lines:
            day = line.service_date or sub.service_date_from
            if day is not None:
                self._record(sub.patient_key, model.HistorySession(sub.claim_id, line.line_id, day, line.procedure))

    def remember_remittance(self, remit: model.Remittance) -> None:
        patient = remit.patient_key or self.patient_of_claim.get(remit.claim_id)
        if remit.is_reversal:
            paid: bool | None = None
        else:
            self.adjudicated.setdefault(remit.claim_id, set()).add(remit.payer.id)
            if remit.status_code in FORWARDED:
                self.forwarded[remit.claim_id] = True
        for line in remit.lines:
            day = line.service_date or remit.service_date_from
            if day is None:
                continue
            if not remit.is_reversal:
                paid = line.covered
            self._record(patient, model.HistorySession(remit.claim_id, line.line_id, day, line.procedure, paid))


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _checklist(items: Iterable[model.ChecklistItem]) -> list[dict[str, Any]]:
    return [{"id": i.id, "text": i.text, "done": i.done} for i in items]


def decision_record(event: model.Remittance, d: model.Decision) -> dict[str, Any]:
    return {
        "event_id": event.event_id, "claim_id": event.claim_id, "line_id": d.line_id,
        "adjustment_index": d.adjustment_index, "group": d.group, "reason": d.reason, "amount": _money(d.amount),
        "remarks": list(d.remarks),
        "procedure": ({"code": d.procedure.code, "modifiers": list(d.procedure.modifiers)} if d.procedure else None),
        "service_date": _date(d.service_date), "category": d.category, "is_denial": d.is_denial, "action": d.action,
        "queue": d.queue, "appealable": d.appealable, "recoverability": d.recoverability,
        "deadline": _date(d.deadline), "deadline_basis": d.deadline_basis, "filing_deadline": _date(d.filing_deadline),
        "filing_deadline_basis": d.filing_deadline_basis,
        "explanation": d.explanation, "rule_id": d.rule_id, "rules_version": d.rules_version,
        "checklist": _checklist(d.checklist),
    }


def _status_fields(s: model.StatusDecision) -> dict[str, Any]:
    return {"bucket": s.bucket, "action": s.action, "category": s.category, "queue": s.queue,
            "due_date": _date(s.due_date), "filing_deadline": _date(s.filing_deadline), "explanation": s.explanation,
            "rule_id": s.rule_id, "rules_version": s.rules_version, "checklist": _checklist(s.checklist)}


def status_record(report: model.StatusReport, decisions: list[model.StatusDecision]) -> dict[str, Any]:
    claim_level, *lines = decisions
    status = report.status
    return {
        "event_id": report.event_id, "claim_id": report.claim_id, "kind": report.kind,
        "status": ":".join(p for p in (status.category, status.code or "", status.entity or "") if p),
        **_status_fields(claim_level),
        "line_statuses": [{"line_id": s.line_id, **_status_fields(s)} for s in lines],
    }


def submission_record(sub: model.Submission, rules_version: str) -> dict[str, Any]:
    return {"event_id": sub.event_id, "claim_id": sub.claim_id, "kind": "submitted", "bucket": "submitted",
            "action": "none", "rules_version": rules_version}


def classify_events(items: Iterable[InputEvent | InputError], clf: Classifier,
                    as_of: dt.date | None) -> Iterator[dict[str, Any] | InputError]:
    """Output records (or input errors) in input order, keeping history in memory."""
    memory = ClaimMemory()
    for item in items:
        if isinstance(item, InputError):
            yield item
            continue
        event = item.event
        if isinstance(event, model.Remittance):
            patient = event.patient_key or memory.patient_of_claim.get(event.claim_id)
            decisions = clf.classify(event, facts=memory.facts(event.claim_id), history=memory.history(patient),
                                     as_of=as_of)
            yield from (decision_record(event, d) for d in decisions)
            memory.remember_remittance(event)
        elif isinstance(event, model.Submission):
            memory.remember_submission(event)
            yield submission_record(event, clf.rules_version)
        else:
            facts = memory.facts(event.claim_id) if event.claim_id else None
            yield status_record(event, clf.classify_status(event, facts=facts))


def unknown_codes_line(counts: Counter[str]) -> str:
    """How often each code the rule tables do not know was seen ("CARC:ZZ9" keys), for stderr."""
    listed = ", ".join(f"{key.replace(':', ' ', 1)} x{n}" for key, n in sorted(counts.items()))
    return f"{sum(counts.values())} code(s) not in the rule tables (kept as sent): {listed}"


def _read(file: str) -> tuple[str, bytes]:
    if file == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(file)
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        typer.echo(f"denials classify: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected a date as YYYY-MM-DD", param_hint="--as-of") from None


def classify_command(
    file: str = typer.Argument("-", metavar="FILE", help="JSON lines of claims.remittance.v1 / claims.status.v1 "
                                                         "events, or an X12 file; '-' reads stdin."),
    as_of: str | None = typer.Option(None, "--as-of", metavar="DATE",
                                     help="Today's date for the decisions (YYYY-MM-DD); output never depends on the "
                                          "wall clock."),
) -> None:
    """Classify every adjustment and status in FILE; JSON lines on stdout, one per adjustment or status event."""
    today = parse_as_of(as_of)
    name, data = _read(file)
    clf = load_classifier()
    known_before = Counter(clf.unknown_codes)  # the classifier is cached: count this input's codes only
    bad = 0
    events = _Counted(events_from_bytes(data, name))
    out = sys.stdout
    for record in classify_events(events, clf, today):
        if isinstance(record, InputError):
            bad += 1
            typer.echo(f"{name}:{record.line_no}: {record.reason}", err=True)
            continue
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
    out.flush()
    unknown = clf.unknown_codes - known_before
    if unknown:
        typer.echo(f"denials classify: {unknown_codes_line(unknown)}", err=True)
    if bad:
        if events.good:
            done = f"the other {events.good} event(s) were classified"
        else:
            done = "no event could be classified"
        typer.echo(f"denials classify: {bad} bad line(s) in {name}; {done}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


class _Counted:
    """The input's items, counting the events that decoded (for the closing sentence)."""

    def __init__(self, items: Iterable[InputEvent | InputError]) -> None:
        self._items = items
        self.good = 0

    def __iter__(self) -> Iterator[InputEvent | InputError]:
        for item in self._items:
            if isinstance(item, InputEvent):
                self.good += 1
            yield item


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_command)
