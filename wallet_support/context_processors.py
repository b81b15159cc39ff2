import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tickets.availability import chat_status


def site(request: HttpRequest) -> dict[str, Any]:
    """Values every page uses: the CSP nonce under the name django-htmx expects, and the
    support channels (settings, so an operator changes them without a release).

    `chat` (open now, or why not and when it opens) is looked up only by a page that shows
    it. Pages kept in a cache (faq.pagecache) must not show it inline: they load
    includes/chat_status.html as a fragment instead (tickets:chat-status)."""
    return {
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "chat": SimpleLazyObject(chat_status),
        "support": {
            "hotline": settings.SUPPORT_HOTLINE,
            # For tel: links: digits and a leading + only (RFC 3966 allows the dashes, but
            # some phone dialers do not).
            "hotline_tel": re.sub(r"[^\d+]", "", settings.SUPPORT_HOTLINE),
            "hours": settings.SUPPORT_HOURS,
            "email": settings.SUPPORT_EMAIL,
            "wechat": settings.SUPPORT_WECHAT,
            "weibo": settings.SUPPORT_WEIBO,
        },
    }
