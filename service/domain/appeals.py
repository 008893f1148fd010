"""Appeal outcomes: which remittances decide an appeal, and the next level when one is upheld.

Read from `data/appeal_levels.toml` (levels per payer type, overridable per payer id) and `holidays.csv`; recoupment
reason codes for provider-level adjustments from `data/provider_adjustments.toml`. Pure: plain values in and out.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.domain.clocks import HolidayCalendar
from service.domain.ruledata import RuleDataError, RuleFiles, rules_root


@dataclass(frozen=True, slots=True)
class AppealLevel:
    level: int
    name: str
    by: str
    days: int
    basis: str
    amount_in_controversy: tuple[tuple[int, Decimal], ...] = ()  # (calendar year, minimum amount), ascending
    auto_forward: bool = False  # the payer sends the case on itself: nothing for the provider to file

    def minimum_for(self, year: int) -> Decimal | None:
        """The amount in controversy for requests in `year`: the latest year listed up to it."""
        known = [amount for y, amount in self.amount_in_controversy if y <= year]
        return known[-1] if known else None


@dataclass(frozen=True, slots=True)
class Ladder:
    levels: tuple[AppealLevel, ...]
    receipt_days: int = 0
    roll_business_day: bool = False

    def level(self, number: int) -> AppealLevel | None:
        return next((lvl for lvl in self.levels if lvl.level == number), None)


@dataclass(frozen=True, slots=True)
class NextLevel:
    """Where an upheld appeal can go next: the level, its deadline and why (or `refused`: why it cannot)."""

    level: AppealLevel
    deadline: dt.date
    basis: str
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class AppealRules:
    version: str
    appeal_actions: frozenset[str]
    ladder_actions: frozenset[str]
    upheld_carcs: frozenset[str]
    result_remarks: frozenset[str]
    by_type: dict[str, Ladder]
    by_payer: dict[str, Ladder]
    holidays: HolidayCalendar
    recoupment_reasons: dict[str, str]

    def ladder(self, payer_type: str, payer_id: str) -> Ladder | None:
        return self.by_payer.get(payer_id) or self.by_type.get(payer_type)

    def level_name(self, payer_type: str, payer_id: str, number: int) -> str:
        ladder = self.ladder(payer_type, payer_id)
        level = ladder.level(number) if ladder else None
        return f"{level.name} (level {number})" if level else f"level {number}"

    def next_level(self, payer_type: str, payer_id: str, current: int, amount: Decimal,
                   notice: dt.date) -> NextLevel | None:
        """The level after `current` for an appeal upheld by a notice dated `notice`; None when there is none."""
        ladder = self.ladder(payer_type, payer_id)
        if ladder is None:
            return None
        level = ladder.level(current + 1)
        if level is None:
            return None
        receipt = notice + dt.timedelta(days=ladder.receipt_days)
        raw = receipt + dt.timedelta(days=level.days)
        due = self.holidays.roll_forward(raw) if ladder.roll_business_day else raw
        basis = f"{level.basis}; notice {notice.isoformat()}"
        if ladder.receipt_days:
            basis += f", receipt {receipt.isoformat()} (presumed {ladder.receipt_days} days after the notice)"
        if due != raw:
            why = (self.holidays.holiday(raw) or "").replace("_", " ") or raw.strftime("%A")
            basis += f", rolled from {raw.isoformat()} ({why}) to the next business day"
        minimum = level.minimum_for(notice.year)
        refused = None
        if level.auto_forward:
            refused = (f"{level.basis}, so there is nothing to file; {level.by}'s decision comes by letter and the "
                       "next level is filed from it")
        elif minimum is not None and amount < minimum:
            refused = (f"{level.name} needs at least ${minimum:.2f} in controversy ({notice.year}); this task holds "
                       f"${amount:.2f} (claims may be aggregated to reach it)")
        return NextLevel(level=level, deadline=due, basis=basis, refused=refused)

    def is_recoupment(self, reason: str) -> bool:
        return reason in self.recoupment_reasons


def _level(raw: Any, where: str) -> AppealLevel:
    try:
        aic = tuple(sorted((int(y), Decimal(str(a))) for y, a in raw.get("amount_in_controversy", {}).items()))
        return AppealLevel(level=int(raw["level"]), name=str(raw["name"]), by=str(raw["by"]), days=int(raw["days"]),
                           basis=str(raw["basis"]), amount_in_controversy=aic,
                           auto_forward=bool(raw.get("auto_forward", False)))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise RuleDataError(f"appeal_levels.toml [{where}]: missing or invalid {exc}") from None


def _ladder(raw: Any, where: str) -> Ladder:
    if not isinstance(raw, dict) or not isinstance(raw.get("levels"), list):
        raise RuleDataError(f"appeal_levels.toml [{where}]: needs a list of levels")
    levels = tuple(sorted((_level(x, where) for x in raw["levels"]), key=lambda lvl: lvl.level))
    numbers = [lvl.level for lvl in levels]
    if numbers != list(range(1, len(levels) + 1)):
        raise RuleDataError(f"appeal_levels.toml [{where}]: levels must be numbered 1, 2, 3 ... without gaps")
    return Ladder(levels=levels, receipt_days=int(raw.get("receipt_days", 0)),
                  roll_business_day=bool(raw.get("roll_business_day", False)))


def rules_from_texts(levels_text: str, adjustments_text: str, holidays: HolidayCalendar) -> AppealRules:
    try:
        data = tomllib.loads(levels_text)
        adjustments = tomllib.loads(adjustments_text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleDataError(f"appeal_levels.toml / provider_adjustments.toml: {exc}") from None
    try:
        return AppealRules(
            version=str(data["VERSION"]),
            appeal_actions=frozenset(data["appeal_actions"]),
            ladder_actions=frozenset(data["ladder_actions"]),
            upheld_carcs=frozenset(str(c) for c in data["upheld_carcs"]),
            result_remarks=frozenset(data["appeal_result_remarks"]),
            by_type={name: _ladder(body, f"types.{name}") for name, body in data.get("types", {}).items()},
            by_payer={name: _ladder(body, f'payers."{name}"') for name, body in data.get("payers", {}).items()},
            holidays=holidays,
            recoupment_reasons={str(k): str(v) for k, v in adjustments["recoupment_reasons"].items()},
        )
    except KeyError as exc:
        raise RuleDataError(f"appeal_levels.toml / provider_adjustments.toml: missing {exc}") from None


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> AppealRules:
    files = RuleFiles(root)
    return rules_from_texts(files.text("appeal_levels.toml"), files.text("provider_adjustments.toml"),
                            HolidayCalendar.from_rows(files.rows("holidays")))


def load_appeal_rules(data_dir: Path | str | None = None) -> AppealRules:
    """The packaged appeal rules (or another directory's), read once."""
    return _load(Path(data_dir) if data_dir is not None else rules_root())
