"""The web console in a real browser (Playwright for Python driving Debian's Chromium).

Run by scripts/console-check.sh against a fresh gateway; reads VIDGATE_URL,
VIDGATE_ADMIN_TOKEN, VIDGATE_TEST_KEY and VIDGATE_CONSOLE_SHOTS (where the screenshots go).
Every step asserts what a person would see; the first failure ends the run with its reason.
"""

import datetime
import json
import os
import sys
import urllib.error
import urllib.request
from decimal import Decimal

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["VIDGATE_URL"]
ADMIN = os.environ["VIDGATE_ADMIN_TOKEN"]
TEST_KEY = os.environ["VIDGATE_TEST_KEY"]
SHOTS = os.environ.get("VIDGATE_CONSOLE_SHOTS", "docs/console")
CHROMIUM = os.environ.get("VIDGATE_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 60_000


def api(method, path, key, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def shot(page, name, full_page=True):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full_page)


def sign_in(context, secret):
    page = context.new_page()
    page.goto(BASE + "/")
    expect(page).to_have_url(BASE + "/console/login")
    page.get_by_label("Admin token or API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(BASE + "/console/")
    return page


def operator_steps(page):
    """Creates an account, credits it and creates a live key; returns (account id, key)."""
    expect(page.locator("#signed-in-as")).to_have_text("Operator")
    shot(page, "overview-operator")
    page.get_by_role("link", name="Accounts and keys").click()
    page.get_by_label("Name", exact=True).first.fill("Playwright films")
    page.get_by_role("button", name="Create the account").click()
    expect(page.locator(".notice")).to_contain_text("created")
    account = page.url.split("created=")[1]
    section = page.locator(f"#account-{account}")
    section.get_by_label("Credit (USD; negative removes)").fill("10")
    section.get_by_role("button", name="Credit").click()
    expect(page.locator(f"#account-{account} [data-field=balance_usd]")).to_have_text("10")
    page.get_by_label("Account", exact=True).select_option(account)
    page.locator("#new-key-name").fill("browser")
    page.get_by_label("Mode", exact=True).select_option("live")
    page.get_by_role("button", name="Create the key").click()
    key = page.locator("#new-key-secret").inner_text().strip()
    balance = api("GET", "/v1/balance", key)
    assert balance["account_id"] == account and balance["key"]["mode"] == "live", "the new key is not the account's live key"
    page.goto(BASE + f"/console/accounts?account_id={account}")
    suspend_and_resume(page, account, key)
    shot(page, "accounts")
    return account, key


def upstream_steps(page):
    """Disables the upstream `spare` on the Upstreams page (the API then reports it out),
    enables it again; the pool `team` shows its members under it."""
    page.get_by_role("link", name="Upstreams").click()
    expect(page.locator("tr[data-pool='team']")).to_contain_text("2 members")
    row = page.locator("tr[data-upstream='spare']")
    expect(row).to_have_attribute("data-state", "ready")
    page.get_by_role("button", name="Disable upstream spare").click()
    expect(page.locator(".notice")).to_contain_text("spare disabled")
    expect(row).to_have_attribute("data-state", "out")
    assert api("GET", "/admin/v1/upstreams/spare", ADMIN)["state"] == "out", "the disabled upstream is not out"
    shot(page, "upstreams")
    page.get_by_role("button", name="Enable upstream spare").click()
    expect(page.locator(".notice")).to_contain_text("spare enabled")
    expect(row).to_have_attribute("data-state", "ready")
    assert api("GET", "/admin/v1/upstreams/spare", ADMIN)["state"] == "ready", "the enabled upstream is not back"


def api_status(path, key):
    """The HTTP status of a GET with `key` (an error status too)."""
    try:
        api("GET", path, key)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


def suspend_and_resume(page, account, key):
    """Suspends the account with its button (its key is then refused), then resumes it."""
    status = page.locator(f"#account-{account} [data-field=status]")
    expect(status).to_have_text("active")
    page.get_by_role("button", name=f"Suspend account {account}").click()
    expect(page.locator(".notice")).to_contain_text("suspended")
    expect(status).to_have_text("suspended")
    assert api_status("/v1/balance", key) == 403, "a suspended account's key still works"
    expect(page.locator("#audit tbody tr").first).to_contain_text("account.update")
    page.get_by_role("button", name=f"Resume account {account}").click()
    expect(status).to_have_text("active")
    assert api_status("/v1/balance", key) == 200, "a resumed account's key is still refused"


def account_steps(page, key, other_task):
    """Watches a live task complete without a reload, plays it, checks the usage chart."""
    page.goto(BASE + "/console/tasks")
    page.evaluate("window.__notReloaded = true")
    task = api("POST", "/v1/videos/generations", key,
               {"model": "tiny", "prompt": "a lighthouse at dusk", "duration_seconds": 1, "audio": True})
    row = page.locator(f"tr[data-task-id='{task['task_id']}']")
    expect(row).to_have_attribute("data-status", "completed", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded === true"), "the tasks page was reloaded"
    shot(page, "tasks")

    row.get_by_role("link").click()
    expect(page.locator("#task-status")).to_have_text("completed")
    page.evaluate("() => { const v = document.getElementById('player'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.2", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => { const a = document.getElementById('audio-player'); return a.readyState >= 1 && a.duration > 0; }",
        timeout=TIMEOUT_MS)
    page.evaluate("document.getElementById('player').pause()")
    shot(page, "task", full_page=False)

    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    usage = api("GET", f"/v1/usage?group_by=day&mode=live&since={today}", key)
    api_today = sum((Decimal(str(r["usd"])) for r in usage["data"] if r["bucket"] == today), Decimal(0))
    assert api_today > 0, f"no live spend today: {usage}"
    page.get_by_role("link", name="Usage").click()
    bar = page.locator(f"#live-by-model g.day[data-day='{today}']")
    assert Decimal(bar.get_attribute("data-usd")) == api_today, (bar.get_attribute("data-usd"), api_today)
    assert Decimal(page.locator("#live-today").get_attribute("data-usd")) == api_today
    shot(page, "usage")

    page.get_by_role("link", name="Rate card").click()
    expect(page.locator("tr[data-model='tiny']")).to_be_visible()
    shot(page, "rates")

    refused = page.goto(BASE + f"/console/tasks/{other_task}")
    assert refused.status == 404, refused.status
    expect(page.locator("[data-code=task_not_found]")).to_be_visible()

    forged = page.request.post(BASE + "/console/logout", form={"csrf": "forged"}, max_redirects=0)
    assert forged.status == 403, forged.status
    assert forged.json()["error"]["code"] == "permission_denied"
    assert forged.json()["error"]["param"] == "csrf"
    page.goto(BASE + "/console/")
    expect(page.locator("#signed-in-as")).to_contain_text("Account")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    other = api("POST", "/v1/videos/generations", TEST_KEY, {"model": "tiny", "prompt": "someone else's video"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        try:
            login = browser.new_context(viewport={"width": 390, "height": 700}).new_page()
            login.goto(BASE + "/")
            expect(login).to_have_url(BASE + "/console/login")
            shot(login, "sign-in-phone")
            operator = sign_in(browser.new_context(viewport={"width": 1100, "height": 800}), ADMIN)
            _, key = operator_steps(operator)
            upstream_steps(operator)
            account = sign_in(browser.new_context(viewport={"width": 1100, "height": 800}), key)
            expect(account.locator("#balance")).to_have_text("10")
            shot(account, "overview-account")
            account_steps(account, key, other["task_id"])
        finally:
            browser.close()
    print("console check passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"console check failed: {e}", file=sys.stderr)
        raise
