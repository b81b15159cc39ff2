import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.test import Client

from faq import pagecache
from tests.factories import ArticleFactory, CategoryFactory, SecurityNoticeFactory
from tests.helpers import load_help_content
from tickets.roles import ROLE_BY_NAME

Role = Literal["agent", "lead", "superuser"]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def empty_page_cache():
    # The per-worker page cache outlives a test's database: pages of one test's rows must
    # not be served in the next.
    pagecache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # A deliberately slow hash protects real passwords; in tests it only costs time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Staff: one factory for every role, and clients logged in as them -------------------------


class MakeStaff(Protocol):
    def __call__(
        self,
        username: str = ...,
        role: Role | None = ...,
        *,
        first_name: str = ...,
        password: str | None = ...,
    ) -> User: ...


@pytest.fixture
def make_staff(db, django_user_model) -> MakeStaff:
    """`make_staff("mei", "lead")`: a staff user in a support role's group.

    role is "agent" or "lead" (tickets/roles.py), "superuser", or None for staff without any
    role. Without a password the account has none (log in with `client_for`); give one to log
    in through the login form (browser tests).
    """

    def make(
        username: str = "agent-a",
        role: Role | None = "agent",
        *,
        first_name: str = "",
        password: str | None = None,
    ) -> User:
        user = django_user_model.objects.create_user(
            username,
            f"{username}@okwallet.example",
            password,
            first_name=first_name,
            is_staff=True,
            is_superuser=role == "superuser",
        )
        if role in ROLE_BY_NAME:
            user.groups.add(Group.objects.get(name=ROLE_BY_NAME[role]))
        return user

    return make


@pytest.fixture
def client_for() -> Callable[..., Client]:
    """`client_for(user)`: a new test client logged in as user, the admin in English.

    Each call is another browser, so a test can have two staff members logged in at once.
    """

    def log_in(user: User, language: str = "en") -> Client:
        client = Client()
        client.force_login(user)
        client.cookies["django_language"] = language  # the admin follows the chosen language
        return client

    return log_in


@pytest.fixture
def agent(make_staff):
    return make_staff("agent-a", "agent")


@pytest.fixture
def lead(make_staff):
    return make_staff("lead-a", "lead")


@pytest.fixture
def agent_client(client_for, agent) -> Client:
    return client_for(agent)


@pytest.fixture
def lead_client(client_for, lead) -> Client:
    return client_for(lead)


# --- The shipped help content (faq/content/), loaded once per module --------------------------


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    fixtures: Any = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


@pytest.fixture(scope="module")
def _shipped_help_content(request, django_db_setup, django_db_blocker) -> Iterator[None]:
    """Load the content inside a transaction that stays open until the module's last test.

    Each `db` test runs in a savepoint on top of it, so what a test changes is rolled back
    and the next test sees the content as shipped; at the end of the module the content
    itself is rolled back, so no other module ever sees it. Loading takes about half a second.

    Not for transactional tests: they flush the database, which would delete the content, and
    their commits would only be commits inside this transaction. Call
    tests.helpers.load_help_content() in those instead.
    """
    module = request.node
    transactional = [
        item.name
        for item in request.session.items
        if item.getparent(pytest.Module) is module and _is_transactional(item)
    ]
    if transactional:
        raise pytest.UsageError(
            f"{module.name} has transactional tests ({', '.join(transactional)}): "
            "call tests.helpers.load_help_content() in them instead of the help_content fixture."
        )
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            load_help_content()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield
    with django_db_blocker.unblock():
        assert connection.in_atomic_block, "a test ended the help content's transaction"
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def help_content(_shipped_help_content, db) -> None:
    """The help centre's shipped categories, articles and notices (a plain `db` test only)."""


# --- Help content made for one test -----------------------------------------------------------


@pytest.fixture
def category(db):
    return CategoryFactory.create(
        slug="withdrawal", name_zh_hans="提现", name_en="Withdrawal", icon="bank"
    )


@pytest.fixture
def article_pair(category):
    """One article in both languages, linked by its slug."""
    zh = ArticleFactory.create(
        slug="withdrawal-time",
        category=category,
        language="zh-hans",
        title="提现多久到账？",
        summary="提现通常在 1–3 个工作日内到账。",
    )
    en = ArticleFactory.create(
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
    return SecurityNoticeFactory.create()


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


# --- Several threads, one database ------------------------------------------------------------


@pytest.fixture
def shared_database(transactional_db, tmp_path: Path) -> Iterator[None]:
    """The test database, reachable from other threads' own connections.

    PostgreSQL (and an SQLite file) already are. Django's SQLite test database is in memory:
    other connections reach it only through SQLite's shared cache, whose table locks fail at
    once instead of waiting. So the test runs on a file copy of it, where WAL and the busy
    timeout work as in production, and the in-memory database is back afterwards.
    """
    original = connections[DEFAULT_DB_ALIAS]
    if not (isinstance(original, SQLiteDatabaseWrapper) and original.is_in_memory_db()):
        yield
        return
    path = tmp_path / "shared.sqlite3"
    original.ensure_connection()
    copy = sqlite3.connect(path)
    original.connection.backup(copy)
    copy.close()
    original_settings = connections.settings[DEFAULT_DB_ALIAS]
    connections.settings[DEFAULT_DB_ALIAS] = {**original_settings, "NAME": str(path)}
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections.settings[DEFAULT_DB_ALIAS] = original_settings
        connections[DEFAULT_DB_ALIAS] = original
