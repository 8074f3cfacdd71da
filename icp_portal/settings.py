"""Settings for ICP Portal, read from the environment.

With no environment variables set, the portal runs on a SQLite file under ``var/`` and
runs Celery tasks in-process. ``DATABASE_URL`` switches to PostgreSQL (or any database
dj-database-url understands) and ``CELERY_BROKER_URL`` to a Redis broker with workers.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ICP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable; raise ImproperlyConfigured on other values."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_base_url(name: str) -> str:
    """Read an http(s) base URL such as ``https://api.apollo.io``, or "" when unset.

    Raises ImproperlyConfigured, naming the variable and its value, for a URL without an
    http or https scheme or a host, with a query, fragment or credentials, or with an
    invalid port. A trailing slash is removed.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    try:
        valid_port = parts.port is None or parts.port > 0
    except ValueError:
        valid_port = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not valid_port
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a valid base URL: use http:// or https://, a host, an "
            "optional port and path, and no query, fragment or password, such as "
            "https://api.example.com or http://127.0.0.1:8680."
        )
    return raw.rstrip("/")


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("DATABASE_URL"):
        raise ImproperlyConfigured(
            "SECRET_KEY is missing: set it to a long random string when DATABASE_URL is set."
        )
    # Only for the embedded SQLite set-up on a developer's machine.
    SECRET_KEY = "insecure-local-development-key-change-me"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_celery_beat",
    "simple_history",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "segmentation",
    "enrichment",
    "audits",
    "integrations",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "audits.middleware.ChangeChannelMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout raised during login into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "icp_portal.urls"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "icp_portal.wsgi.application"

# Database: https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    # Check pooled connections before use, so a PostgreSQL restart costs one reconnect
    # instead of an error on the next request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Seconds to wait for a new connection (libpq's connect_timeout), so that an
        # unreachable server fails the request instead of holding it for the operating
        # system's TCP timeout. A connect_timeout in DATABASE_URL's query string wins
        # over this default.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "10"))
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # IMMEDIATE takes the write lock when a transaction starts, so two concurrent
            # writers wait for each other (up to the timeout, in seconds) instead of one
            # failing with "database is locked" when it tries to upgrade a read lock.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

# SQLite has one writer at a time, and an import writes for minutes while it scores its
# accounts, so with SQLite imports, full re-scorings and enrichment runs run one at a time
# (accounts/importing/serial.py). The running job holds a lock on ICP_IMPORT_LOCK_PATH.
ICP_IMPORTS_ONE_AT_A_TIME = env_bool(
    "ICP_IMPORTS_ONE_AT_A_TIME",
    default=DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
)
ICP_IMPORT_LOCK_PATH = VAR_DIR / "import.lock"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:account-list"
LOGOUT_REDIRECT_URL = "login"

# Security ------------------------------------------------------------------------------
# With DEBUG=false, SECURE_SSL_REDIRECT=true and the HSTS variables set, `manage.py check
# --deploy` reports no warnings. docs/operations.md lists the production environment.

# Earlier keys that still verify sessions and signed values while SECRET_KEY is rotated.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

# django-axes checks lockouts before the password, so its backend comes first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five failed logins lock that username from that client address for 15 minutes. Other
# users at the same address can still sign in. A successful login clears the failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# NOTE: the client address is REMOTE_ADDR. Behind a reverse proxy every client has the
# proxy's address, so a lockout then blocks the username for everyone until the proxy
# passes the client address on (docs/operations.md, "Login throttling").

# Cookies are sent over HTTPS only unless DEBUG is on or ICP_INSECURE_COOKIES=true (a
# plain-HTTP run on a private network). Chromium also sends Secure cookies to
# http://localhost and http://127.0.0.1, so the browser tests sign in without it.
_INSECURE_COOKIES = env_bool("ICP_INSECURE_COOKIES", default=DEBUG)
SESSION_COOKIE_SECURE = not _INSECURE_COOKIES
CSRF_COOKIE_SECURE = not _INSECURE_COOKIES
# Pages put the CSRF token in the htmx headers from the template (base.html), so no
# script reads the cookie. Django's default of False is kept.
CSRF_COOKIE_HTTPONLY = False
# A session lasts a working day and ends when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Off by default so that `make run` and the tests work over plain HTTP. Turn both on in
# production. HSTS makes browsers refuse plain HTTP to this host for SECURE_HSTS_SECONDS.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a proxy that ends TLS and sets X-Forwarded-Proto, set ICP_BEHIND_TLS_PROXY=true so
# that Django treats requests that came over HTTPS as secure. The proxy must overwrite the
# header that clients send, or a client could claim HTTPS.
if env_bool("ICP_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp 4): scripts, styles, fonts and requests come from
# this site only, and no page may be framed. htmx's own indicator styles are turned off in
# base.html because an injected <style> element would be blocked.
CONTENT_SECURITY_POLICY = {
    # drf-spectacular's Swagger UI and ReDoc pages start with inline scripts and styles.
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs/", "/api/v1/redoc/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}

LANGUAGE_CODE = "en-us"
# The team's time zone: monthly audits and quarterly schedules follow it, not UTC.
TIME_ZONE = os.environ.get("ICP_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"

# Uploads above this size are written to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "accounts.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "accounts.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "accounts.api.schema.ApiAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.api.throttling.ApiUserThrottle",
        "accounts.api.throttling.ApiAnonThrottle",
        "accounts.api.throttling.ApiWriteThrottle",
    ],
    # Requests per user (per client address for "anon"). Counters are kept in the default
    # cache, so they are shared between processes only when REDIS_CACHE_URL is set.
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_USER", "1200/minute"),
        "anon": os.environ.get("API_THROTTLE_ANON", "60/minute"),
        "write": os.environ.get("API_THROTTLE_WRITE", "240/minute"),
        "csv_export": os.environ.get("API_THROTTLE_CSV_EXPORT", "60/minute"),
        "imports": os.environ.get("API_THROTTLE_IMPORTS", "30/hour"),
    },
}

API_DESCRIPTION = """Accounts, segments, frameworks, imports and webhooks of the ICP Portal.

**Authentication.** Send a personal API token as `Authorization: Bearer icp_…`, or use a
signed-in browser session (writes then need the CSRF token). Create a token on the API
tokens page (`/integrations/tokens/`) or with `POST /api/v1/tokens/` from a session. The
key is shown once. Scopes are `read` (GET), `segments` (also create, change and delete
your own saved segments; includes read) and `write` (POST, PUT, PATCH, DELETE; includes
read and segments). Each write operation names the scope it needs. A token never exceeds
its user's role: Marketing may hold `segments` but not `write`, Sales Leadership `read`
only.

**Pagination.** Lists use cursor pagination: follow `next` until it is null. `page_size`
sets the rows per page, 100 by default and at most 500.

**CSV.** Account lists return CSV with `?format=csv` or `Accept: text/csv`. A `?format=`
that an endpoint does not offer gets 406. `bom=1` starts the CSV with a UTF-8 byte order
mark, which Excel needs to read accented names and en dashes.

**ETags.** `GET /accounts/{id}/`, `GET /accounts/{id}/notes/{note_id}/` and every change
of them return an `ETag`. Send it back in `If-Match` with a change: if the account or
note changed meanwhile, the API returns 412 and changes nothing. Send the ETag as it is:
a weak `W/"…"` copy never matches, because `If-Match` compares ETags strongly.

**Errors.** Every error has the shape
`{"error": {"code": "...", "message": "...", "fields": {...}}}`, where `fields` lists the
messages per invalid parameter or body field. Over a rate limit the API returns 429 with
a `Retry-After` header in seconds.

**Webhooks.** Deliveries carry `X-ICP-Signature: t=<unix seconds>,v1=<hex>`, where `v1`
is the HMAC-SHA256, keyed with the subscription's secret, of the timestamp, a period and
the raw request body.
"""

SPECTACULAR_SETTINGS = {
    "TITLE": "ICP Portal API",
    # API users cannot open the repository's docs/api.md, so the schema states its key rules.
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc load from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" field with different choices; name each enum.
    "ENUM_NAME_OVERRIDES": {
        "ImportRunStatusEnum": "accounts.models.ImportRun.Status",
        "ResearchNoteStatusEnum": "accounts.models.ResearchNote.Status",
        "ResearchNoteKindEnum": "accounts.models.ResearchNote.Kind",
        "EnrichmentRunStatusEnum": "enrichment.models.EnrichmentRun.Status",
        "ViolationStatusEnum": "audits.models.Violation.Status",
        "WebhookDeliveryStatusEnum": "integrations.models.WebhookDelivery.Status",
        "FrameworkStatusEnum": "segmentation.models.FrameworkStatus",
    },
}

# Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
# Without a broker, tasks run in the calling process so the portal needs no services.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks live in the database (django_celery_beat), editable in the admin under
# Periodic tasks. Migration segmentation 0006 creates the quarterly re-segmentation there.

# Framework approval: with a second approver, nobody who created, edited or submitted a
# version may approve it.
ICP_FRAMEWORK_SECOND_APPROVER = env_bool("ICP_FRAMEWORK_SECOND_APPROVER", default=False)

# Segmentation: accounts scored per batch. A batch holds its rows and results in memory,
# about 7 KB per account when every result changes, so 5,000 keeps a batch near 35 MB.
ICP_SEGMENTATION_BATCH_SIZE = int(os.environ.get("ICP_SEGMENTATION_BATCH_SIZE", "5000"))
# Connections that write scored batches on PostgreSQL while the next batch is scored. Each
# keeps one batch in memory. 0 writes each batch before scoring the next.
ICP_SEGMENTATION_WRITERS = int(os.environ.get("ICP_SEGMENTATION_WRITERS", "2"))
# A chunk of a pending or running segmentation run that a worker started and that made no
# progress for this many seconds is shown as stalled, and its run may be resumed. So is an
# unstarted chunk whose task is not in the broker's queue, once the run made no progress
# for this long.
SEGMENTATION_STALLED_AFTER_SECONDS = int(
    os.environ.get("SEGMENTATION_STALLED_AFTER_SECONDS", "600")
)

# USD per unit of each currency, used to convert revenue figures. Override per deployment.
ICP_CURRENCY_RATES_TO_USD: dict[str, Decimal] = {}

# Caches: Redis when REDIS_CACHE_URL is set, so that workers share provider responses and
# the ZoomInfo access token; otherwise a per-process memory cache.
REDIS_CACHE_URL = os.environ.get("REDIS_CACHE_URL", "")
# Seconds a cache call waits for Redis to connect or reply before it raises (redis-py
# 8.2 waits 5). The API rate limits and the import wizard carry on without the cache, and
# other callers, such as enrichment lookups, raise the error (docs/operations.md).
REDIS_CACHE_TIMEOUT_SECONDS = float(os.environ.get("REDIS_CACHE_TIMEOUT_SECONDS", "2"))
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CACHE_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_CACHE_TIMEOUT_SECONDS,
            },
        }
    }

# Enrichment providers. Keys come from the environment; a provider without a key is
# reported as not configured when a lookup asks for it. docs/enrichment.md lists every
# option of a provider entry. The *_BASE_URL variables point a provider at another
# server, such as a local test server. They are checked here even without a key, and
# when unset the adapter's production URL applies.
provider_base_urls = {
    "apollo": env_base_url("APOLLO_BASE_URL"),
    "clearbit": env_base_url("CLEARBIT_BASE_URL"),
    "zoominfo": env_base_url("ZOOMINFO_BASE_URL"),
}
ENRICHMENT_PROVIDERS: dict[str, dict] = {}
if os.environ.get("APOLLO_API_KEY"):
    ENRICHMENT_PROVIDERS["apollo"] = {
        "api_key": os.environ["APOLLO_API_KEY"],
        "rate_limit_per_minute": int(os.environ.get("APOLLO_RATE_LIMIT_PER_MINUTE", "50")),
    }
if os.environ.get("CLEARBIT_API_KEY"):
    ENRICHMENT_PROVIDERS["clearbit"] = {
        "api_key": os.environ["CLEARBIT_API_KEY"],
        "rate_limit_per_minute": int(os.environ.get("CLEARBIT_RATE_LIMIT_PER_MINUTE", "300")),
    }
if os.environ.get("ZOOMINFO_USERNAME"):
    ENRICHMENT_PROVIDERS["zoominfo"] = {
        "username": os.environ["ZOOMINFO_USERNAME"],
        "password": os.environ.get("ZOOMINFO_PASSWORD", ""),
        "client_id": os.environ.get("ZOOMINFO_CLIENT_ID", ""),
        "private_key": os.environ.get("ZOOMINFO_PRIVATE_KEY", ""),
        "rate_limit_per_minute": int(os.environ.get("ZOOMINFO_RATE_LIMIT_PER_MINUTE", "100")),
    }
for _provider, _base_url in provider_base_urls.items():
    if _base_url and _provider in ENRICHMENT_PROVIDERS:
        ENRICHMENT_PROVIDERS[_provider]["base_url"] = _base_url
ENRICHMENT_CACHE_SECONDS = int(os.environ.get("ENRICHMENT_CACHE_SECONDS", str(7 * 24 * 3600)))
ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = env_bool("ENRICHMENT_ALLOW_PRIVATE_ADDRESSES", default=False)
# A pending or running enrichment run without progress for this many seconds is shown as
# stalled and may be resumed.
ENRICHMENT_STALLED_AFTER_SECONDS = int(os.environ.get("ENRICHMENT_STALLED_AFTER_SECONDS", "600"))
# Without a broker, a web request stops looking accounts up after this many seconds.
ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = int(
    os.environ.get("ENRICHMENT_EAGER_TIME_BUDGET_SECONDS", "20")
)

# Webhooks (integrations app). Subscriber URLs on private, loopback or link-local addresses
# are rejected unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is true (local development and tests).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# A failed delivery is retried after 1, 2, 4 … minutes, at most an hour apart, and given up
# after this many attempts (8 attempts span about 2 hours).
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_RETRY_BASE_SECONDS = int(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "60"))
WEBHOOK_RETRY_MAX_SECONDS = int(os.environ.get("WEBHOOK_RETRY_MAX_SECONDS", "3600"))
# Score records younger than this wait for the next dispatcher scan, so that one committed
# after a record with a higher id is not skipped. Segmentation batches commit well within it.
WEBHOOK_DISPATCH_DELAY_SECONDS = int(os.environ.get("WEBHOOK_DISPATCH_DELAY_SECONDS", "60"))
WEBHOOK_DISPATCH_BATCH_SIZE = int(os.environ.get("WEBHOOK_DISPATCH_BATCH_SIZE", "500"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {
        "permission_denied_without_traceback": {
            "()": "icp_portal.log_filters.PermissionDeniedTracebackFilter",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["permission_denied_without_traceback"]},
    },
}
