"""`GET /api/kpis`: the revenue-cycle KPIs of a period, with breakdowns by payer, CPT family, provider and
cause, the payer x cause matrix and the monthly trend. Any valid token may read them (no claim ids): a supervisor
token gets the whole practice's figures, a team token the figures of the claims and tasks of its queues only
(`queues` in the answer says which). Definitions: docs/kpis.md.

Every KPI is `{value, numerator, denominator, unit}`: rates are in 0..1 and `value` is null (never NaN) when the
denominator is 0. Bad query values are a 400 naming the parameter (the route sets `bad_query_status`).
The same models serialise `denials report --json`. With `format=csv` and a `table`, one table of the dashboard is a
CSV download built from the same response (`csv_export`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from service.adapters.kpi_sums import PostgresKpiSums
from service.domain.kpis import KPI_NAMES, Group, Kpi, KpiReport, KpiSet
from service.entrypoints.api import schemas as s
from service.entrypoints.api.csv_export import csv_response
from service.entrypoints.api.views import Ctx
from service.service_layer import kpis as uc
from topics.outputs import Category

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
CsvTable = Literal["kpis", "trend", "causes", "aging", "overturn", "payer_cause"]


# -- query -------------------------------------------------------------------------------------------------------------

class KpiQueryIn(s.Query):
    from_: IsoDate | None = Field(default=None, alias="from",
                                  description="first day of the period (YYYY-MM-DD, inclusive); default: all data")
    to: IsoDate | None = Field(default=None, description="last day of the period (inclusive) and the A/R date; "
                                                         "default: all data, A/R as of the office's today")
    payer: s.FilterText | None = Field(default=None, description="payer id: claims of this primary payer, its tasks")
    cpt_family: str | None = Field(default=None, max_length=60, description="CPT family of the procedure catalog "
                                                                            "(e.g. esi_transforaminal)")
    provider: str | None = Field(default=None, pattern=r"^\d{10}$",
                                 description="billing NPI (rendering NPI when the claim has no billing NPI)")
    category: Category | None = Field(default=None, description="denial cause: narrows the denial and task KPIs")
    format: Literal["json", "csv"] = Field(default="json", description="csv: one table (`table`) as text/csv")
    table: CsvTable | None = Field(default=None, validate_default=True,
                                   description="with format=csv: kpis (the figures), trend, causes, aging, overturn "
                                               "(appeal outcomes by cause) or payer_cause (the heat map's cells)")

    @field_validator("table")
    @classmethod
    def _table_with_csv(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("format") == "csv" and value is None:
            raise ValueError("format=csv needs a table")
        if info.data.get("format", "json") == "json" and value is not None:
            raise ValueError("a table is for format=csv")
        return value

    @field_validator("to")
    @classmethod
    def _ordered(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("from_")
        if value is not None and start is not None and value < start:
            raise ValueError("`to` is before `from`")
        return value

    @field_validator("cpt_family")
    @classmethod
    def _family(cls, value: str | None) -> str | None:
        if value is not None and value not in uc.cpt_families():
            raise ValueError(f"one of: {', '.join(uc.cpt_families())}")
        return value


# -- response ----------------------------------------------------------------------------------------------------------

Number = float | s.Money | None
Count = int | s.Money | None


class KpiOut(s.Out):
    value: Number = Field(description="rate in 0..1, dollars or days; null when the denominator is 0")
    numerator: Count = Field(description="count or dollars (null for medians)")
    denominator: Count = Field(description="count or dollars; for medians the number of tasks; for recovered "
                                           "dollars the won tasks")
    unit: str = Field(description="ratio | usd | days")


class AgingBucketOut(s.Out):
    bucket: str = Field(description="days from the date of service: 0-30, 31-60, 61-90, 91-120, over_120")
    claims: int
    amount: s.Money


class DaysInArOut(KpiOut):
    as_of: dt.date
    charges_last_90_days: s.Money
    buckets: list[AgingBucketOut]


class KpiSetOut(s.Out):
    initial_denial_rate: KpiOut | None
    denial_rate_dollars: KpiOut | None
    first_pass_resolution_rate: KpiOut | None = Field(description="null in a cause's breakdown (claim-level KPI)")
    clean_claim_rate: KpiOut | None
    days_in_ar: DaysInArOut | None
    net_collection_rate: KpiOut | None
    appeal_overturn_rate: KpiOut | None
    recovered_dollars: KpiOut | None
    denial_write_off_rate: KpiOut | None
    median_days_to_appeal: KpiOut | None
    median_days_to_resolution: KpiOut | None
    claims_adjudicated: int = Field(description="claims whose first adjudication is in the period")
    claims_submitted: int = Field(description="claims first submitted in the period")
    denied_claims: int = Field(description="claims with a denial (of the cause) on their first adjudication")
    denied_amount: s.Money = Field(description="denied dollars on first adjudications")
    denial_write_offs: s.Money
    recouped_dollars: s.Money = Field(description="taken back by recoupments from won tasks")


class GroupOut(KpiSetOut):
    key: str
    label: str


class BreakdownsOut(s.Out):
    payer: list[GroupOut]
    cpt_family: list[GroupOut]
    provider: list[GroupOut]
    cause: list[GroupOut] = Field(description="denial causes by denied dollars, highest first")


class PayerCauseOut(s.Out):
    payer_id: str
    payer_type: str
    category: str
    claims: int
    amount: s.Money


class TrendOut(s.Out):
    month: str
    claims_adjudicated: int
    initial_denial_rate: KpiOut
    denial_rate_dollars: KpiOut
    appeal_overturn_rate: KpiOut


class PeriodOut(s.Out):
    from_: dt.date | None = Field(serialization_alias="from")
    to: dt.date | None
    as_of: dt.date = Field(description="the A/R date")


class FiltersOut(s.Out):
    payer: str | None
    cpt_family: str | None
    provider: str | None
    category: str | None


class KpisOut(KpiSetOut):
    queues: list[str] | None = Field(default=None, description="the queues whose claims and tasks the figures cover "
                                                                "(a team token's); null: the whole practice "
                                                                "(a supervisor token, `denials report`)")
    period: PeriodOut
    filters: FiltersOut
    has_data: bool = Field(description="false when nothing was adjudicated, submitted or worked in the period")
    breakdowns: BreakdownsOut
    payer_cause: list[PayerCauseOut] = Field(description="first-adjudication denials by primary payer and cause")
    trend: list[TrendOut] = Field(description="per month of first adjudication (overturns: month of outcome)")


# -- mapping -----------------------------------------------------------------------------------------------------------

def _kpi(k: Kpi) -> KpiOut:
    return KpiOut(value=k.value, numerator=k.numerator, denominator=k.denominator, unit=k.unit)


def _set_fields(ks: KpiSet, as_of: dt.date) -> dict[str, Any]:
    fields: dict[str, Any] = {name: None for name in KPI_NAMES}
    for name, k in ks.kpis.items():
        if name == "days_in_ar":
            fields[name] = DaysInArOut(
                value=k.value, numerator=k.numerator, denominator=k.denominator, unit=k.unit, as_of=as_of,
                charges_last_90_days=ks.charges_last_90_days,
                buckets=[AgingBucketOut(bucket=b.name, claims=b.claims, amount=b.amount) for b in ks.aging])
        else:
            fields[name] = _kpi(k)
    fields.update(claims_adjudicated=ks.claims_adjudicated, claims_submitted=ks.claims_submitted,
                  denied_claims=ks.denied_claims, denied_amount=ks.denied_amount,
                  denial_write_offs=ks.denial_write_offs, recouped_dollars=ks.recouped_dollars)
    return fields


def _groups(groups: tuple[Group, ...], as_of: dt.date) -> list[GroupOut]:
    return [GroupOut(key=g.key, label=g.label, **_set_fields(g.kpis, as_of)) for g in groups]


def kpis_out(report: KpiReport, queues: Sequence[str] | None = None) -> KpisOut:
    f = report.filters
    return KpisOut(
        **_set_fields(report.totals, report.as_of),
        queues=sorted(queues) if queues is not None else None,
        period=PeriodOut(from_=report.period.start, to=report.period.end, as_of=report.as_of),
        filters=FiltersOut(payer=f.payer, cpt_family=f.cpt_family, provider=f.provider, category=f.category),
        has_data=report.has_data,
        breakdowns=BreakdownsOut(payer=_groups(report.by_payer, report.as_of),
                                 cpt_family=_groups(report.by_cpt_family, report.as_of),
                                 provider=_groups(report.by_provider, report.as_of),
                                 cause=_groups(report.by_cause, report.as_of)),
        payer_cause=[PayerCauseOut(payer_id=x.payer_id, payer_type=x.payer_type, category=x.category, claims=x.claims,
                                   amount=x.amount) for x in report.payer_cause],
        trend=[TrendOut(month=t.month, claims_adjudicated=t.claims_adjudicated,
                        initial_denial_rate=_kpi(t.initial_denial_rate),
                        denial_rate_dollars=_kpi(t.denial_rate_dollars),
                        appeal_overturn_rate=_kpi(t.appeal_overturn_rate)) for t in report.trend])


def kpis_json(report: KpiReport, queues: Sequence[str] | None = None) -> dict[str, Any]:
    """The report as the API returns it (plain values; encode with `jsonio.dumps`)."""
    return kpis_out(report, queues).model_dump(mode="python", by_alias=True)


# -- CSV: the dashboard's tables ---------------------------------------------------------------------------------------

def _parts(k: KpiOut | None) -> tuple[Any, Any, Any]:
    return (k.value, k.numerator, k.denominator) if k is not None else (None, None, None)


def kpi_table(out: KpisOut, table: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """(header, rows) of one dashboard table: rates in 0..1, money in dollars, counts as integers."""
    if table == "kpis":
        rows = []
        for name in KPI_NAMES:
            k = getattr(out, name)
            rows.append((name, *_parts(k), k.unit if k is not None else None))
        return ("kpi", "value", "numerator", "denominator", "unit"), rows
    if table == "trend":
        return (("month", "claims_adjudicated", "claims_denied", "initial_denial_rate", "dollars_denied",
                 "charges_adjudicated", "denial_rate_dollars", "appeals_won", "appeals_decided",
                 "appeal_overturn_rate"),
                [(t.month, t.claims_adjudicated, t.initial_denial_rate.numerator, t.initial_denial_rate.value,
                  t.denial_rate_dollars.numerator, t.denial_rate_dollars.denominator, t.denial_rate_dollars.value,
                  t.appeal_overturn_rate.numerator, t.appeal_overturn_rate.denominator,
                  t.appeal_overturn_rate.value) for t in out.trend])
    if table == "causes":
        return (("cause", "denied_claims", "denied_amount"),
                [(c.key, c.denied_claims, c.denied_amount) for c in out.breakdowns.cause if c.denied_claims > 0])
    if table == "aging":
        ar = out.days_in_ar
        return (("days_from_service", "claims", "outstanding"),
                [(b.bucket, b.claims, b.amount) for b in (ar.buckets if ar is not None else [])])
    if table == "overturn":
        rows = []
        for c in out.breakdowns.cause:
            k = c.appeal_overturn_rate
            if k is not None and k.denominator:
                rows.append((c.key, k.numerator, k.denominator - k.numerator, k.value))
        return ("cause", "won", "lost", "appeal_overturn_rate"), rows
    return (("payer_id", "payer_type", "cause", "claims", "denied_amount"),
            [(x.payer_id, x.payer_type, x.category, x.claims, x.amount) for x in out.payer_cause])


def kpis_csv(out: KpisOut, table: str) -> web.Response:
    header, rows = kpi_table(out, table)
    p = out.period
    span = f"{p.from_ or 'start'}-to-{p.to or 'latest'}" if p.from_ or p.to else "all-data"
    return csv_response(f"kpis-{table}-{span}.csv", header, rows)


# -- view --------------------------------------------------------------------------------------------------------------

async def kpis(ctx: Ctx) -> dict[str, Any] | web.Response:
    q: KpiQueryIn = ctx.query
    timezone = ctx.settings.task_timezone
    queues = ctx.scope.visible_queues  # None: a supervisor sees the practice; a team its queues' claims and tasks
    # summed by PostgreSQL over the claims' analyses (kpi_claims): the reference's numbers without loading a claim
    sums = PostgresKpiSums(ctx.pool, timezone=timezone, catalog=uc.catalog_families(),
                           queues=sorted(queues) if queues is not None else None)
    report = await uc.kpi_report_summed(sums, uc.KpiQuery(start=q.from_, end=q.to, payer=q.payer,
                                                          cpt_family=q.cpt_family, provider=q.provider,
                                                          category=q.category),
                                        today=uc.office_today(timezone, ctx.now),
                                        # the trend's CSV reads the trend alone: no A/R or group is summed for it
                                        trend_only=q.format == "csv" and q.table == "trend")
    if q.format == "csv":
        return kpis_csv(kpis_out(report, queues), q.table)
    return kpis_json(report, queues)
