import os
import shutil

import pytest

from tests.factories import ArticleFactory, CategoryFactory, SecurityNoticeFactory


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def category(db):
    return CategoryFactory(
        slug="withdrawal", name_zh_hans="提现", name_en="Withdrawal", icon="bank"
    )


@pytest.fixture
def article_pair(category):
    """One article in both languages, linked by its slug."""
    zh = ArticleFactory(
        slug="withdrawal-time",
        category=category,
        language="zh-hans",
        title="提现多久到账？",
        summary="提现通常在 1–3 个工作日内到账。",
    )
    en = ArticleFactory(
        slug="withdrawal-time",
        category=category,
        language="en",
        title="How long does a withdrawal take?",
        summary="Withdrawals usually arrive within 1–3 business days.",
        body="Intro.\n\n1. Open the app\n2. Tap Withdraw\n",
        keywords="withdraw",
    )
    return zh, en


@pytest.fixture
def notice(db):
    return SecurityNoticeFactory()


# --- Browser tests: Debian's Chromium driven by Playwright ------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")

OFFLINE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Without this Chromium still looks up Google's hosts, which this network refuses.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    browser_tests = [item for item in items if "browser" in item.keywords]
    if not browser_tests:
        return
    if os.environ.get("CI", "").lower() in {"1", "true"}:
        # In CI a missing browser is a broken set-up, never a reason to skip.
        raise pytest.UsageError("Chromium is not installed: .ci/run must install it.")
    marker = pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)")
    for item in browser_tests:
        item.add_marker(marker)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*browser_type_launch_args.get("args", []), *OFFLINE_ARGS],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 390, "height": 844},  # a phone: most customers are on one
        "locale": "zh-CN",
        "service_workers": "block",
    }
