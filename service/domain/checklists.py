"""Document checklists per denial category and procedure family (reference section 7, `checklists.toml`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.domain.memo import Memo
from service.domain.model import ChecklistItem, Injury
from service.domain.ruledata import RuleDataError, RuleFiles


@dataclass(frozen=True, slots=True)
class ItemScope:
    """Where an item applies when it does not apply to every claim of its category: the payer types (an MSP
    questionnaire is a Medicare form) or the billed codes (the justification of 22 or more drug classes is
    G0483's). Empty: no limit."""

    payer_types: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()

    def applies(self, payer_type: str, codes: Iterable[str]) -> bool:
        if self.payer_types and payer_type not in self.payer_types:
            return False
        return not self.codes or bool(self.codes & set(codes))


def _items(raw: Any, where: str, scopes: dict[str, ItemScope] | None = None) -> tuple[ChecklistItem, ...]:
    try:
        items = tuple(ChecklistItem(id=str(i["id"]), text=str(i["text"])) for i in raw["items"])
    except (KeyError, TypeError):
        raise RuleDataError(f"checklists.toml [{where}]: items need id and text") from None
    for raw_item in raw["items"]:
        types, codes = raw_item.get("payer_types", []), raw_item.get("codes", [])
        if not isinstance(types, list) or not isinstance(codes, list):
            raise RuleDataError(f"checklists.toml [{where}]: payer_types and codes are lists")
        if not types and not codes:
            continue
        scope = ItemScope(frozenset(map(str, types)), frozenset(str(c).upper() for c in codes))
        if scopes is not None:
            if scopes.setdefault(str(raw_item["id"]), scope) != scope:
                raise RuleDataError(f"checklists.toml [{where}]: item {raw_item['id']!r} is scoped differently "
                                    "elsewhere")
    return items


@dataclass(frozen=True, slots=True)
class ActionItems:
    """What an action changes in a category's checklist: items it replaces (by id), the only category items it keeps
    (None: all), and its own items."""

    replace: dict[str, str]
    keep: frozenset[str] | None
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True, slots=True)
class PayerItems:
    """Items every task of a payer type needs (workers' comp: injury facts, adjuster, the state's forms)."""

    items: tuple[ChecklistItem, ...]
    missing: dict[str, str]  # item id -> text when the submission lacks what the item names
    state_forms: dict[str, str]  # state -> the form to enclose
    kinds: frozenset[str]  # injury kinds (workers_comp, auto ...) the items also apply to on other payer types


def _action(raw: Any, where: str) -> ActionItems:
    if not isinstance(raw, dict):
        raise RuleDataError(f"checklists.toml [{where}]: expected a table")
    keep = raw.get("keep")
    return ActionItems(replace={str(k): str(v) for k, v in raw.get("replace", {}).items()},
                       keep=frozenset(keep) if isinstance(keep, list) else None,
                       items=_items(raw, where) if "items" in raw else ())


def _payer(raw: Any, where: str) -> PayerItems:
    if not isinstance(raw, dict):
        raise RuleDataError(f"checklists.toml [{where}]: expected a table")
    return PayerItems(items=_items(raw, where), missing={str(k): str(v) for k, v in raw.get("missing", {}).items()},
                      state_forms={str(k).upper(): str(v) for k, v in raw.get("state_forms", {}).items()},
                      kinds=frozenset(raw.get("injury_kinds", ())))


@dataclass(frozen=True, slots=True)
class ChecklistBook:
    by_category: dict[str, tuple[ChecklistItem, ...]]
    by_family: dict[tuple[str, str], tuple[ChecklistItem, ...]]  # (category, family group)
    by_status: dict[str, tuple[ChecklistItem, ...]]
    family_groups: dict[str, str]  # family -> group
    by_action: dict[str, ActionItems] = field(default_factory=dict)
    by_payer_type: dict[str, PayerItems] = field(default_factory=dict)
    # (category, family group) -> the only category items that still apply to the family (an office visit bundled
    # into an injection needs no documentation of a separate level or side; a drug test no injection log)
    family_keeps: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    scopes: dict[str, ItemScope] = field(default_factory=dict)  # item id -> where it applies (unscoped: anywhere)
    # for_decision's answers by (category, family group, extra items, action): a pure function of the book, asked
    # for every denial; bounded
    _decided: Memo = field(default_factory=lambda: Memo(4096), init=False, repr=False, compare=False)

    @classmethod
    def load(cls, files: RuleFiles) -> ChecklistBook:
        data = files.toml("checklists")
        groups = {family: group for group, families in data.get("family_groups", {}).items() for family in families}
        scopes: dict[str, ItemScope] = {}
        keeps = {}
        for c, fams in data.get("family", {}).items():
            for g, body in fams.items():
                keep = body.get("keep")
                if keep is not None:
                    if not isinstance(keep, list):
                        raise RuleDataError(f"checklists.toml [family.{c}.{g}]: keep is a list of item ids")
                    keeps[(c, g)] = frozenset(map(str, keep))
        book = cls(
            by_category={c: _items(body, f"category.{c}", scopes) for c, body in data.get("category", {}).items()},
            by_family={(c, g): _items(body, f"family.{c}.{g}", scopes)
                       for c, fams in data.get("family", {}).items() for g, body in fams.items()},
            by_status={b: _items(body, f"status.{b}") for b, body in data.get("status", {}).items()},
            family_groups=groups,
            by_action={a: _action(body, f"action.{a}") for a, body in data.get("action", {}).items()},
            by_payer_type={t: _payer(body, f"payer_type.{t}") for t, body in data.get("payer_type", {}).items()},
            family_keeps=keeps, scopes=scopes,
        )
        for (c, g), keep in keeps.items():
            known = {item.id for item in book.by_category.get(c, ())}
            if keep - known:
                raise RuleDataError(f"checklists.toml [family.{c}.{g}]: keep names {sorted(keep - known)[0]!r}, not "
                                    f"an item of [category.{c}]")
        for name, action in book.by_action.items():
            own = {item.id for item in action.items}
            unknown = sorted(set(action.replace.values()) - own)
            if unknown:
                raise RuleDataError(f"checklists.toml [action.{name}]: replace names {unknown[0]!r}, not one of its "
                                    "items")
        return book

    def for_decision(self, category: str, family: str | None, extra: Iterable[ChecklistItem] = (),
                     action: str | None = None) -> tuple[ChecklistItem, ...]:
        """Decision-specific items first (the sessions that count, the missing prerequisite), then the family's,
        then the category's, as the action changes them (a Medicare Part B correction is a reopening request, not a
        frequency-7 claim; billing the patient keeps only what that needs); an id appears once."""
        extra = tuple(extra)
        group = self.family_groups.get(family or "")
        key = (category, group, extra, action)
        out = self._decided.get(key)
        if out is None:
            out = self._decided.keep(key, self._for_decision(category, group, extra, action))
        return out

    def _for_decision(self, category: str, group: str | None, extra: tuple[ChecklistItem, ...],
                      action: str | None) -> tuple[ChecklistItem, ...]:
        keep = self.family_keeps.get((category, group or ""))
        listed = [*self.by_family.get((category, group or ""), ()),
                  *(i for i in self.by_category.get(category, ()) if keep is None or i.id in keep)]
        rules = self.by_action.get(action or "")
        if rules is not None:
            own = {item.id: item for item in rules.items}
            changed = []
            for item in listed:
                if item.id in rules.replace:
                    changed.append(own[rules.replace[item.id]])
                elif rules.keep is None or item.id in rules.keep:
                    changed.append(item)
            listed = changed + list(rules.items)
        seen: set[str] = set()
        out = []
        for item in [*extra, *listed]:
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
        return tuple(out)

    def for_payer(self, payer_type: str, injury: Injury | None) -> tuple[ChecklistItem, ...]:
        """Items the payer type (or the claim's injury kind) adds: workers' comp and personal-injury facts."""
        rules = self.by_payer_type.get(payer_type)
        if rules is None and injury is not None:
            rules = next((r for r in self.by_payer_type.values() if injury.kind in r.kinds), None)
        if rules is None:
            return ()
        sent = {"injury-facts": injury is not None and injury.date_of_injury is not None and injury.claim_number_sent,
                "adjuster": injury is not None and injury.adjuster_sent}
        out = []
        for item in rules.items:
            if item.id == "state-forms" and injury is not None and injury.state in rules.state_forms:
                item = ChecklistItem(id=item.id, text=f"{item.text}: {rules.state_forms[injury.state]}")
            elif item.id in rules.missing and not sent.get(item.id, True):
                item = ChecklistItem(id=item.id, text=f"{item.text} ({rules.missing[item.id]})")
            out.append(item)
        return tuple(out)

    def for_status(self, bucket: str) -> tuple[ChecklistItem, ...]:
        return self.by_status.get(bucket, ())

    def applies(self, item_id: str, payer_type: str, codes: Iterable[str]) -> bool:
        """Whether a checklist item applies to a claim of this payer type with these billed codes."""
        scope = self.scopes.get(item_id)
        return scope is None or scope.applies(payer_type, codes)
