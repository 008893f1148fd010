"""Document checklists per denial category and procedure family (reference section 7, `checklists.toml`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.domain.model import ChecklistItem
from service.domain.ruledata import RuleDataError, RuleFiles


def _items(raw: Any, where: str) -> tuple[ChecklistItem, ...]:
    try:
        return tuple(ChecklistItem(id=str(i["id"]), text=str(i["text"])) for i in raw["items"])
    except (KeyError, TypeError):
        raise RuleDataError(f"checklists.toml [{where}]: items need id and text") from None


@dataclass(frozen=True, slots=True)
class ChecklistBook:
    by_category: dict[str, tuple[ChecklistItem, ...]]
    by_family: dict[tuple[str, str], tuple[ChecklistItem, ...]]  # (category, family group)
    by_status: dict[str, tuple[ChecklistItem, ...]]
    family_groups: dict[str, str]  # family -> group

    @classmethod
    def load(cls, files: RuleFiles) -> ChecklistBook:
        data = files.toml("checklists")
        groups = {family: group for group, families in data.get("family_groups", {}).items() for family in families}
        return cls(
            by_category={c: _items(body, f"category.{c}") for c, body in data.get("category", {}).items()},
            by_family={(c, g): _items(body, f"family.{c}.{g}")
                       for c, fams in data.get("family", {}).items() for g, body in fams.items()},
            by_status={b: _items(body, f"status.{b}") for b, body in data.get("status", {}).items()},
            family_groups=groups,
        )

    def for_decision(self, category: str, family: str | None,
                     extra: Iterable[ChecklistItem] = ()) -> tuple[ChecklistItem, ...]:
        """Decision-specific items first (the sessions that count, the missing prerequisite), then the family's,
        then the category's; an id appears once."""
        group = self.family_groups.get(family or "")
        items = [*extra, *self.by_family.get((category, group or ""), ()), *self.by_category.get(category, ())]
        seen: set[str] = set()
        out = []
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
        return tuple(out)

    def for_status(self, bucket: str) -> tuple[ChecklistItem, ...]:
        return self.by_status.get(bucket, ())
