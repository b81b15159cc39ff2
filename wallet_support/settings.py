"""One settings module, read from the environment.

Development defaults are safe: DEBUG is off unless DJANGO_DEBUG=1 (``make run`` sets it),
and with DEBUG off the secret key must come from the environment.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# ModelAdmin[Ticket] and the other generic classes the type checker wants, at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).")
    SECRET_KEY = "django-insecure-development-only"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "wallet_support.admin.SupportAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_htmx",
    "template_partials",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "faq",
    "tickets",
    # Throttles the admin login (below): failed logins per account and per address.
    "axes",
    # Revisions of help articles: who changed what, the diff, and restore (faq/admin.py).
    "simple_history",
]

MIDDLEWARE = [
    "wallet_support.middleware.HealthMiddleware",
    "wallet_support.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the header built once per worker (wallet_support/csp_middleware.py).
    "wallet_support.csp_middleware.CSPMiddleware",
    # Answers cached public pages before URL routing (faq.pagecache): after what such a page
    # needs (session, language, CSRF, headers, nonce), before what it does not (the user,
    # messages, htmx details, login lockouts).
    "wallet_support.middleware.PageCacheMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "wallet_support.middleware.RequestChecksMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wallet_support.urls"
WSGI_APPLICATION = "wallet_support.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wallet_support.context_processors.site",
            ],
            "builtins": [
                "django.templatetags.i18n",
                "django.templatetags.static",
                "template_partials.templatetags.partials",
                # Django's {% url %}, remembering what it built (wallet_support/template_urls.py).
                "wallet_support.template_urls",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the embedded default: WAL lets readers run beside the one writer, the busy
# timeout makes a writer wait instead of failing, and IMMEDIATE transactions take the write
# lock up front so two writers never deadlock upgrading a read lock.
DATABASES = {
    "default": dj_database_url.parse(
        # An empty DATABASE_URL (a blank line in an env file) means the default, not a crash.
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = None  # one connection per worker thread
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# The database cache is shared by every worker (rate limits must be), with no extra service.
# Only what may vanish lives here (page versions, presence); counters that must hold (rate
# limits) have their own store (tickets/ratelimit.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        # Room for every agent's presence marks; culling 300 rows evicted live ones.
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A frozen Redis costs a request a quarter of a second, not redis-py's default of
        # waiting for ever (wallet_support/cache.py turns the error into a miss).
        "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
    }

# --- Behind a proxy -------------------------------------------------------------------------
# Addresses or networks of the proxies in front (nginx, a load balancer): only a request from
# one of them has its X-Forwarded-For read (wallet_support/clients.py: client_ip).
TRUSTED_PROXIES = [
    ipaddress.ip_network(value, strict=False) for value in env_list("DJANGO_TRUSTED_PROXIES")
]

# --- Help pages -----------------------------------------------------------------------------
# Article pages are rendered once per worker and kept in memory (faq/pagecache.py); a worker
# notices an edit made through another worker within this many seconds.
FAQ_PAGE_CACHE = env_bool("FAQ_PAGE_CACHE", True)
FAQ_PAGE_CACHE_CHECK_SECONDS = float(os.environ.get("FAQ_PAGE_CACHE_CHECK_SECONDS", "2"))
# Searches are logged in batches, written this often by each worker (faq/searchlog.py): a
# killed worker loses at most this many seconds of the search log. 0: each search at once.
FAQ_SEARCH_LOG_FLUSH_SECONDS = float(os.environ.get("FAQ_SEARCH_LOG_FLUSH_SECONDS", "5"))

# --- Background tasks ---------------------------------------------------------------------
# E-mails leave through a durable queue in the database, after the transaction commits, so a
# failing mail server never loses or blocks a ticket. `manage.py db_worker` runs the queue.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Uploads --------------------------------------------------------------------------------
# Customer attachments live outside the static and public media paths; only staff download
# them, through a view that checks permission.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("DJANGO_PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # form fields; files are limited by the form
# Above the form's own limit (3), so a customer who picks too many hears it from the form, with
# everything typed kept, not from a bare 400.
DATA_UPLOAD_MAX_NUMBER_FILES = 12

# --- Tickets --------------------------------------------------------------------------------
TICKETS_FIRST_RESPONSE_HOURS = int(os.environ.get("TICKETS_FIRST_RESPONSE_HOURS", "24"))
# "<count>/<seconds>": how many submissions one IP address or one e-mail address may make.
TICKETS_RATE_PER_IP = os.environ.get("TICKETS_RATE_PER_IP", "10/3600")
TICKETS_RATE_PER_EMAIL = os.environ.get("TICKETS_RATE_PER_EMAIL", "5/3600")
TICKETS_RATE_TRACKING = os.environ.get("TICKETS_RATE_TRACKING", "20/600")
TICKETS_LINK_MAX_AGE_DAYS = int(os.environ.get("TICKETS_LINK_MAX_AGE_DAYS", "90"))
# A chat nobody has taken after this long tells the customer and offers the ticket form.
TICKETS_CHAT_WAIT_MINUTES = int(os.environ.get("TICKETS_CHAT_WAIT_MINUTES", "10"))
# How many business days money of a topic normally takes to arrive ("topic:shortest-longest",
# comma-separated): the complaint form shows the customer whether theirs is late. The seeds give
# 1-3 business days for withdrawals, and no figure for the others.
TICKETS_SETTLEMENT_BUSINESS_DAYS = {
    topic: (int(shortest), int(longest))
    for topic, _sep, window in (
        item.strip().partition(":")
        for item in os.environ.get("TICKETS_SETTLEMENT_BUSINESS_DAYS", "withdrawal:1-3").split(",")
        if item.strip()
    )
    for shortest, _dash, longest in [window.partition("-")]
}
# Quotas per ticket and per chat (tickets/quotas.py): what one conversation may cost us.
TICKETS_FOLLOW_UPS_PER_HOUR = int(os.environ.get("TICKETS_FOLLOW_UPS_PER_HOUR", "10"))
TICKETS_FILES_PER_TICKET = int(os.environ.get("TICKETS_FILES_PER_TICKET", "15"))
TICKETS_FILE_MB_PER_TICKET = int(os.environ.get("TICKETS_FILE_MB_PER_TICKET", "30"))
TICKETS_CHAT_MESSAGES_PER_MINUTE = int(os.environ.get("TICKETS_CHAT_MESSAGES_PER_MINUTE", "12"))
# Customers' files are deleted this many days after their ticket is resolved (or closed);
# `manage.py delete_expired_attachments`, from cron, does it (tickets/retention.py).
TICKETS_ATTACHMENT_RETENTION_DAYS = int(os.environ.get("TICKETS_ATTACHMENT_RETENTION_DAYS", "180"))
# The complaint register's clocks (tickets/register.py): set them to what the regulator requires.
TICKETS_COMPLAINT_ACK_WORKING_DAYS = int(os.environ.get("TICKETS_COMPLAINT_ACK_WORKING_DAYS", "1"))
TICKETS_COMPLAINT_FINAL_DAYS = int(os.environ.get("TICKETS_COMPLAINT_FINAL_DAYS", "15"))
# Known incidents (tickets/incidents.py): how long a finished one stays on the status page.
TICKETS_INCIDENT_RECENT_DAYS = int(os.environ.get("TICKETS_INCIDENT_RECENT_DAYS", "14"))

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_MAX_AGE = 60 * 60 * 24 * 365 if not DEBUG else 0

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get(
    "DJANGO_DEFAULT_FROM_EMAIL", "OK Wallet Support <support@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A server that accepts and never answers must not hold a worker for ever.
EMAIL_TIMEOUT = int(os.environ.get("DJANGO_EMAIL_TIMEOUT", "15"))
# The site's public address: every absolute URL (e-mails, canonical and hreflang links, the
# sitemap) is built from it, never from the request's Host header. Required in production
# (wallet_support/checks.py).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")

# --- Security -------------------------------------------------------------------------------
# The admin's own login page sends staff on to the admin when its `next` is unsafe or absent.
LOGIN_REDIRECT_URL = "/admin/"

# Admin login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords an account,
# and separately an address, is locked for AXES_COOLOFF_TIME; a lead unlocks it in the admin
# (Axes → Access attempts: delete). Addresses come from the same rule as the rate limits.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("DJANGO_LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "wallet_support.clients.login_client_ip"
AXES_LOCKOUT_TEMPLATE = "errors/login_locked.html"
AXES_VERBOSE = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "wallet_support.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    # Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1.
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# No inline script or style anywhere: scripts and styles come from our own origin, and the
# nonce covers the few <script> tags a template writes (htmx, structured data).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# --- Product facts shown on the contact pages -----------------------------------------------
SUPPORT_HOTLINE = os.environ.get("SUPPORT_HOTLINE", "400-000-0000")
SUPPORT_HOURS = os.environ.get("SUPPORT_HOURS", "09:00–21:00")
SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL", "support@okwallet.example")
SUPPORT_WECHAT = os.environ.get("SUPPORT_WECHAT", "OKWallet")
SUPPORT_WEIBO = os.environ.get("SUPPORT_WEIBO", "@OK钱包")
# Who is e-mailed at once when a customer uses the emergency lane (comma-separated); empty: the
# leads' own addresses.
SECURITY_ALERT_EMAILS = [
    address.strip()
    for address in os.environ.get("SECURITY_ALERT_EMAILS", "").split(",")
    if address.strip()
]
SITE_NAME = _("OK Wallet Help Centre")

# --- Logs and errors ------------------------------------------------------------------------
# One JSON object a line on standard error (time, level, logger, message, request id), which
# journald, Docker or any log search keeps as it is; DJANGO_LOG_FORMAT=text for a terminal.
# wallet_support.access writes one line per request.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "wallet_support.middleware.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "text"} else "json",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "wallet_support.access": {
            "level": os.environ.get("DJANGO_ACCESS_LOG_LEVEL", "INFO"),
        },
        # The access line replaces Django's own per-request warnings for 4xx.
        "django.request": {"level": "ERROR"},
        # A damaged upload is refused by tickets/uploads.py; pypdf's own warnings are noise.
        "pypdf": {"level": "ERROR"},
    },
}

# Error reports to Sentry (or a compatible service) only when a DSN is given.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        send_default_pii=False,  # customers' e-mail addresses stay out of error reports
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )
