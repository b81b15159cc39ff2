from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """Values every page uses: the CSP nonce under the name django-htmx expects, and the
    support channels (settings, so an operator changes them without a release)."""
    return {
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "support": {
            "hotline": settings.SUPPORT_HOTLINE,
            "hours": settings.SUPPORT_HOURS,
            "email": settings.SUPPORT_EMAIL,
            "wechat": settings.SUPPORT_WECHAT,
            "weibo": settings.SUPPORT_WEIBO,
        },
    }
