"""The dashboard view in headless Chromium (Debian's `chromium`, driven by Playwright): the KPI fixture month
(tests/integration/test_kpis_support.py, applied through the service layer into a private database) shown as cards,
charts drawn by the vendored Chart.js (checked on the chart objects and on the canvas pixels) and the payer x cause
heat map table. Keyboard, labels and contrast are checked as on the work-queue page. A missing browser fails the test.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.test_api_support import open_pool, private_database, running_api, settings_for
from tests.integration.test_kpis_support import Month
from tests.integration.test_web_support import ACCESSIBLE_NAMES, CONTRAST, headless_chromium, watched_page

CANVASES = ("chart-trend", "chart-causes", "chart-aging", "chart-overturn")

# For each chart: its type, the data of each dataset, and how many elements Chart.js laid out for each dataset
# (bars, points) with a real size; plus how many canvas pixels are not transparent.
DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  const chart = window.Chart && window.Chart.getChart(canvas);
  if (!chart) return null;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {
    type: chart.config.type,
    labels: chart.data.labels,
    data: chart.data.datasets.map((d) => d.data),
    drawn: chart.data.datasets.map((d, i) => chart.getDatasetMeta(i).data
      .filter((e) => Number.isFinite(e.x) && Number.isFinite(e.y)).length),
    painted,
    label: canvas.getAttribute('aria-label'),
  };
}"""


@pytest.fixture(scope="module")
async def dashboard_site(stack):
    run = uuid.uuid4().hex[:6]
    async with private_database(stack.direct_database_url) as url:
        pool = await open_pool(url, settings_for(url))
        try:
            await Month(run).apply_in_process(pool)
        finally:
            await pool.close()
        async with running_api(url) as api:
            token = await api.token(f"finance-{run}", [], supervisor=True, user="cfo")
            yield api, token


@pytest.fixture
async def browser():
    async with headless_chromium() as b:
        yield b


async def test_the_dashboard_draws_the_months_kpis_charts_and_heat_map(dashboard_site, browser, tmp_path):
    from playwright.async_api import expect

    api, token = dashboard_site
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 1100})

    await page.goto(api.base + "/")
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_contain_text("Signed in as finance-")

    # the view tabs: one tab stop, arrow keys switch; D opens the dashboard from anywhere
    queue_tab = page.get_by_role("tab", name="Work queue")
    await expect(queue_tab).to_have_attribute("aria-selected", "true")
    await queue_tab.focus()
    await page.keyboard.press("ArrowRight")
    dashboard_tab = page.get_by_role("tab", name="Dashboard")
    await expect(dashboard_tab).to_have_attribute("aria-selected", "true")
    assert await page.evaluate("document.activeElement.id") == "tab-dashboard"  # focus follows the selected tab
    await expect(page.get_by_role("tabpanel", name="Dashboard")).to_be_visible()
    await expect(page.locator("#app")).to_be_hidden()
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("#app")).to_be_visible()
    await page.locator("body").click(position={"x": 5, "y": 400})
    await page.keyboard.press("d")
    await expect(page.locator("#dashboard")).to_be_visible()
    await expect(page.locator("#status")).to_have_text("Dashboard loaded.")

    # all data first (February and March), then March alone through the filter form
    await expect(page.locator("#dash-period")).to_contain_text("All data")
    trend = await page.evaluate(DRAWN, "chart-trend")
    assert trend["labels"] == ["2026-02", "2026-03"] and trend["data"][0] == [50, 50], trend
    await page.get_by_label("From", exact=True).fill("2026-03-01")
    await page.get_by_label("To (and A/R date)").fill("2026-03-31")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#status")).to_have_text("Dashboard updated.")
    await expect(page.locator("#dash-period")).to_contain_text("2026-03-01 to 2026-03-31; A/R as of 2026-03-31")

    cards = page.locator("#kpi-cards")
    for kpi, value, detail in (("initial_denial_rate", "50.0%", "3 of 6 claims"),
                               ("denial_rate_dollars", "47.9%", "$2,300.00 of $4,800.00"),
                               ("clean_claim_rate", "71.4%", "5 of 7 claims"),
                               ("days_in_ar", "34.0 days", "$2,550.00 outstanding"),
                               ("net_collection_rate", "62.7%", "$2,350.00 of $3,750.00"),
                               ("appeal_overturn_rate", "50.0%", "1 won of 2 decided"),
                               ("recovered_dollars", "$700.00", "on 1 won task"),
                               ("median_days_to_appeal", "3.5 days", "over 2 tasks")):
        card = cards.locator(f'[data-kpi="{kpi}"]')
        await expect(card.locator(".kpi-value")).to_have_text(value)
        await expect(card).to_contain_text(detail)

    # every chart is drawn with data: Chart.js laid out one element per value and painted the canvas
    charts = {cid: await page.evaluate(DRAWN, cid) for cid in CANVASES}
    assert charts["chart-trend"]["type"] == "line" and charts["chart-trend"]["labels"] == ["2026-03"]
    assert charts["chart-trend"]["data"] == [[50], [pytest.approx(47.9167, abs=1e-3)]]
    assert charts["chart-causes"]["labels"] == ["authorization", "medical necessity", "coding"]
    assert charts["chart-causes"]["data"] == [[1000, 1000, 300]]
    assert charts["chart-aging"]["data"] == [[1900, 0, 250, 0, 400]]
    assert charts["chart-overturn"]["labels"] == ["authorization", "medical necessity"]
    assert charts["chart-overturn"]["data"] == [[1, 0], [0, 1]]
    for cid, c in charts.items():
        assert all(n == len(d) and n > 0 for n, d in zip(c["drawn"], c["data"], strict=True)), (cid, c)
        assert c["painted"] > 2000, (cid, c["painted"])
        assert c["label"] and c["label"] != "", cid
    assert "authorization $1,000.00" in charts["chart-causes"]["label"]
    await expect(page.locator("#cap-overturn")).to_contain_text("overturn rate 50.0%")

    # the heat map: payers x causes with the dollars (claims) as text, darkest where the most was denied
    heat = page.locator("#heatmap")
    await expect(heat.locator("tbody tr")).to_have_count(2)
    await expect(heat.locator("thead th")).to_have_text(["Payer", "authorization", "medical necessity", "coding"])
    cell = heat.locator('td[data-payer="BCBS-TX"][data-cause="authorization"]')
    await expect(cell).to_have_text("$1,000.00 (1)")
    assert "heat-5" in (await cell.get_attribute("class"))
    await expect(heat.locator('td[data-payer="MCR-JL"][data-cause="coding"]')).to_have_text("—")
    await expect(heat.locator('td[data-payer="BCBS-TX"][data-cause="coding"]')).to_have_class("num heat heat-2")
    ratio = await page.evaluate(CONTRAST, "#heatmap .heat-2")
    assert ratio is not None and ratio >= 4.5, ratio

    # the numbers behind each chart are in a table too
    await page.locator("#cap-aging + .canvas-box + details summary").click()
    await expect(page.locator("#data-aging tbody tr").first).to_contain_text("$1,900.00")

    # a filter narrows everything: Medicare only
    await page.get_by_role("form", name="Dashboard filters").get_by_label("Payer").select_option("MCR-JL")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(cards.locator('[data-kpi="initial_denial_rate"] .kpi-value')).to_have_text("50.0%")
    await expect(cards.locator('[data-kpi="initial_denial_rate"]')).to_contain_text("1 of 2 claims")
    assert (await page.evaluate(DRAWN, "chart-causes"))["labels"] == ["medical necessity"]

    # a period without data says so, and no value is NaN
    await page.get_by_label("From", exact=True).fill("2025-06-01")
    await page.get_by_label("To (and A/R date)").fill("2025-06-30")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#dash-empty")).to_contain_text("No claim was adjudicated or submitted")
    assert "NaN" not in await page.locator("#dashboard").inner_text()

    # labels and contrast as on the rest of the page; nothing from another origin
    unnamed = [c for c in await page.evaluate(ACCESSIBLE_NAMES) if not c["name"]]
    assert unnamed == [], unnamed
    for selector in (".card dt", ".kpi-value", ".card .hint", "#cap-trend", "#tab-dashboard"):
        ratio = await page.evaluate(CONTRAST, selector)
        assert ratio is not None and ratio >= 4.5, (selector, ratio)
    await page.get_by_role("button", name="All data").click()
    await expect(page.locator("#status")).to_have_text("Dashboard shows all data.")
    await expect(page.locator('#heatmap td[data-payer="BCBS-TX"][data-cause="coding"]')).to_have_text("$550.00 (2)")
    for selector in (".heat-0", ".heat-3", ".heat-5"):
        ratio = await page.evaluate(CONTRAST, f"#heatmap {selector}")
        assert ratio is not None and ratio >= 4.5, (selector, ratio)
    await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert errors == [], errors
    assert external == [], external
    await context.close()


async def test_focus_moved_while_the_queue_loads_is_not_taken_back(dashboard_site, browser):
    """Sign-in ends by focusing "Next task", but not when the user has already moved focus (here to the view tabs)
    while the queue was loading: their next key press must go where they put it. The queue's first read is held
    until the tab has focus, so the order is certain."""
    import asyncio

    from playwright.async_api import expect

    api, token = dashboard_site
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 1100})
    release = asyncio.Event()

    async def hold(route):
        await release.wait()
        await route.continue_()

    await page.route("**/api/worklist/facets*", hold)
    await page.goto(api.base + "/")
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_contain_text("Signed in as finance-")
    await page.get_by_role("tab", name="Work queue").focus()
    release.set()
    await expect(page.locator("#status")).to_contain_text("Signed in.")
    assert await page.evaluate("document.activeElement.id") == "tab-queue"
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("tab", name="Dashboard")).to_have_attribute("aria-selected", "true")

    # with nothing touched during sign-in, focus lands on "Next task" as before
    await page.unroute("**/api/worklist/facets*")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_contain_text("Signed in.")
    assert await page.evaluate("document.activeElement.id") == "next-task"
    assert errors == [], errors
    assert external == [], external
    await context.close()


async def test_denials_api_serves_prometheus_metrics_without_phi(dashboard_site):
    api, _ = dashboard_site
    async with api.session.get(api.base + "/metrics") as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    tasks = {(r["queue"], r["state"]): r["n"] for r in await api.pool.fetch(
        "SELECT queue, state, count(*) AS n FROM appeal_tasks GROUP BY 1, 2")}
    for (queue, state), n in tasks.items():
        assert f'denials_tasks{{queue="{queue}",state="{state}"}} {float(n)}' in text
    assert "denials_metrics_database_up 1.0" in text
    assert "KPI-" not in text and "BCBS-TX" not in text and "MRN-" not in text
    async with api.session.get(api.base + "/web/vendor/chart.umd.min.js") as resp:
        assert resp.status == 200 and resp.content_type == "text/javascript"
        assert (await resp.read()).startswith(b"/*!\n * Chart.js v4.6.1")
    async with api.session.get(api.base + "/web/vendor/..%2Fapp.js") as resp:
        assert resp.status == 404


async def test_the_dashboard_compares_the_denial_rate_of_claims_the_check_passed_and_flagged(dashboard_site, browser):
    """Check outcomes recorded for some of the month's claims: one denied and one paid claim flagged, one denied and
    two paid claims passed; the table shows each group's adjudicated claims, denials and denial rate."""
    from playwright.async_api import expect

    api, token = dashboard_site
    adjudicated = """SELECT r.claim_id, bool_or(coalesce(d.is_denial, false)) AS denied FROM remittances r
                     LEFT JOIN decisions d ON d.event_id = r.event_id
                     WHERE r.duplicate_of IS NULL AND r.status_code <> '22' GROUP BY r.claim_id ORDER BY 1"""
    rows = await api.pool.fetch(adjudicated)
    denied = [r["claim_id"] for r in rows if r["denied"]]
    paid = [r["claim_id"] for r in rows if not r["denied"]]
    assert len(denied) >= 2 and len(paid) >= 3
    outcomes = [(denied[0], "flagged"), (paid[0], "flagged"), (denied[1], "passed"), (paid[1], "passed"),
                (paid[2], "warned")]
    await api.pool.executemany(
        "INSERT INTO check_outcomes (claim_id, event_id, outcome, denies, warnings, rule_ids, origin)"
        " VALUES ($1, 'ev-' || $1, $2, $3, 0, $4, 'cli')",
        [(c, o, 1 if o == "flagged" else 0, ["authorization.missing"] if o == "flagged" else []) for c, o in outcomes])

    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 1100})
    await page.goto(api.base + "/")
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_contain_text("Signed in as finance-")
    await page.get_by_role("tab", name="Dashboard").click()
    table = page.locator("#check-outcomes")
    await expect(table.locator('tr[data-outcome="flagged"]')).to_contain_text("50.0%")
    passed = table.locator('tr[data-outcome="passed"] td')  # claims, adjudicated, denied, denial rate
    for column, text in enumerate(("3", "3", "1", "33.3%")):
        await expect(passed.nth(column)).to_have_text(text)
    await expect(page.locator("#check-rules")).to_contain_text("authorization.missing (2)")
    assert "NaN" not in await page.locator("#dashboard").inner_text()
    assert errors == [] and external == []
    await context.close()
