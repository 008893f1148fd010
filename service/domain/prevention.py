"""Prevention feedback: recurring, avoidable denials turned into rules a billing platform can check before
submission ("payer X denies 64483 without prior authorization: 14 denials, $20,300.00 in 90 days").

The store hands over the denied lines of a window (plain values); `data/prevention.toml` says which denials a check
before submission could have avoided and how to phrase it. Counting: one denial per denied line of a remittance
(two adjustments of one line for one condition count once), claims counted once each, the amount is the sum of the
denied amounts. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from service.domain.model import ZERO
from service.domain.ruledata import RuleDataError, RuleFiles, rules_root


@dataclass(frozen=True, slots=True)
class DeniedLine:
    """The denial decisions of one line of one remittance for one (category, rule)."""

    payer_id: str
    payer_type: str
    procedure_code: str
    category: str
    rule_id: str
    event_id: str
    line_id: str
    claim_id: str
    occurred_at: dt.datetime
    amount: Decimal
    codes: tuple[str, ...]  # group-CARC of the adjustments


@dataclass(frozen=True, slots=True)
class Condition:
    key: str
    phrase: str
    check: str
    category: str | None = None
    rule_ids: tuple[str, ...] = ()
    exclude_rule_ids: tuple[str, ...] = ()

    def covers(self, category: str, rule_id: str) -> bool:
        if self.category is not None and category != self.category:
            return False
        if self.rule_ids and not rule_id.startswith(self.rule_ids):
            return False
        return not (self.exclude_rule_ids and rule_id.startswith(self.exclude_rule_ids))


@dataclass(frozen=True, slots=True)
class PreventionBook:
    version: str
    conditions: tuple[Condition, ...]

    @property
    def categories(self) -> frozenset[str] | None:
        """The categories any condition covers (None: a condition covers every category)."""
        cats = {c.category for c in self.conditions}
        return None if None in cats else frozenset(c for c in cats if c is not None)

    def condition_for(self, category: str, rule_id: str) -> Condition | None:
        return next((c for c in self.conditions if c.covers(category, rule_id)), None)

    @classmethod
    def from_text(cls, text: str) -> PreventionBook:
        try:
            data = tomllib.loads(text)
            conditions = tuple(Condition(
                key=str(c["key"]), phrase=str(c["phrase"]), check=str(c["check"]), category=c.get("category"),
                rule_ids=tuple(c.get("rule_ids", ())), exclude_rule_ids=tuple(c.get("exclude_rule_ids", ())))
                for c in data["conditions"])
            version = str(data["VERSION"])
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise RuleDataError(f"prevention.toml: missing or invalid {exc}") from None
        keys = [c.key for c in conditions]
        if len(set(keys)) != len(keys):
            raise RuleDataError("prevention.toml: a condition key is used twice")
        for c in conditions:
            try:
                c.check.format(code="", payer="")
            except (KeyError, IndexError, ValueError) as exc:
                raise RuleDataError(f"prevention.toml [{c.key}]: check may use only {{code}} and {{payer}} "
                                    f"(write {{{{ }}}} for a brace): {exc}") from None
        return cls(version, conditions)


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> PreventionBook:
    return PreventionBook.from_text(RuleFiles(root).text("prevention.toml"))


def load_prevention_book(data_dir: Path | str | None = None) -> PreventionBook:
    return _load(Path(data_dir) if data_dir is not None else rules_root())


@dataclass(frozen=True, slots=True)
class PreventionRule:
    key: str  # payer:code:condition, stable across calls
    payer_id: str
    payer_type: str
    procedure_code: str
    condition: str
    category: str
    phrase: str
    check: str
    text: str
    denials: int
    claims: int
    amount: Decimal
    first_seen: dt.datetime
    last_seen: dt.datetime
    codes: tuple[str, ...]
    rule_ids: tuple[str, ...]
    example_claims: tuple[str, ...]


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def prevention_rules(lines: Iterable[DeniedLine], book: PreventionBook, *, window_days: int, min_denials: int = 3,
                     examples: int = 5) -> list[PreventionRule]:
    """The recurring avoidable causes among `lines`, largest amount first; a cause needs `min_denials` denials."""
    groups: dict[tuple[str, str, str], list[tuple[DeniedLine, Condition]]] = {}
    for line in lines:
        condition = book.condition_for(line.category, line.rule_id)
        if condition is not None:
            groups.setdefault((line.payer_id, line.procedure_code, condition.key), []).append((line, condition))
    rules = []
    for (payer_id, code, key), members in groups.items():
        by_line: dict[tuple[str, str], list[DeniedLine]] = {}
        for line, _ in members:
            by_line.setdefault((line.event_id, line.line_id), []).append(line)
        if len(by_line) < min_denials:
            continue
        condition = members[0][1]
        amount = sum((x.amount for x, _ in members), ZERO)
        recent = sorted((x for x, _ in members), key=lambda x: (x.occurred_at, x.claim_id), reverse=True)
        example_claims = tuple(dict.fromkeys(x.claim_id for x in recent))[:examples]
        categories = sorted({x.category for x, _ in members})
        text = (f"payer {payer_id} denies {code} {condition.phrase}: {len(by_line)} denials, {_money(amount)} in "
                f"{window_days} days")
        rules.append(PreventionRule(
            key=f"{payer_id}:{code}:{key}", payer_id=payer_id, payer_type=recent[0].payer_type,
            procedure_code=code, condition=key, category=categories[0], phrase=condition.phrase,
            check=condition.check.format(code=code, payer=payer_id), text=text, denials=len(by_line),
            claims=len({x.claim_id for x, _ in members}), amount=amount,
            first_seen=min(x.occurred_at for x, _ in members), last_seen=max(x.occurred_at for x, _ in members),
            codes=tuple(sorted({c for x, _ in members for c in x.codes})),
            rule_ids=tuple(sorted({x.rule_id for x, _ in members})), example_claims=example_claims))
    rules.sort(key=lambda r: (-r.amount, -r.denials, r.key))
    return rules


def covered_categories(book: PreventionBook) -> Sequence[str] | None:
    cats = book.categories
    return sorted(cats) if cats is not None else None
