"""`denials report --period YYYY-MM [--json]`: the month's KPIs in the terminal (rich tables) with the change from
the month before, the top denial causes by dollars, payer x cause, and A/R aging at the month's end.

Definitions: docs/kpis.md (the same numbers as `GET /api/kpis?from=<first day>&to=<last day>`). Without
DATABASE_URL the embedded PostgreSQL is used, like every command. A month with no data says so (exit 0); a rate
whose denominator is 0 prints as an em dash, never NaN. `--json` prints one JSON document: both months as the API
returns them, and the changes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import typer

from service.config import get_settings

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
LABELS = {
    "initial_denial_rate": "Initial denial rate (claims)",
    "denial_rate_dollars": "Denial rate (dollars)",
    "first_pass_resolution_rate": "First-pass resolution rate",
    "clean_claim_rate": "Clean claim rate",
    "days_in_ar": "Days in A/R",
    "net_collection_rate": "Net collection rate",
    "appeal_overturn_rate": "Appeal overturn rate",
    "recovered_dollars": "Recovered after appeal",
    "denial_write_off_rate": "Denial write-offs / charges",
    "median_days_to_appeal": "Median days, denial to appeal",
    "median_days_to_resolution": "Median days, denial to resolution",
}
DASH = "—"


def parse_period(text: str) -> tuple[int, int]:
    match = PERIOD.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ValueError("--period must be a month as YYYY-MM (e.g. 2026-03)")
    return int(match.group(1)), int(match.group(2))


# -- formatting ------------------------------------------------------------------------------------------------------

def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def fmt_value(k: Any) -> str:
    if k is None or k.value is None:
        return DASH
    if k.unit == "ratio":
        return f"{k.value * 100:.1f}%"
    if k.unit == "usd":
        return _money(Decimal(k.value))
    return f"{k.value:,.1f} d"


def fmt_parts(k: Any) -> str:
    if k is None or (k.numerator is None and k.denominator is None):
        return ""
    if k.numerator is None:
        return f"n = {k.denominator}"
    if k.unit == "usd":
        return f"on {k.denominator} won task{'' if k.denominator == 1 else 's'}"
    if isinstance(k.numerator, Decimal):
        return f"{_money(k.numerator)} / {_money(k.denominator)}"
    return f"{k.numerator} / {k.denominator}"


def change(current: Any, previous: Any) -> float | Decimal | None:
    """Month-over-month change in the KPI's unit (percentage points for rates); None when either side is missing."""
    if current is None or previous is None or current.value is None or previous.value is None:
        return None
    if current.unit == "ratio":
        return round((current.value - previous.value) * 100, 2)
    if current.unit == "usd":
        return Decimal(current.value) - Decimal(previous.value)
    return round(current.value - previous.value, 2)


def fmt_change(current: Any, previous: Any) -> str:
    delta = change(current, previous)
    if delta is None:
        return DASH
    if current.unit == "ratio":
        return f"{delta:+.1f} pts"
    if current.unit == "usd":
        return f"{'+' if delta >= 0 else '-'}{_money(abs(delta))}"
    return f"{delta:+.1f} d"


# -- rendering -------------------------------------------------------------------------------------------------------

def render(console: Any, label: str, previous_label: str, current: Any, previous: Any) -> None:
    from rich.table import Table

    t = current.totals
    console.print(f"[bold]Denial KPIs, {label}[/bold] (A/R as of {current.as_of.isoformat()}; "
                  f"compared with {previous_label})")
    kpis = Table(title="KPIs", title_justify="left")
    for col, justify in (("KPI", "left"), (label, "right"), ("numerator / denominator", "right"),
                         (previous_label, "right"), ("change", "right")):
        kpis.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, text in LABELS.items():
        cur, prev = t.kpis.get(name), previous.totals.kpis.get(name)
        kpis.add_row(text, fmt_value(cur), fmt_parts(cur), fmt_value(prev), fmt_change(cur, prev))
    console.print(kpis)
    console.print(f"Claims adjudicated: {t.claims_adjudicated} (previous {previous.totals.claims_adjudicated}); "
                  f"first submitted: {t.claims_submitted}; denied on first adjudication: {t.denied_claims} "
                  f"({_money(t.denied_amount)}); written off: {_money(t.denial_write_offs)}")

    causes = Table(title="Top causes by denied dollars (first adjudications)", title_justify="left")
    for col in ("cause", "claims", "denied", "share", "overturn rate"):
        causes.add_column(col, justify="left" if col == "cause" else "right")
    for g in current.by_cause:
        share = g.kpis.denied_amount / t.denied_amount * 100 if t.denied_amount else None
        causes.add_row(g.label, str(g.kpis.denied_claims), _money(g.kpis.denied_amount),
                       f"{share:.1f}%" if share is not None else DASH,
                       fmt_value(g.kpis.kpis.get("appeal_overturn_rate")))
    if not current.by_cause:
        causes.add_row("no denials this month", "", "", "", "")
    console.print(causes)

    cells = {(x.payer_id, x.category): x for x in current.payer_cause}
    payers = sorted({x.payer_id for x in current.payer_cause})
    top = [g.key for g in current.by_cause if g.kpis.denied_claims][:8]
    matrix = Table(title="Payer x cause: denied dollars (claims)", title_justify="left")
    matrix.add_column("payer")
    for cause in top:
        matrix.add_column(cause.replace("_", " "), justify="right")
    for payer in payers:
        matrix.add_row(payer, *[f"{_money(c.amount)} ({c.claims})" if (c := cells.get((payer, cause))) else ""
                                for cause in top])
    if payers:
        console.print(matrix)

    aging = Table(title=f"A/R aging at {current.as_of.isoformat()}", title_justify="left")
    for col in ("days from service", "claims", "outstanding"):
        aging.add_column(col, justify="left" if col == "days from service" else "right")
    for b in t.aging:
        aging.add_row(b.name.replace("_", " "), str(b.claims), _money(b.amount))
    console.print(aging)


def report_json(period: str, previous_period: str, current: Any, previous: Any) -> dict[str, Any]:
    from service.entrypoints.api.kpis import kpis_json

    return {
        "period": period, "previous_period": previous_period, "has_data": current.has_data,
        "current": kpis_json(current), "previous": kpis_json(previous),
        "change": {name: change(current.totals.kpis.get(name), previous.totals.kpis.get(name)) for name in LABELS},
        "change_units": {name: ("percentage_points" if current.totals.kpis[name].unit == "ratio"
                                else current.totals.kpis[name].unit) for name in LABELS},
    }


def no_data_message(period: str) -> str:
    return (f"No data for {period}: no claim was adjudicated or first submitted, and no task was appealed or "
            "resolved, in that month.")


async def _load(url: str, year: int, month: int):
    from service.adapters import postgres
    from service.adapters.kpis import PostgresKpiStore
    from service.entrypoints.commands.api import pending_migrations
    from service.service_layer.kpis import monthly_report, procedure_catalog

    settings = get_settings()
    conn = await postgres.connect(url, settings)
    try:
        pending = await pending_migrations(conn)
        if pending:
            return f"the database schema is missing or out of date (pending: {', '.join(pending)}); " \
                   "run `denials migrate` first"
        store = PostgresKpiStore(conn, timezone=settings.task_timezone, family_of=procedure_catalog().family)
        return await monthly_report(store, year, month)
    finally:
        await conn.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        period: str = typer.Option(..., "--period", metavar="YYYY-MM", help="The month to report, e.g. 2026-03."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead of tables."),
    ) -> None:
        """The month's denial KPIs with the change from the month before, top causes by dollars, payer x cause and
        A/R aging (definitions: docs/kpis.md)."""
        from rich.console import Console

        from service import logs
        from service.entrypoints.api.jsonio import dumps
        from service.entrypoints.commands.database import database_url_or_exit, run_or_exit
        from service.service_layer.kpis import previous_month

        try:
            year, month = parse_period(period)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        settings = get_settings()
        logs.configure(settings.log_level, settings.log_format)
        loaded = run_or_exit(_load(database_url_or_exit(settings), year, month))
        if isinstance(loaded, str):
            typer.echo(f"error: {loaded}", err=True)
            raise typer.Exit(2)
        current, previous = loaded
        label = f"{year:04d}-{month:02d}"
        py, pm = previous_month(year, month)
        previous_label = f"{py:04d}-{pm:02d}"
        if as_json:
            out = report_json(label, previous_label, current, previous)
            if not current.has_data:
                out["message"] = no_data_message(label)
            typer.echo(dumps(out))
            return
        console = Console(width=None if Console().is_terminal else 132, highlight=False)
        if not current.has_data:
            console.print(no_data_message(label))
            return
        render(console, label, previous_label, current, previous)
