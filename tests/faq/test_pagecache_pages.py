"""The public pages served whole from the per-worker cache (faq.pagecache.cached_page and
wallet_support.middleware.PageCacheMiddleware)."""

import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.test import Client

from faq import pagecache
from faq.models import Category
from tests.factories import SecurityNoticeFactory
from tests.helpers import en, find, zh
from tickets.access import DRAFT_SESSION_KEY

pytestmark = pytest.mark.django_db

# (page, queries when served from the cache, within the check interval): none. Whether the
# chat is open is looked up at most every FAQ_PAGE_CACHE_CHECK_SECONDS (faq.pagecache.chat_state).
PAGES = [
    (("faq:home",), 0),
    (("faq:category-detail", "withdrawal"), 0),
    (("faq:contact",), 0),
    (("faq:security",), 0),
    (("tickets:new",), 0),
    (("tickets:track",), 0),
    (("tickets:chat-start",), 0),
    (("protection:verify",), 0),
    (("protection:emergency",), 0),
    (("incidents:status",), 0),
]
PAGE_IDS = [page[0] for page, _queries in PAGES]


def from_cache(response) -> bool:
    # A page answered from the cache renders no template.
    return response.status_code == 200 and not response.templates


def csrf_token(response) -> str | None:
    found = find(r'name="csrfmiddlewaretoken" value="([^"]+)"|$', response.content.decode())
    return found.group(1)


@pytest.fixture
def draft_session():
    """A visitor whose chat could not start: the ticket form is filled in with their words."""
    visitor = Client()
    session = visitor.session
    session[DRAFT_SESSION_KEY] = {
        "kind": "question",
        "name": "王芳",
        "email": "wang.fang@example.com",
        "description": "充值一直显示处理中",
        "reason": "no-agent",
    }
    session.save()
    visitor.cookies["sessionid"] = str(session.session_key)
    return visitor


@pytest.mark.parametrize(("page", "queries"), PAGES, ids=PAGE_IDS)
def test_each_page_is_served_from_memory_with_each_visitors_own_token_and_nonce(
    category, page, queries, settings, django_assert_max_num_queries
):
    # Within the check interval (production's), as a worker serves most requests.
    settings.FAQ_PAGE_CACHE_CHECK_SECONDS = 60
    url = zh(*page)
    first_visitor, second_visitor = Client(), Client()
    first = first_visitor.get(url)
    assert first.status_code == 200 and not from_cache(first)
    with django_assert_max_num_queries(queries):
        second = second_visitor.get(url)
    assert from_cache(second)

    nonces, tokens = [], []
    for response in (first, second):
        html = response.content.decode()
        assert pagecache.CSRF_PLACEHOLDER not in html and pagecache.NONCE_PLACEHOLDER not in html
        nonce = find(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in html  # the htmx script carries this response's nonce
        nonces.append(nonce)
        tokens.append(csrf_token(response))
    assert nonces[0] != nonces[1]
    if tokens[0] is not None:  # a page with a form
        assert tokens[0] != tokens[1]
        assert second_visitor.cookies["csrftoken"].value  # the token's cookie came with it


@pytest.mark.parametrize(("page", "queries"), PAGES, ids=PAGE_IDS)
def test_each_page_answers_304_to_a_visitor_who_has_it(category, page, queries):
    url = en(*page)
    visitor = Client()
    first = visitor.get(url)
    assert first["ETag"] and first["Last-Modified"]
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]
    again = visitor.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert visitor.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_chats_draft_is_never_served_to_another_visitor(category, draft_session):
    url = zh("tickets:new")
    own = draft_session.get(url)
    assert "wang.fang@example.com" in own.content.decode()
    stranger = Client().get(url)
    assert "wang.fang@example.com" not in stranger.content.decode()
    assert "充值一直显示处理中" not in stranger.content.decode()


def test_a_chats_draft_is_shown_even_when_the_empty_form_is_cached(category, draft_session):
    url = zh("tickets:new")
    Client().get(url)
    assert from_cache(Client().get(url))
    own = draft_session.get(url)
    assert not from_cache(own)
    assert "wang.fang@example.com" in own.content.decode()


def test_a_staff_members_page_is_neither_served_from_nor_kept_in_the_cache(category, agent_client):
    url = zh("faq:home")
    staff_first = agent_client.get(url)
    assert not from_cache(staff_first)
    assert not from_cache(Client().get(url))  # the staff render was not kept
    assert from_cache(Client().get(url))
    assert not from_cache(agent_client.get(url))


def test_a_query_string_is_never_served_from_or_kept_in_the_cache(category):
    url = zh("tickets:new")
    chosen = Client().get(f"{url}?kind=suggestion")
    assert not from_cache(chosen)
    assert not from_cache(Client().get(url))
    assert not from_cache(Client().get(f"{url}?kind=suggestion"))
    verify = zh("protection:verify")
    Client().get(verify)
    checked = Client().get(f"{verify}?q=95017")
    assert not from_cache(checked) and 'data-verdict="' in checked.content.decode()


def test_a_forms_errors_are_not_served_to_the_next_visitor():
    url = zh("tickets:chat-start")
    Client().get(url)
    errors = Client().post(url, {"name": "", "email": "not-an-address", "message": ""})
    assert 'aria-invalid="true"' in errors.content.decode()
    assert 'aria-invalid="true"' not in Client().get(url).content.decode()


def test_an_htmx_request_is_never_answered_with_the_cached_page(category):
    url = zh("faq:home")
    Client().get(url)
    fragment = Client().get(url, headers={"HX-Request": "true"})
    assert not from_cache(fragment)
    assert "HX-Request" in Client().get(url)["Vary"]


def test_an_edit_is_served_at_once_by_the_worker_that_saved_it(category):
    url = zh("faq:home")
    Client().get(url)
    category.name_zh_hans = "提现与到账"
    category.save()
    assert "提现与到账" in Client().get(url).content.decode()
    notice = SecurityNoticeFactory.create(title_zh_hans="警惕冒充客服的电话")
    assert "警惕冒充客服的电话" in Client().get(zh("faq:security")).content.decode()
    notice.delete()
    assert "警惕冒充客服的电话" not in Client().get(zh("faq:security")).content.decode()


def test_an_edit_by_another_worker_is_served_within_the_check_interval(category, settings):
    settings.FAQ_PAGE_CACHE_CHECK_SECONDS = 0  # the interval has passed at every request
    url = zh("faq:category-detail", "withdrawal")
    Client().get(url)
    # Another worker saved: the row and the shared version changed, not this worker's memory.
    Category.objects.filter(pk=category.pk).update(name_zh_hans="提现（新）")
    assert from_cache(Client().get(url))
    cache.set(pagecache.VERSION_KEY, "saved-elsewhere", timeout=None)
    assert "提现（新）" in Client().get(url).content.decode()


def test_whether_the_chat_is_open_is_never_stale(settings, make_staff):
    from tickets.presence import mark_agent_online

    settings.SUPPORT_HOURS = "00:00–24:00"
    assert 'name="use" value="chat"' not in Client().get(zh("tickets:chat-start")).content.decode()
    contact = zh("faq:contact")
    assert 'data-chat="no-agent"' in Client().get(contact).content.decode()
    mark_agent_online(make_staff("lili", "agent"))
    assert 'data-chat="open"' in Client().get(contact).content.decode()
    assert 'name="use" value="chat"' in Client().get(zh("tickets:chat-start")).content.decode()
    cache.clear()  # the agent left the console
    assert 'data-chat="no-agent"' in Client().get(contact).content.decode()


def test_whether_the_hotline_answers_is_never_stale(settings, monkeypatch):
    settings.SUPPORT_HOURS = "09:00–21:00"
    settings.TIME_ZONE = "Asia/Shanghai"
    url = zh("protection:emergency")
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 12, 1, 4, tzinfo=UTC))
    open_now = Client().get(url).content.decode()  # 12:00 in Beijing
    assert "status-closed" not in open_now
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 12, 1, 14, tzinfo=UTC))
    closed = Client().get(url)  # 22:00 in Beijing
    assert "status-closed" in closed.content.decode() and not from_cache(closed)
    assert from_cache(Client().get(url))


def test_a_kept_page_expires(category, monkeypatch):
    url = zh("faq:contact")
    Client().get(url)
    assert from_cache(Client().get(url))
    later = time.monotonic() + pagecache.PAGE_TTL_SECONDS + 1
    monkeypatch.setattr("faq.pagecache.time.monotonic", lambda: later)
    assert not from_cache(Client().get(url))


def test_the_article_is_answered_before_routing_and_still_gives_each_visitor_an_id(
    article_pair, monkeypatch
):
    from faq.views import LAST_SEARCH_COOKIE, VISITOR_COOKIE

    zh_article, _en = article_pair
    url = zh_article.get_absolute_url()
    Client().get(url)
    views_run = []
    kept = pagecache.get

    def counted_get(*args: str) -> object:
        views_run.append(args)
        return kept(*args)

    monkeypatch.setattr(pagecache, "get", counted_get)
    visitor = Client()
    answered = visitor.get(url)
    assert views_run == [] and "提现多久到账？" in answered.content.decode()
    assert answered.cookies[VISITOR_COOKIE].value  # votes count per visitor
    again = visitor.get(url)
    assert VISITOR_COOKIE not in again.cookies  # kept, not replaced
    # A visit that searched before goes through the view, which notes the possible synonym.
    searched = Client()
    searched.cookies[LAST_SEARCH_COOKIE] = "token"
    searched.get(url)
    assert views_run


def test_the_header_and_footer_kept_per_language_are_each_languages_own(category):
    english = Client().get(en("faq:category-detail", "withdrawal")).content.decode()
    chinese = Client().get(zh("faq:contact")).content.decode()
    assert f'href="{en("faq:contact")}"' in english and "Security centre" in english
    assert f'href="{zh("faq:contact")}"' in chinese and f'href="{en("faq:contact")}"' not in chinese
    assert f'href="{zh("protection:emergency")}"' in chinese  # the footer, in Chinese too
