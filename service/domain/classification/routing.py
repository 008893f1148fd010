"""Routes: payer-type routes (`payer_routes.csv`) and which team works a decision (`routing.toml`)."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, QUEUES
from service.domain.ruledata import RuleDataError, RuleFiles, parse_bool, parse_float


@dataclass(frozen=True, slots=True)
class PayerRoute:
    payer_type: str
    part: str  # A | B | *
    carc: str  # "" = any
    category: str  # "" = any
    when_action: str  # "" = any
    action: str
    appealable: bool | None
    recoverability: float | None
    rule_id: str
    ref: str
    why: str

    def matches(self, payer_type: str, part: str | None, carc: str, category: str, action: str) -> bool:
        return (self.payer_type == payer_type and self.part in ("*", part)
                and self.carc in ("", carc) and self.category in ("", category)
                and self.when_action in ("", action))


@dataclass(frozen=True, slots=True)
class Routing:
    payer_routes: tuple[PayerRoute, ...]
    action_queue: dict[str, str]
    category_queue: dict[str, str]
    resubmission_queue: dict[str, str]
    no_appeal_correctable: frozenset[str]

    @classmethod
    def load(cls, files: RuleFiles) -> Routing:
        routes = []
        for row in files.rows("payer_routes"):
            where = f"payer_routes.csv line {row['_line']}"
            for column, allowed in (("action", ACTIONS), ("when_action", ACTIONS + ("",)),
                                    ("category", CATEGORIES + ("",))):
                if row[column] not in allowed:
                    raise RuleDataError(f"{where}: {column} {row[column]!r} is not allowed")
            routes.append(PayerRoute(
                payer_type=row["payer_type"], part=row["part"] or "*", carc=row["carc"].upper(),
                category=row["category"], when_action=row["when_action"], action=row["action"],
                appealable=parse_bool(row["appealable"], where=where),
                recoverability=parse_float(row["recoverability"], where=where), rule_id=row["rule_id"],
                ref=row["ref"], why=row["why"]))
        table = files.toml("routing")
        action_queue = dict(table.get("action_queue", {}))
        category_queue = dict(table.get("category_queue", {}))
        resubmission_queue = dict(table.get("resubmission_queue", {}))
        for name, queue in [*action_queue.items(), *category_queue.items(), *resubmission_queue.items()]:
            if queue not in QUEUES:
                raise RuleDataError(f"routing.toml: queue {queue!r} for {name} is not a queue")
        missing = [c for c in CATEGORIES if c not in category_queue]
        if missing:
            raise RuleDataError(f"routing.toml: no queue for category {missing[0]}")
        return cls(tuple(routes), action_queue, category_queue, resubmission_queue,
                   frozenset(table.get("no_appeal", {}).get("correctable", ())))

    def payer_route(self, payer_type: str, part: str | None, carc: str, category: str,
                    action: str) -> PayerRoute | None:
        return next((r for r in self.payer_routes if r.matches(payer_type, part, carc, category, action)), None)

    def queue(self, action: str, category: str, is_denial: bool) -> str | None:
        if not is_denial and action in ("none", "wait"):
            return None
        if action in ("corrected_claim", "new_claim") and category in self.resubmission_queue:
            return self.resubmission_queue[category]
        return self.action_queue.get(action) or self.category_queue[category]
