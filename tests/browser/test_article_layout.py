"""A long article on a desktop: a readable measure and an "On this page" list that jumps."""

import os
import shutil
import statistics
import subprocess

import pytest
from playwright.sync_api import Page, expect

from tests.factories import ArticleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARAGRAPH = (
    "为了保护您和其他用户的资金，系统发现账户有异常风险时，可能会暂时冻结账户，"
    "或者限制付款和提现等部分功能。请不要反复操作，也不要相信任何声称可以付费解冻的人，"
    "只通过官方渠道联系客服，按要求核实身份并说明情况，核实完成后客服会告诉您处理结果。"
)
SECTIONS = ["查看提示", "联系客服", "核实身份"]
# Characters on each full line of the paragraph (the last, shorter line left out).
LINE_LENGTHS = """(p) => {
  const text = p.firstChild, range = document.createRange(), lines = new Map();
  for (let i = 0; i < text.length; i++) {
    range.setStart(text, i); range.setEnd(text, i + 1);
    const top = Math.round(range.getBoundingClientRect().top);
    lines.set(top, (lines.get(top) || 0) + 1);
  }
  return [...lines.values()].slice(0, -1);
}"""


def has_chinese_font() -> bool:
    fc_list = shutil.which("fc-list")
    found = fc_list and subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True)
    return bool(found and found.stdout.strip())


@pytest.fixture
def long_article():
    if not has_chinese_font():
        # Without one, Chromium draws boxes of another width: the measure means nothing.
        if os.environ.get("CI", "").lower() in {"1", "true"}:
            pytest.fail("No Chinese font: .ci/run must install fonts-wqy-microhei.")
        pytest.skip("No Chinese font (apt-get install fonts-wqy-microhei)")
    body = "\n\n".join(
        f"## {title}\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n\n{PARAGRAPH}" for title in SECTIONS
    )
    return ArticleFactory.create(body=f"{PARAGRAPH}\n\n{body}")


def test_a_desktop_article_keeps_a_readable_measure_with_its_outline_beside(
    page: Page, live_server, long_article
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/zh-hans/articles/{long_article.slug}/")
    lengths = page.locator(".prose > p").first.evaluate(LINE_LENGTHS)
    assert len(lengths) >= 2
    assert 35 <= statistics.median(lengths) <= 40, lengths
    outline = page.get_by_role("navigation", name="本页内容")
    prose = page.locator(".prose").bounding_box()
    beside = outline.bounding_box()
    assert prose and beside and beside["x"] >= prose["x"] + prose["width"]


def test_the_outline_links_jump_to_their_headings(page: Page, live_server, long_article):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/zh-hans/articles/{long_article.slug}/")
    links = page.get_by_role("navigation", name="本页内容").get_by_role("link")
    expect(links).to_have_text(SECTIONS)
    for index in (2, 0):  # the last first: the page has to scroll down to it, then back up
        links.nth(index).click()
        heading = page.get_by_role("heading", name=SECTIONS[index], exact=True)
        page.wait_for_url(f"**#section-{index + 1}")
        expect(heading).to_be_in_viewport()
        box = heading.bounding_box()
        assert box and 0 <= box["y"] <= 40, box  # at the top of the window, not just visible
