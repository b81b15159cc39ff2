"""Staff in a browser of their own: two can be logged in at once (separate contexts)."""

from playwright.sync_api import Browser, Page, expect

PASSWORD = "a-long-test-passphrase"


def log_in(browser: Browser, live_server, username: str) -> Page:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#support-queue")).to_be_visible()
    return page
