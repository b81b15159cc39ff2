from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from faq.sitemaps import sitemaps
from wallet_support import views

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="sitemap"),
    path("language/<str:language>/", views.switch_language, name="switch-language"),
    path("admin/", admin.site.urls),
]

# Every public page lives under its language prefix (/zh-hans/, /en/): each language has its
# own canonical URL for search engines, and "/" sends a visitor to the language they chose.
urlpatterns += i18n_patterns(
    path("", include("faq.urls")),
    path("tickets/", include("tickets.urls")),
    path("", include("tickets.protection_urls")),
    path("", include("tickets.incident_urls")),
    prefix_default_language=True,
)

handler400 = "wallet_support.views.bad_request"
handler403 = "wallet_support.views.permission_denied"
handler404 = "wallet_support.views.page_not_found"
handler500 = "wallet_support.views.server_error"
