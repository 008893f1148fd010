"""The appeal team's page end to end in headless Chromium (Debian's `chromium`, driven by Playwright): sign in with
a token, take the next task with the keyboard, tick a checklist item, add a note, submit with Ctrl+Enter, see the
state change and the audit row, open the letter draft and its PDF. Accessibility basics are checked on the way:
every control has an accessible name, the tab order follows the page, the shortcuts work, text contrast meets
WCAG AA. A missing browser fails the test: install it with `apt-get install -y chromium`.

The scenario is published through the session worker (real classification) and copied into a private database,
because taking the next task leases from a whole queue and must not touch other tests' tasks."""

from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader

from tests.integration.test_api_support import running_api
from tests.integration.test_web_support import (
    ACCESSIBLE_NAMES,
    CONTRAST,
    day,
    headless_chromium,
    publish_scenario,
    scenario_database,
    watched_page,
)


@pytest.fixture(scope="module")
async def site(stack, worker, db):
    run = uuid.uuid4().hex[:8]
    s = await publish_scenario(stack, db, run)
    async with scenario_database(stack, s) as url, running_api(url) as api:
        token = await api.token(f"appeals-{run}", ["appeals", "coding"], user="ann")
        yield s, api, token


@pytest.fixture
async def browser():
    async with headless_chromium() as b:
        yield b


async def _tab_order(page, count: int) -> list[str]:
    out = []
    for _ in range(count):
        await page.keyboard.press("Tab")
        out.append(await page.evaluate("document.activeElement.id || document.activeElement.className"))
    return out


async def test_a_specialist_works_a_task_with_the_keyboard_and_gets_the_letter(site, browser, tmp_path):
    from playwright.async_api import expect

    s, api, token = site
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 1000},
                                                         accept_downloads=True)

    await page.goto(api.base + "/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await page.evaluate("document.activeElement.id") == "token"

    # a wrong token is refused with a message, a good one signs in
    await page.get_by_label("API token").fill("dnl_not-a-real-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not accepted")
    await page.get_by_label("API token").fill(token)
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_have_text(f"Signed in as appeals-{s.run}/ann")
    await expect(page.locator("#task-rows tr")).to_have_count(1)
    row = page.locator("#task-rows tr").first
    await expect(row).to_contain_text(s.necessity_claim)
    await expect(row).to_contain_text("medical necessity")

    # focus order: the skip link is the first stop, then the header controls, then the filters
    first = await page.evaluate("""() => [...document.querySelectorAll('a[href], button, input, select, textarea')]
        .find((el) => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length).className""")
    assert first == "skip"
    await page.locator("a.skip").focus()
    order = await _tab_order(page, 9)  # the view tabs (work queue | dashboard) are one tab stop
    assert order == ["tab-queue", "queue-select", "next-task", "show-help", "sign-out", "claim-search", "find-claim",
                     "f-state", "f-payer"], order

    # the shortcut list opens with ? and closes with Escape
    await page.locator("body").click(position={"x": 5, "y": 300})
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    # N takes the next task (leased to ann) and opens it
    await page.keyboard.press("n")
    title = page.get_by_role("heading", level=2, name=f"Claim {s.necessity_claim}: medical necessity with "
                                                      f"{s.payer_id}")
    await expect(title).to_be_visible()
    await expect(page.locator("#status")).to_contain_text("Took the next task")
    await expect(page.locator("#lease-info")).to_contain_text(f"Leased to appeals-{s.run}/ann")
    await expect(page.locator("#deadline-banner")).to_contain_text("appeal window")
    await expect(page.locator("#decisions")).to_contain_text("CO-50 + N115")
    await expect(page.locator("#decisions")).to_contain_text("decision based on a Local Coverage Determination")
    timeline = page.locator("#timeline")
    for kind in ("Claim submitted", "Acknowledgement (277CA)", "Remittance"):
        await expect(timeline).to_contain_text(kind)
    await expect(page.locator("#line-rows")).to_contain_text("64484-RT")

    # every control on the page has an accessible name
    unnamed = [c for c in await page.evaluate(ACCESSIBLE_NAMES) if not c["name"]]
    assert unnamed == [], unnamed

    # tick a checklist item, write a note, choose Submitted, save with Ctrl+Enter
    item = page.get_by_label("Imaging report (MRI/CT) correlating the level and side")
    await item.check()
    note = "Redetermination request faxed to the MAC with the imaging report."
    await page.get_by_label("Note", exact=True).fill(note)
    await page.get_by_label("Submitted (appeal sent)").check()
    await expect(page.locator("#dirty")).to_have_text("Unsaved changes.")
    await page.get_by_label("Note", exact=True).focus()
    await page.keyboard.press("Control+Enter")
    await expect(page.locator("#status")).to_contain_text("The task is now Submitted (appeal sent)")
    await expect(page.locator("#facts")).to_contain_text("Submitted (appeal sent)")
    await expect(page.locator("#task-rows tr").first).to_contain_text("Submitted")
    await expect(item).to_be_checked()
    audit = page.locator("#audit-rows")
    await expect(audit).to_contain_text("open → submitted")
    await expect(audit).to_contain_text("Redetermination request faxed to the MAC")
    await expect(audit).to_contain_text(f"appeals-{s.run}/ann")
    await expect(page.locator("#notes")).to_contain_text("Redetermination request faxed to the MAC")
    row = await api.pool.fetchrow(
        "SELECT state, checklist FROM appeal_tasks WHERE task_id = $1", s.necessity_task)
    assert row["state"] == "submitted"
    assert {i["id"]: i["done"] for i in row["checklist"]}["imaging-report"] is True
    assert await api.pool.fetchval(
        "SELECT count(*) FROM task_events WHERE task_id = $1 AND actor = $2 AND to_state = 'submitted'",
        s.necessity_task, f"appeals-{s.run}/ann") == 1

    # L shows the letter draft: the Medicare redetermination with the crosswalk and the ticked enclosure
    await page.locator("#main").focus()
    await page.keyboard.press("l")
    letter = page.locator("#letter")
    await expect(letter).to_be_visible()
    await expect(letter).to_contain_text("# Medicare redetermination")
    await expect(letter).to_contain_text(f"care for this patient on file since {day(-200)}")
    await expect(letter).to_contain_text("Sessions in 12 months")
    await page.screenshot(path=str(tmp_path / "letter-draft.png"), full_page=True)
    enclosures = (await letter.text_content()).split("## Enclosures", 1)[1]
    assert "Imaging report (MRI/CT) correlating the level and side" in enclosures

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download PDF").click()
    download = await download_info.value
    pdf_path = tmp_path / "letter.pdf"
    await download.save_as(pdf_path)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages).split())
    assert "Medicare redetermination" in text and f"ICN-{s.necessity_claim}" in text

    # contrast (WCAG AA, 4.5:1) of body text, hints, buttons, the deadline banner and badges
    for selector in ("#task-title", ".hint", "#next-task", "#save", "#deadline-banner", "#task-rows .badge",
                     "#facts dd", "#letter"):
        ratio = await page.evaluate(CONTRAST, selector)
        assert ratio is not None and ratio >= 4.5, (selector, ratio)

    # the other queue: the reversed-then-denied trigger-point claim takes a reopening request
    await page.get_by_label("Queue", exact=True).select_option("coding")
    await expect(page.locator("#task-rows tr")).to_have_count(1)
    await page.get_by_role("button", name=f"Open task: claim {s.reopening_claim}").click()
    await expect(page.locator("#timeline")).to_contain_text("Reversal")
    await expect(page.locator("#letter-info")).to_contain_text("reopening request")

    await page.screenshot(path=str(tmp_path / "web-page.png"), full_page=True)
    assert (tmp_path / "web-page.png").stat().st_size > 10_000
    # the refused sign-in is the only failed request the browser reports
    assert [e for e in errors if "401 (Unauthorized)" not in e] == [], errors
    assert external == [], external  # nothing fetched from another origin
    await context.close()


async def test_a_sign_in_link_signs_in_leaves_no_token_in_the_address_and_an_expired_one_is_named(site, browser):
    """`denials demo` and `denials api --sign-in` print http://HOST:PORT/#token=...: the page signs in with it and
    drops it from the address bar; once the token expires the page says so (issues 20 and 22)."""
    from playwright.async_api import expect

    from service.adapters.tokens import create_sign_in

    _, api, _ = site
    info, token = await create_sign_in(api.pool, user="demo")
    context, page, errors, external = await watched_page(browser, api.base, viewport={"width": 1400, "height": 900})
    await page.goto(f"{api.base}/#token={token}")
    await expect(page.locator("#who")).to_have_text("Signed in as sign-in/demo (supervisor)")
    assert token not in page.url and page.url == f"{api.base}/"

    await api.pool.execute("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1", info.id)
    await page.reload()  # the tab's stored token is tried again, and refused as expired
    await expect(page.get_by_role("alert")).to_contain_text("That token has expired: ask for a new one.")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert [e for e in errors if "401 (Unauthorized)" not in e] == [], errors
    assert external == [], external
    # the history entry was replaced, not added to: Back leads to the blank tab, never to the link with the token
    await page.go_back()
    assert token not in page.url
    await context.close()
