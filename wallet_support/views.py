"""Site-wide views: language switch, robots.txt and the error pages."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import loader
from django.template.response import TemplateResponse
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language_from_path
from django.views.decorators.http import require_safe


@require_safe
def switch_language(request: HttpRequest, language: str) -> HttpResponse:
    """Remember the chosen language in a cookie and go to the same page in that language.

    A plain link rather than Django's POST ``set_language``: the switch then works on every
    page without a CSRF token, and choosing a language changes nothing but a preference.
    """
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        # translate_url resolves the path in the active language: use the path's own.
        with translation.override(get_language_from_path(next_url) or language):
            target = translate_url(next_url, language)
    else:
        with translation.override(language):
            target = reverse("faq:home")
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",  # as settings.LANGUAGE_COOKIE_SAMESITE
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
        httponly=True,
    )
    return response


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /language/",
        f"Sitemap: {settings.SITE_URL}{reverse('sitemap')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "errors/400.html", status=400)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "errors/404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "errors/403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return TemplateResponse(request, "errors/403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors or the database: whatever broke may be broken still.
    template = loader.get_template("errors/500.html")
    return HttpResponse(template.render({"request_path": request.path}), status=500)
