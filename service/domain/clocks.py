"""The two clocks of a denial: the appeal/reopening window counted from the remittance's notice date, and the
timely-filing window for a corrected or new claim counted from the date of service (reference section 6).

Windows come from the payer-policy table (per payer type, overridable per payer id). Medicare windows roll past
weekends and federal holidays. A window that comes from no statute or contract is marked as a default in its basis."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from service.domain.model import Payer
from service.domain.ruledata import RuleDataError, RuleFiles, parse_date

PAYER_TYPES = ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other")


@dataclass(frozen=True, slots=True)
class Clock:
    """A due date and the sentence that says where it comes from."""

    date: dt.date
    basis: str


class HolidayCalendar:
    """Observed US federal holidays from `holidays.csv`; business days are weekdays that are not one of them."""

    def __init__(self, observed: dict[dt.date, str]):
        self._observed = observed
        years = {d.year for d in observed}
        self.first_year = min(years) if years else None
        self.last_year = max(years) if years else None

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]]) -> HolidayCalendar:
        observed = {}
        for row in rows:
            day = parse_date(row["observed"], where=f"holidays.csv line {row['_line']}")
            if day is not None:
                observed[day] = row["holiday"]
        return cls(observed)

    def holiday(self, day: dt.date) -> str | None:
        return self._observed.get(day)

    def covers(self, day: dt.date) -> bool:
        return self.first_year is not None and self.first_year <= day.year <= self.last_year

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._observed

    def roll_forward(self, day: dt.date) -> dt.date:
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later, clamped to the month's end (a 2/29 date of service is due by 2/28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class PayerPolicy:
    """The windows that apply to one payer."""

    payer_type: str
    appeal_days: int
    appeal_from: str  # "notice" | "receipt"
    appeal_basis: str
    appeal_default: bool
    reopening_days: int
    reopening_basis: str
    reopening_default: bool
    filing_basis: str
    filing_default: bool
    records_days: int
    records_basis: str
    records_default: bool
    receipt_days: int = 0
    filing_months: int | None = None
    filing_days: int | None = None
    roll_business_day: bool = False
    appeal_days_noncontracted: int | None = None
    contracted: bool | None = None  # None: not known (Medicare Advantage)
    source: str = "payer type"

    @classmethod
    def from_table(cls, payer_type: str, table: dict[str, Any], source: str) -> PayerPolicy:
        try:
            contracted = table.get("contracted", "unknown")
            return cls(
                payer_type=payer_type,
                appeal_days=int(table["appeal_days"]),
                appeal_from=str(table.get("appeal_from", "notice")),
                appeal_basis=str(table["appeal_basis"]),
                appeal_default=bool(table.get("appeal_default", True)),
                reopening_days=int(table["reopening_days"]),
                reopening_basis=str(table["reopening_basis"]),
                reopening_default=bool(table.get("reopening_default", True)),
                filing_basis=str(table["filing_basis"]),
                filing_default=bool(table.get("filing_default", True)),
                records_days=int(table["records_days"]),
                records_basis=str(table["records_basis"]),
                records_default=bool(table.get("records_default", True)),
                receipt_days=int(table.get("receipt_days", 0)),
                filing_months=int(table["filing_months"]) if "filing_months" in table else None,
                filing_days=int(table["filing_days"]) if "filing_days" in table else None,
                roll_business_day=bool(table.get("roll_business_day", False)),
                appeal_days_noncontracted=(int(table["appeal_days_noncontracted"])
                                           if "appeal_days_noncontracted" in table else None),
                contracted=contracted if isinstance(contracted, bool) else None,
                source=source,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"payer_policies.toml [{source}]: missing or invalid {exc}") from None

    @property
    def as_table(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if getattr(self, k) is not None}
        out.pop("payer_type"), out.pop("source")
        return out


class PayerPolicies:
    """Policies per payer type with per-payer-id overrides."""

    def __init__(self, by_type: dict[str, PayerPolicy], overrides: dict[str, dict[str, Any]]):
        missing = [t for t in PAYER_TYPES if t not in by_type]
        if missing:
            raise RuleDataError(f"payer_policies.toml: no [types.{missing[0]}]")
        self._by_type = by_type
        self._overrides = overrides

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> PayerPolicies:
        by_type = {name: PayerPolicy.from_table(name, body, f"types.{name}")
                   for name, body in table.get("types", {}).items()}
        return cls(by_type, dict(table.get("payers", {})))

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> PayerPolicies:
        return PayerPolicies(self._by_type, {**self._overrides, **overrides})

    def for_payer(self, payer: Payer) -> PayerPolicy:
        base = self._by_type.get(payer.type, self._by_type["other"])
        override = self._overrides.get(payer.id)
        if not override:
            return base
        return PayerPolicy.from_table(base.payer_type, base.as_table | override, f'payers."{payer.id}"')


def _roll(policy: PayerPolicy, day: dt.date, holidays: HolidayCalendar) -> tuple[dt.date, str]:
    if not policy.roll_business_day:
        return day, ""
    rolled = holidays.roll_forward(day)
    if rolled == day:
        return day, ""
    why = (holidays.holiday(day) or "").replace("_", " ") or day.strftime("%A")
    return rolled, f", rolled from {day.isoformat()} ({why}) to the next business day"


def _default_note(is_default: bool) -> str:
    return " (default window: verify against the payer contract or policy)" if is_default else ""


def appeal_deadline(policy: PayerPolicy, notice: dt.date, holidays: HolidayCalendar) -> Clock:
    days = policy.appeal_days
    basis = policy.appeal_basis
    is_default = policy.appeal_default
    if policy.appeal_days_noncontracted is not None:
        if policy.contracted is False:
            days = policy.appeal_days_noncontracted
            basis += f" (non-contracted: {days} days)"
        elif policy.contracted is None:
            basis += f" (contract status unknown: the shorter contracted window of {days} days is used)"
            is_default = True
    start = notice
    if policy.appeal_from == "receipt":
        start = notice + dt.timedelta(days=policy.receipt_days)
        basis += f"; notice {notice.isoformat()}, receipt {start.isoformat()}"
    else:
        basis += f"; notice {notice.isoformat()}"
    due, rolled = _roll(policy, start + dt.timedelta(days=days), holidays)
    return Clock(due, basis + rolled + _default_note(is_default))


def reopening_deadline(policy: PayerPolicy, notice: dt.date, holidays: HolidayCalendar) -> Clock:
    due, rolled = _roll(policy, notice + dt.timedelta(days=policy.reopening_days), holidays)
    return Clock(due, f"{policy.reopening_basis}; notice {notice.isoformat()}{rolled}"
                 + _default_note(policy.reopening_default))


def filing_deadline(policy: PayerPolicy, service_date: dt.date, holidays: HolidayCalendar) -> Clock:
    if policy.filing_months is not None:
        raw = add_months(service_date, policy.filing_months)
    else:
        raw = service_date + dt.timedelta(days=policy.filing_days or 0)
    due, rolled = _roll(policy, raw, holidays)
    return Clock(due, f"{policy.filing_basis}; service {service_date.isoformat()}{rolled}"
                 + _default_note(policy.filing_default))


def records_due(policy: PayerPolicy, requested: dt.date, holidays: HolidayCalendar) -> Clock:
    due, rolled = _roll(policy, requested + dt.timedelta(days=policy.records_days), holidays)
    return Clock(due, f"{policy.records_basis}; requested {requested.isoformat()}{rolled}"
                 + _default_note(policy.records_default))


@dataclass(frozen=True, slots=True)
class Clocks:
    """Everything needed to compute due dates: the policy table and the holiday calendar."""

    policies: PayerPolicies
    holidays: HolidayCalendar

    @classmethod
    def load(cls, files: RuleFiles) -> Clocks:
        return cls(PayerPolicies.from_table(files.toml("payer_policies")),
                   HolidayCalendar.from_rows(files.rows("holidays")))

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> Clocks:
        return replace(self, policies=self.policies.with_overrides(overrides))
