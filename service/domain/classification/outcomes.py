"""The numbers and code lists of the classifier's steps (`outcomes.csv`): what each outcome of a step can bring back
(recoverability) and which codes turn a step on (CARC 18 for the duplicate check, RARC MA130 for the filing clock).

The engine keeps the control flow (which finding leads to which action, the explanation's words); every number and
code list it applies is a row here, effective-dated like the code tables and named by a rule id."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

from service.domain.ruledata import RuleDataError, RuleFiles, parse_date, parse_float

# Code kinds a row may list, written "KIND:code": a CARC, a RARC, or an NCCI pair id of pain_rules.toml.
CODE_KINDS = ("CARC", "RARC", "NCCI")

# Every rule the engine applies: the code kinds its row may list, and whether it must carry a recoverability.
RULES: dict[str, tuple[tuple[str, ...], bool]] = {
    "status.reversal": ((), True),
    "status.predetermination": ((), True),
    "status.not_ours": ((), True),
    "carc.unknown": ((), True),
    "carc.unmapped": ((), True),
    "group.provider_liable": ((), True),
    "kind.contractual_under_pr": ((), True),
    "kind.no_recovery": ((), True),
    "kind.partial_paid": ((), True),
    "clock.window_closed": ((), True),
    "timely_filing.past_window": (("CARC",), True),
    "history.necessity_generic": (("CARC",), False),
    "history.prerequisite.missing": ((), True),
    "history.prerequisite.not_met": ((), True),
    "history.prerequisite.met": ((), True),
    "history.frequency.abn": ((), True),
    "history.frequency.hard": ((), True),
    "history.frequency.soft": ((), True),
    "history.frequency.under_limit": ((), True),
    "history.repeat.met": ((), True),
    "history.repeat.likely_not_met": ((), True),
    "history.repeat.not_met": ((), True),
    "pain.duplicate": (("CARC",), False),
    "pain.duplicate.addon_units": ((), True),
    "pain.duplicate.false": ((), True),
    "pain.duplicate.true": ((), True),
    "pain.duplicate.bilateral": ((), True),
    "pain.duplicate.bilateral_not_payable": ((), True),
    "pain.levels": ((), True),
    "pain.units.over_max": ((), True),
    "pain.modifier.kx_missing": ((), True),
    "pain.modifier.dropped_by_payer": (("CARC",), True),
    "pain.liability.gz": ((), True),
    "pain.liability.gz_over_pr": ((), True),
    "pain.diagnosis.axial_only": ((), True),
    "pain.bundling.addon": (("CARC", "RARC"), False),
    "pain.bundling.addon_without_primary": ((), True),
    "pain.bundling.addon_primary_denied": ((), True),
    "pain.bundling.addon_primary_on_file": ((), True),
    "pain.ncci.never": ((), True),
    "pain.ncci.same_level": (("NCCI",), True),
    "pain.ncci.bypass_present": ((), True),
    "pain.ncci.other_side": ((), True),
    "pain.ncci.distinct": ((), True),
    "auth.check": (("CARC",), False),
    "auth.on_claim": ((), True),
    "auth.on_file": ((), True),
    "rarc.route.unprocessable": (("RARC",), False),
}


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    rule_id: str
    start: dt.date | None
    stop: dt.date | None
    codes: dict[str, frozenset[str]]  # kind -> codes
    recoverability: float | None
    ref: str
    note: str
    line: int

    def effective(self, on: dt.date) -> bool:
        return (self.start is None or self.start <= on) and (self.stop is None or on <= self.stop)


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The rows of `outcomes.csv` by rule id; each rule's rows cover every date exactly once."""

    rows: dict[str, tuple[OutcomeRow, ...]]
    boundaries: tuple[dt.date, ...]  # every date where some rule's row changes (for memo keys)

    @classmethod
    def load(cls, files: RuleFiles, *, carcs: frozenset[str] = frozenset(), rarcs: frozenset[str] = frozenset(),
             ncci: frozenset[str] = frozenset()) -> Outcomes:
        """Reads and checks every row; `carcs`, `rarcs` and `ncci` are the codes the other tables know (a row may
        list only those)."""
        if "outcomes" not in files.manifest().get("files", {}):
            # A rules directory copied before these rows were data: say how to bring it up to date.
            raise RuleDataError("manifest.toml: no file named for 'outcomes' (a rules copy older than 2026.12.5: copy "
                                "outcomes.csv from service/domain/data/ and add outcomes = \"outcomes.csv\" under "
                                "[files])")
        name = files.path_of("outcomes")
        known = dict(zip(CODE_KINDS, (carcs, rarcs, ncci), strict=True))
        by_rule: dict[str, list[OutcomeRow]] = {}
        for row in files.rows("outcomes"):
            line = int(row["_line"])

            def where(column: str, line: int = line) -> str:
                return f"{name} line {line}, column {column}"

            rule_id = row.get("rule_id", "")
            if rule_id not in RULES:
                raise RuleDataError(f"{where('rule_id')}: {rule_id!r} is not a rule the classifier applies")
            kinds, needs_number = RULES[rule_id]
            codes: dict[str, set[str]] = {}
            for item in row.get("codes", "").split():
                kind, _, code = item.partition(":")
                if kind not in kinds or not code:
                    allowed = ", ".join(f"{k}:<code>" for k in kinds) or "no codes"
                    raise RuleDataError(f"{where('codes')}: {item!r} does not fit rule {rule_id} (it takes {allowed})")
                if known[kind] and code not in known[kind]:
                    raise RuleDataError(f"{where('codes')}: {kind} {code} is not in the rule tables")
                codes.setdefault(kind, set()).add(code.upper() if kind != "NCCI" else code)
            if kinds and not codes:
                raise RuleDataError(f"{where('codes')}: rule {rule_id} needs at least one code")
            recoverability = parse_float(row.get("recoverability", ""), where=where("recoverability"))
            if needs_number and recoverability is None:
                raise RuleDataError(f"{where('recoverability')}: rule {rule_id} needs a recoverability")
            if not needs_number and recoverability is not None:
                raise RuleDataError(f"{where('recoverability')}: rule {rule_id} takes no recoverability")
            if not row.get("ref"):
                raise RuleDataError(f"{where('ref')}: every rule names its reference")
            found = OutcomeRow(rule_id=rule_id, start=parse_date(row.get("start", ""), where=where("start")),
                               stop=parse_date(row.get("stop", ""), where=where("stop")),
                               codes={k: frozenset(v) for k, v in codes.items()}, recoverability=recoverability,
                               ref=row["ref"], note=row.get("note", ""), line=line)
            if found.start and found.stop and found.stop < found.start:
                raise RuleDataError(f"{where('stop')}: the row stops before it starts")
            by_rule.setdefault(rule_id, []).append(found)
        missing = [rule for rule in RULES if rule not in by_rule]
        if missing:
            raise RuleDataError(f"{name}: no row for rule {missing[0]}, which the classifier applies")
        rows = {rule: _cover(name, sorted(found, key=lambda r: r.start or dt.date.min))
                for rule, found in by_rule.items()}
        boundaries = sorted({d for found in rows.values() for r in found for d in (r.start,) if d is not None}
                            | {r.stop + dt.timedelta(days=1) for found in rows.values() for r in found
                               if r.stop is not None})
        return cls(rows, tuple(boundaries))

    def row(self, rule_id: str, on: dt.date) -> OutcomeRow:
        found = self.rows[rule_id]
        if len(found) == 1:
            return found[0]
        return next(r for r in found if r.effective(on))

    def recoverability(self, rule_id: str, on: dt.date) -> float:
        value = self.row(rule_id, on).recoverability
        assert value is not None  # checked at load
        return value

    def codes(self, rule_id: str, on: dt.date, kind: str) -> frozenset[str]:
        return self.row(rule_id, on).codes.get(kind, frozenset())

    def epoch(self, on: dt.date) -> int:
        """Which stretch of dates `on` falls in: two dates of one stretch read every rule the same way."""
        return bisect.bisect_right(self.boundaries, on) if self.boundaries else 0


def _cover(name: str, rows: list[OutcomeRow]) -> tuple[OutcomeRow, ...]:
    """A rule's rows, checked to cover every date once: the first open at the start, each next starting the day after
    the last stops, the last open at the end."""
    first, last = rows[0], rows[-1]
    if first.start is not None:
        raise RuleDataError(f"{name} line {first.line}, column start: rule {first.rule_id}'s earliest row must have "
                            "no start date, so that every date has a row")
    if last.stop is not None:
        raise RuleDataError(f"{name} line {last.line}, column stop: rule {last.rule_id}'s latest row must have no "
                            "stop date, so that every date has a row")
    for before, after in zip(rows, rows[1:], strict=False):
        if before.stop is None or after.start != before.stop + dt.timedelta(days=1):
            raise RuleDataError(f"{name} line {after.line}, column start: rule {after.rule_id}'s rows overlap or "
                                "leave a gap (a row starts the day after the one before it stops)")
    return tuple(rows)


__all__ = ["CODE_KINDS", "RULES", "OutcomeRow", "Outcomes"]
