"""Use cases behind the KPIs: the report for a period and filters (`GET /api/kpis`, the dashboard), and the monthly
report with the month before it (`denials report`). Reads only; every KPI is practice-wide (any valid token).

The numbers come from `service.domain.kpis` (definitions in docs/kpis.md); this module checks the query, reads the
facts through the `KpiStore` port and picks the dates: the period end is the A/R date, or the billing office's
today when the period is open-ended."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from service.domain.classification.vocabulary import CATEGORIES
from service.domain.kpis import ClaimFact, Filters, KpiReport, Period, TaskFact, build_report
from service.domain.pain import PainRules, ProcedureCatalog
from service.domain.ruledata import RuleFiles
from service.service_layer.tasks_api import Invalid


class KpiStore(Protocol):
    async def facts(self) -> tuple[list[ClaimFact], list[TaskFact]]:
        """Every claim and task, as KPI facts."""


class KpiSums(Protocol):
    async def report(self, *, period: Period, as_of: dt.date, filters: Filters,
                     family_label: Callable[[str], str], trend_only: bool = False) -> KpiReport:
        """The report `build_report` would compute over every claim and task, summed where they are stored.
        `trend_only`: only its trend is asked for (the rest of the report may be left empty)."""


@functools.lru_cache(maxsize=1)
def _pain_rules() -> PainRules:
    return PainRules.load(RuleFiles())


def procedure_catalog() -> ProcedureCatalog:
    """The classifier's procedure catalog (procedures.csv via the pain layer): CPT code -> family, family labels."""
    return _pain_rules().catalog


@functools.lru_cache(maxsize=1)
def catalog_families() -> dict[str, str]:
    """Every procedure code of the catalog (upper case) -> its CPT family (what `family_of` answers)."""
    catalog = procedure_catalog()
    return {code: family for code in sorted(catalog.codes_of(set(cpt_families())))
            if (family := catalog.family(code)) is not None}


def cpt_families() -> tuple[str, ...]:
    """The CPT families of pain_rules.toml, the names `cpt_family` accepts."""
    return tuple(sorted(_pain_rules().families))


@dataclass(frozen=True, slots=True)
class KpiQuery:
    start: dt.date | None = None
    end: dt.date | None = None
    payer: str | None = None
    cpt_family: str | None = None
    provider: str | None = None
    category: str | None = None


def office_today(timezone: str, now: dt.datetime) -> dt.date:
    """The office's date at the instant `now` (the caller's clock)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def check_query(query: KpiQuery) -> None:
    """Refuse values the report cannot mean (the API's query model checks them first, with the same messages)."""
    if query.start and query.end and query.start > query.end:
        raise Invalid("invalid_period", "`from` is after `to`", [{"field": "from", "problem": "after `to`"}])
    if query.cpt_family is not None and query.cpt_family not in cpt_families():
        raise Invalid("unknown_family", "no CPT family by that name",
                      [{"field": "cpt_family", "problem": f"one of: {', '.join(cpt_families())}"}])
    if query.category is not None and query.category not in CATEGORIES:
        raise Invalid("unknown_category", "no denial category by that name",
                      [{"field": "category", "problem": f"one of: {', '.join(CATEGORIES)}"}])


async def kpi_report(store: KpiStore, query: KpiQuery, *, today: dt.date) -> KpiReport:
    """The KPIs of the period (all data when open-ended) under the filters. A/R is as of the period end, or today."""
    check_query(query)
    claims, tasks = await store.facts()
    catalog = procedure_catalog()
    return build_report(claims, tasks, period=Period(query.start, query.end), as_of=query.end or today,
                        filters=Filters(payer=query.payer, cpt_family=query.cpt_family, provider=query.provider,
                                        category=query.category),
                        family_label=catalog.label)


async def kpi_report_summed(sums: KpiSums, query: KpiQuery, *, today: dt.date,
                            trend_only: bool = False) -> KpiReport:
    """`kpi_report`, with the sums done by the store (the same numbers; no claim is loaded). `trend_only`: the
    caller reads the trend alone (the CSV of the trend); the rest of the report may be empty."""
    check_query(query)
    return await sums.report(period=Period(query.start, query.end), as_of=query.end or today,
                             filters=Filters(payer=query.payer, cpt_family=query.cpt_family,
                                             provider=query.provider, category=query.category),
                             family_label=procedure_catalog().label, trend_only=trend_only)


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


async def monthly_report(store: KpiStore, year: int, month: int) -> tuple[KpiReport, KpiReport]:
    """The month's KPIs and the month before's (for the month-over-month change), from one read of the facts."""
    claims, tasks = await store.facts()
    catalog = procedure_catalog()
    out = []
    for y, m in ((year, month), previous_month(year, month)):
        period = Period.month(y, m)
        assert period.end is not None
        out.append(build_report(claims, tasks, period=period, as_of=period.end, family_label=catalog.label))
    return out[0], out[1]
