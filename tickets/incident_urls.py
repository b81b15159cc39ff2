from django.urls import path

from tickets import incident_views

app_name = "incidents"
urlpatterns = [
    path("status/", incident_views.status_page, name="status"),
    path("status/banner/", incident_views.banner, name="banner"),
    path("status/<str:reference>/subscribe/", incident_views.subscribe, name="subscribe"),
]
