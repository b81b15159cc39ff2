from django.urls import path

from tickets import chat_views, rating_views, views

app_name = "tickets"

urlpatterns = [
    path("new/", views.ticket_new, name="new"),
    path("new/check/<str:field_name>/", views.ticket_field_check, name="field-check"),
    path("new/submitted/", views.ticket_submitted, name="submitted"),
    path("suggested/<slug:slug>/", views.suggestion_open, name="suggestion-open"),
    path("track/", views.ticket_track, name="track"),
    path("track/reminder/", views.ticket_references_reminder, name="track-reminder"),
    path("link/<str:token>/", views.ticket_link, name="link"),
    path("chat/", chat_views.chat_start_view, name="chat-start"),
    path("chat/status/", chat_views.chat_status_view, name="chat-status"),
    path("chat/<str:reference>/", chat_views.chat_window, name="chat-window"),
    path("chat/<str:reference>/messages/", chat_views.chat_messages, name="chat-messages"),
    path("chat/<str:reference>/send/", chat_views.chat_send, name="chat-send"),
    path("chat/<str:reference>/end/", chat_views.chat_end_view, name="chat-end"),
    path("chat/<str:reference>/ticket/", chat_views.chat_to_form, name="chat-to-form"),
    path("rate/<str:token>/<int:score>/", rating_views.rate_click, name="rate"),
    path("rate/<str:token>/", rating_views.rate_comment, name="rate-comment"),
    path("rate/<str:token>/thanks/", rating_views.rate_thanks, name="rate-thanks"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment-download"),
    path("<str:reference>/", views.ticket_detail, name="detail"),
    path("<str:reference>/reply/", views.ticket_reply, name="reply"),
    path("<str:reference>/resolution/", views.ticket_resolution, name="resolution"),
]
