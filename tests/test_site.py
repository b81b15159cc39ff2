import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db

# DJANGO_SITE_URL in the test settings (pyproject.toml): absolute links use it, not the Host.
SITE = "https://help.okwallet.example"


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in response.content.decode()
    assert f"Sitemap: {SITE}/sitemap.xml" in response.content.decode()


def test_sitemap_lists_articles_with_hreflang_alternates(client, article_pair):
    zh_article, en_article = article_pair
    xml = client.get("/sitemap.xml").content.decode()
    assert f"{SITE}{zh_article.get_absolute_url()}" in xml
    assert f'hreflang="en" href="{SITE}{en_article.get_absolute_url()}"' in xml
    assert f"{SITE}/zh-hans/contact/" in xml


def test_article_has_canonical_hreflang_description_and_faq_json_ld(client, article_pair):
    zh_article, en_article = article_pair
    html = client.get(zh_article.get_absolute_url()).content.decode()
    assert f'<link rel="canonical" href="{SITE}{zh_article.get_absolute_url()}">' in html
    assert f'hreflang="en" href="{SITE}{en_article.get_absolute_url()}"' in html
    assert f'<meta name="description" content="{zh_article.summary}">' in html
    assert '"@type": "FAQPage"' in html and f'"name": "{zh_article.title}"' in html


def test_json_ld_cannot_be_closed_by_article_text(client, category):
    from tests.factories import ArticleFactory

    article = ArticleFactory.create(category=category, title="</script><script>alert(1)</script>")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "</script><script>alert(1)" not in html


@pytest.mark.parametrize("language,text", [("zh-hans", "找不到"), ("en", "can't find")])
def test_404_page_in_both_languages(client, language, text):
    response = client.get(f"/{language}/no-such-page/")
    assert response.status_code == 404
    assert text in response.content.decode()


def test_500_page_in_the_site_look(client, monkeypatch):
    from faq.models import SecurityNotice

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(SecurityNotice.objects, "published", broken)
    client.raise_request_exception = False
    response = client.get("/en/contact/")  # does not touch notices: still fine
    assert response.status_code == 200
    response = client.get("/en/security/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "site.css" in response.content.decode()


def test_403_page_in_the_site_look(rf):
    from django.template.response import TemplateResponse

    from wallet_support.views import permission_denied

    response = permission_denied(rf.get("/en/"))
    assert isinstance(response, TemplateResponse)
    response.render()
    assert response.status_code == 403
    assert "site-header" in response.content.decode()


def test_admin_needs_a_staff_login(db):
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def production_env() -> dict[str, str]:
    """The test run's environment turned into a production one, as the README describes."""
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k3#9vQ!x8Lz@2mP7rT$w5yB^nF1cH6jD4sG0aE-uK+oI=qW_vZ%",
        "DJANGO_ALLOWED_HOSTS": "help.okwallet.example",
        "DJANGO_SECURE_SSL_REDIRECT": "1",
        "DJANGO_SECURE_COOKIES": "1",
        "DJANGO_SITE_URL": "https://help.okwallet.example",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }


def test_check_deploy_is_clean_with_production_settings():
    env = production_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"DJANGO_SITE_URL": ""}, "wallet_support.E001"),
        ({"DJANGO_SITE_URL": "http://127.0.0.1:8000"}, "wallet_support.E002"),
        (
            {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            "wallet_support.E003",
        ),
    ],
)
def test_check_deploy_fails_without_a_site_url_or_real_email(changes, error):
    env = {**production_env(), **changes}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0  # an error, not a warning: the deploy stops here
    assert error in result.stderr + result.stdout


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_a_forged_host_never_reaches_the_links_of_a_cached_page(client, article_pair):
    zh_article, _en = article_pair
    forged = client.get(zh_article.get_absolute_url(), headers={"host": "testserver:6666"})
    assert forged.status_code == 200
    html = client.get(zh_article.get_absolute_url()).content.decode()
    assert "6666" not in html and "6666" not in forged.content.decode()
    assert f'<link rel="canonical" href="{SITE}{zh_article.get_absolute_url()}">' in html
