from django.urls import path

from faq import views

app_name = "faq"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_results, name="search"),
    path("search/open/<slug:slug>/", views.search_open, name="search-open"),
    path("contact/", views.contact, name="contact"),
    path("site-map/", views.site_map, name="site-map"),
    path("security/", views.security, name="security"),
    path("categories/<slug:slug>/", views.category_detail, name="category-detail"),
    path("articles/<slug:slug>/", views.article_detail, name="article-detail"),
    path("articles/<slug:slug>/feedback/", views.article_feedback, name="article-feedback"),
]
