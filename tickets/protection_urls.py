from django.urls import path

from tickets import protection_views

app_name = "protection"
urlpatterns = [
    path("verify/", protection_views.verify, name="verify"),
    path("verify/report/", protection_views.verify_report, name="verify-report"),
    path("emergency/", protection_views.emergency, name="emergency"),
]
