"""The page as a new user meets it, in headless Chromium (Debian's `chromium`, driven by Playwright):

- axe-core (from the axe-playwright-python package, evaluated in the page) finds no serious or critical violation on
  the sign-in form, the work queue, the claim panel and the dashboard, at 1400x900 and at 1024x768; each view is
  saved as a screenshot for review (`pytest --screenshots DIR`, else a directory under pytest's temporary path);
- what a first look tripped on: a claim id never wraps, deadline badges fit inside their panel, the denial's
  sentence is said once, an audit note's time reads like the page's other times, and a KPI without data says so;
- the API page at /api/docs renders the public OpenAPI document offline, without a token, and sends requests with
  one;
- a claim is found by its payer claim number; the list and a dashboard table download as CSV;
- the keyboard alone takes the next task, changes its state and adds a note.

A missing browser fails the test (`apt-get install -y chromium`). The scenario is the one of the work-queue browser
test, copied into a private database."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest

from tests.integration.test_api_support import running_api
from tests.integration.test_web_support import (
    CLIPPED,
    WRAPPED,
    accessibility_violations,
    day,
    headless_chromium,
    publish_scenario,
    scenario_database,
    watched_page,
)

SIZES = ((1400, 900), (1024, 768))
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture(scope="module")
async def review_site(stack, worker, db):
    run = uuid.uuid4().hex[:8]
    s = await publish_scenario(stack, db, run)
    async with scenario_database(stack, s) as url, running_api(url) as api:
        ann = await api.token(f"appeals-{run}", ["appeals"], user="ann")
        bob = await api.token(f"coding-{run}", ["coding"], user="bob")
        yield s, api, ann, bob


@pytest.fixture(scope="module")
async def browser():
    async with headless_chromium() as b:
        yield b


async def _no_serious_violations(page, view: str) -> None:
    found = await accessibility_violations(page)
    assert found == [], (view, found)


async def _sign_in(page, base: str, token: str) -> None:
    from playwright.async_api import expect

    await page.goto(base + "/")
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_contain_text("Signed in.")


async def test_every_view_passes_axe_and_reads_cleanly_at_both_sizes(review_site, browser, screenshots):
    from playwright.async_api import expect

    s, api, ann, _ = review_site
    explanation = await api.pool.fetchval("SELECT explanation FROM appeal_tasks WHERE task_id = $1", s.necessity_task)
    for width, height in SIZES:
        size = f"{width}x{height}"
        context, page, errors, external = await watched_page(browser, api.base,
                                                             viewport={"width": width, "height": height})
        # sign-in
        await page.goto(api.base + "/")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await _no_serious_violations(page, f"sign-in {size}")
        await page.screenshot(path=str(screenshots / f"{size}-1-sign-in.png"))

        # the work queue: ids on one line, badges inside the list's panel
        await page.get_by_label("API token").fill(ann)
        await page.keyboard.press("Enter")
        await expect(page.locator("#task-rows tr")).to_have_count(1)
        await expect(page.locator("#status")).to_contain_text("Signed in.")
        assert await page.evaluate(WRAPPED, "#task-rows .id") == []
        assert await page.evaluate(CLIPPED, "#task-rows .badge") == []
        await _no_serious_violations(page, f"work queue {size}")
        await page.screenshot(path=str(screenshots / f"{size}-2-work-queue.png"))

        # the claim panel: taken with N the first time (a lease, audited), found by payer claim number the second
        if width == SIZES[0][0]:
            await page.keyboard.press("n")
            await expect(page.locator("#status")).to_contain_text("Took the next task")
        else:
            await page.get_by_role("searchbox", name="Find a claim").fill(f"icn-{s.necessity_claim}".lower())
            await page.keyboard.press("Enter")
            await expect(page.locator("#status")).to_contain_text(f"Found claim {s.necessity_claim}")
        await expect(page.locator("#task-title")).to_contain_text(f"Claim {s.necessity_claim}")
        assert await page.evaluate(WRAPPED, "#task-title .id, #facts .id, #deadline-banner .id") == []
        assert await page.evaluate(CLIPPED, "#deadline-banner") == []
        assert "[object" not in await page.locator("#main").inner_text()  # every node rendered as itself
        why = await page.locator("section[aria-labelledby=why-title]").inner_text()
        assert why.count(explanation) == 1, why  # once, not again in the decision's item
        audit = page.locator("#audit-rows")
        await expect(audit).to_contain_text("leased until")
        assert not ISO_TIMESTAMP.search(await audit.inner_text()), await audit.inner_text()
        await _no_serious_violations(page, f"claim panel {size}")
        await page.screenshot(path=str(screenshots / f"{size}-3-claim-panel.png"), full_page=True)

        # the dashboard: a KPI without data says why in words
        await page.keyboard.press("d")
        await expect(page.locator("#status")).to_have_text("Dashboard loaded.")
        appeal = page.locator('[data-kpi="median_days_to_appeal"]')
        await expect(appeal.locator(".kpi-value")).to_have_text("Not enough data")
        await expect(appeal).to_contain_text("no appeal submitted in this period")
        # an A/R date far past the last date of service: nothing charged in the 90 days before it
        await page.get_by_label("To (and A/R date)").fill(day(400))
        await page.get_by_role("button", name="Show", exact=True).click()
        await expect(page.locator("#status")).to_have_text("Dashboard updated.")
        ar = page.locator('[data-kpi="days_in_ar"]')
        await expect(ar.locator(".kpi-value")).to_have_text("Not enough data")
        await expect(ar).to_contain_text("outstanding; no date of service in the 90 days to")
        cards = await page.locator("#kpi-cards").inner_text()
        assert "charged a day" not in cards and "over 0 tasks" not in cards, cards
        await _no_serious_violations(page, f"dashboard {size}")
        await page.screenshot(path=str(screenshots / f"{size}-4-dashboard.png"), full_page=True)
        assert errors == [] and external == [], (errors, external)
        await context.close()


async def test_the_api_page_renders_offline_without_a_token_and_sends_requests_with_one(review_site, browser,
                                                                                       screenshots):
    from playwright.async_api import expect

    s, api, ann, _ = review_site
    async with api.session.get(api.base + "/api/openapi.json") as resp:  # no Authorization header
        assert resp.status == 200 and (await resp.json())["paths"]["/api/worklist"]
    (width, height), (small_width, small_height) = SIZES
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": width, "height": height})
    async with page.expect_response(lambda r: r.url.endswith("/api/openapi.json")) as answer:
        await page.goto(api.base + "/api/docs")
    assert (await answer.value).status == 200
    await expect(page.locator(".information-container .title")).to_contain_text("denials work-queue API")
    await expect(page.get_by_text("Lease the queue's highest-priority free open task")).to_be_visible()
    await page.screenshot(path=str(screenshots / f"{width}x{height}-5-api-docs.png"))
    await page.set_viewport_size({"width": small_width, "height": small_height})
    await page.screenshot(path=str(screenshots / f"{small_width}x{small_height}-5-api-docs.png"))

    # interactive: authorize with a token, then try GET /api/me from the page
    await page.locator(".auth-wrapper button.authorize").click()
    await page.locator("#auth-bearer-value").fill(ann)
    await page.get_by_role("button", name="Apply credentials").click()
    await page.locator(".auth-btn-wrapper button.btn-done").click()
    me = page.locator("#operations-meta-me")
    await me.locator(".opblock-summary").click()
    await me.get_by_role("button", name="Try it out").click()
    await me.get_by_role("button", name="Execute").click()
    await expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    await expect(me.locator(".live-responses-table")).to_contain_text(f"appeals-{s.run}/ann")
    assert errors == [] and external == [], (errors, external)
    await context.close()


async def test_the_list_and_a_dashboard_table_download_as_csv(review_site, browser, tmp_path):
    from playwright.async_api import expect

    s, api, ann, _ = review_site
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 900},
                                                         accept_downloads=True)
    await _sign_in(page, api.base, ann)
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download the list (CSV)").click()
    download = await info.value
    rows = list(csv.reader(io.StringIO((await download.path()).read_text(encoding="utf-8"))))
    assert download.suggested_filename.startswith("worklist-") and rows[0][:2] == ["task_id", "claim_id"]
    assert [dict(zip(rows[0], r, strict=True))["claim_id"] for r in rows[1:]] == [s.necessity_claim]
    await expect(page.locator("#status")).to_contain_text("Downloaded the list as CSV")

    await page.keyboard.press("d")
    await expect(page.locator("#status")).to_have_text("Dashboard loaded.")
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV: top causes").click()
    download = await info.value
    rows = list(csv.reader(io.StringIO((await download.path()).read_text(encoding="utf-8"))))
    assert rows == [["cause", "denied_claims", "denied_amount"], ["medical_necessity", "1", "1800.00"]], rows
    assert errors == [] and external == [], (errors, external)
    await context.close()


async def _tab_to(page, predicate: str, limit: int = 40) -> None:
    """Press Tab until the focused element satisfies `predicate` (a JS expression over `el`), at most `limit` times."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"):
            return
    raise AssertionError(f"no focusable element matched {predicate} within {limit} tabs")


async def test_the_keyboard_alone_takes_the_next_task_changes_its_state_and_adds_a_note(review_site, browser):
    from playwright.async_api import expect

    s, api, _, bob = review_site
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1024, "height": 768})
    await page.goto(api.base + "/")
    assert await page.evaluate("document.activeElement.id") == "token"
    await page.keyboard.type(bob)
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_contain_text("Signed in. Queue: coding.")
    assert await page.evaluate("document.activeElement.id") == "next-task"
    await page.keyboard.press("Enter")  # the button, not the N shortcut
    await expect(page.locator("#status")).to_contain_text(f"Took the next task: claim {s.reopening_claim}")

    await _tab_to(page, "el.name === 'to_state'")
    await page.keyboard.press("ArrowRight")  # the next choice after "Keep"
    chosen = page.locator("#state-choices input[name=to_state]:checked")
    await expect(chosen).to_have_value("in_progress")
    await _tab_to(page, "el.id === 'note'")
    note = "Called the MAC: reopening accepted by phone, reference 88231."
    await page.keyboard.type(note)
    await _tab_to(page, "el.id === 'save'")
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_contain_text("The task is now In progress")
    await expect(page.locator("#audit-rows")).to_contain_text("reference 88231")
    row = await api.pool.fetchrow("SELECT state, assignee, notes FROM appeal_tasks WHERE task_id = $1",
                                  s.reopening_task)
    assert row["state"] == "in_progress" and row["assignee"] == f"coding-{s.run}/bob"
    assert [n["text"] for n in row["notes"]] == [note]
    assert errors == [] and external == [], (errors, external)
    await context.close()
