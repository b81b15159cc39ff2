"""The production URLs and the bench's bare view (scripts/bench_pages_settings.py)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from wallet_support.urls import urlpatterns as production_urlpatterns

ITEMS = [{"title": f"Item {number}", "slug": f"item-{number}"} for number in range(20)]


def bare_template(request: HttpRequest) -> HttpResponse:
    """A 20 KB template, a few variables and a loop, no query: Django's own floor."""
    return render(request, "bench/bare_20k.html", {"title": "Bench", "items": ITEMS})


urlpatterns = [path("bench/bare/", bare_template), *production_urlpatterns]
