"""Django settings, read from the environment. Every variable is listed in README.md.

Two profiles: development (the default: DEBUG on, SQLite in ./var, console email) and
production (``MILEPOST_ENV=production``: DEBUG off, secure cookies, HSTS, a required secret).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

SRC_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = SRC_DIR.parent.parent
VAR_DIR = Path(os.environ.get("MILEPOST_VAR_DIR") or PROJECT_DIR / "var")  # empty: the default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int, *, low: int, high: int) -> int:
    """An integer from the environment within [low, high]; a bad value stops start-up."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, not {value}")
    return value


def env_rate(name: str, default: str) -> str:
    """A rate "requests/seconds" (e.g. ``600/60``) from the environment, checked at start-up."""
    raw = os.environ.get(name, "").strip() or default
    count, slash, seconds = raw.partition("/")
    if not (slash and count.strip().isdigit() and seconds.strip().isdigit()):
        raise ImproperlyConfigured(
            f"{name} must be requests/seconds such as {default}, not {raw!r}"
        )
    if int(count) < 1 or int(seconds) < 1:
        raise ImproperlyConfigured(f"{name} needs at least 1 request per at least 1 second")
    return f"{int(count)}/{int(seconds)}"


MILEPOST_ENV = os.environ.get("MILEPOST_ENV", "development")
PRODUCTION = MILEPOST_ENV == "production"
TESTING = env_bool("MILEPOST_TESTING", "pytest" in sys.modules)
DEBUG = env_bool("MILEPOST_DEBUG", not PRODUCTION)


def _secret_key() -> str:
    configured = os.environ.get("MILEPOST_SECRET_KEY")
    if configured:
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured(
            "MILEPOST_SECRET_KEY must be set when MILEPOST_ENV=production (e.g. the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`)"
        )
    # Development: a random key kept in ./var so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("MILEPOST_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("MILEPOST_CSRF_TRUSTED_ORIGINS", "")
BASE_URL = os.environ.get("MILEPOST_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    # django-ninja's templates and static files: /api/v1/docs serves Swagger UI from here
    # (same origin, so the Content-Security-Policy allows it) instead of a CDN.
    "ninja",
    "milepost.accounts",
    "milepost.organizations",
    "milepost.okrs",
    "milepost.roadmap",
    "milepost.work",
    "milepost.audit",
    "milepost.reports",
    "milepost.plans",
    "milepost.integrations",
    "milepost.api",
    "milepost.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Error answers under /api/ that Django made (404, 405, 500) become JSON problems.
    "milepost.api.middleware.ApiProblemMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "milepost.audit.middleware.RequestIdMiddleware",
    "milepost.web.middleware.OwnWritesMiddleware",
]

ROOT_URLCONF = "milepost.config.urls"
WSGI_APPLICATION = "milepost.config.wsgi.application"
ASGI_APPLICATION = "milepost.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'milepost.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        conn_max_age=int(os.environ.get("MILEPOST_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed during a write; IMMEDIATE avoids lock upgrades (deadlocks).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
            " PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if not TESTING:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
else:
    # PostgreSQL's JIT compiles any plan estimated above `jit_above_cost`: the whole-plan load
    # of a large organization (subqueries per key result) crosses it, and compiling took longer
    # than running (0.1-scale bench with the thresholds scaled: +0.5-1 s per query). A web
    # request's queries are short: no JIT for this app's connections.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
    # The hot fixed-shape queries (`milepost.prepared`) are prepared on their first run in a
    # connection; Django's own cursors bind on the client and never prepare. Off (None) for a
    # pooler that cannot keep prepared statements (PgBouncer in transaction mode < 1.21).
    _options["prepare_threshold"] = 0 if env_bool("MILEPOST_DB_PREPARED_STATEMENTS", True) else None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Sign-in throttling and the account lock (milepost.accounts.signin).
AUTHENTICATION_BACKENDS = ["milepost.accounts.signin.ThrottledModelBackend"]
# Consecutive failed sign-ins that lock an account; seconds without a failure that forget
# earlier ones; failed sign-ins allowed per client address ("count/seconds").
MILEPOST_SIGNIN_LOCK_AFTER = env_int("MILEPOST_SIGNIN_LOCK_AFTER", 5, low=1, high=1000)
MILEPOST_SIGNIN_ACCOUNT_WINDOW = env_int(
    "MILEPOST_SIGNIN_ACCOUNT_WINDOW", 900, low=1, high=365 * 24 * 3600
)
MILEPOST_SIGNIN_ADDRESS_LIMIT = env_rate("MILEPOST_SIGNIN_ADDRESS_LIMIT", "20/600")
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("MILEPOST_STATIC_ROOT", VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Background tasks (``milepost worker`` runs them): the database backend by default, Redis/RQ
# at scale. MILEPOST_TASKS_BACKEND takes a shorthand ("database", "redis") or a dotted path.
TASKS_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "redis": "django_tasks_rq.RQBackend",
}
_tasks_backend = os.environ.get("MILEPOST_TASKS_BACKEND", "").strip()
TASKS: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": TASKS_BACKENDS.get(_tasks_backend.lower(), _tasks_backend)
        or (
            "django.tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else TASKS_BACKENDS["database"]
        )
    }
}
if TASKS["default"]["BACKEND"] == TASKS_BACKENDS["redis"]:
    if not REDIS_URL:
        raise ImproperlyConfigured(
            f"MILEPOST_TASKS_BACKEND={_tasks_backend} needs REDIS_URL, the Redis server that "
            "holds the task queue (e.g. redis://127.0.0.1:6379/0)"
        )
    INSTALLED_APPS.append("django_rq")  # the RQ backend's check requires it
    TASKS["default"]["QUEUES"] = ["default"]
    # RQ stops a task after DEFAULT_TIMEOUT seconds (a data-source run has its own, shorter
    # timeouts; a whole `run_due_work` pass may take minutes).
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 900}}

EMAIL_BACKEND_PATH = os.environ.get(
    "MILEPOST_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "milepost.config.console_mail.ReadableConsoleBackend",
)
_smtp_options: dict[str, object] = (
    {
        "host": os.environ.get("MILEPOST_EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("MILEPOST_EMAIL_PORT", "25")),
        "username": os.environ.get("MILEPOST_EMAIL_USER", ""),
        "password": os.environ.get("MILEPOST_EMAIL_PASSWORD", ""),
        "use_tls": env_bool("MILEPOST_EMAIL_TLS", False),
        "timeout": 20,
    }
    if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend")
    else {}
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _smtp_options}}
DEFAULT_FROM_EMAIL = os.environ.get("MILEPOST_EMAIL_FROM", "milepost@localhost")
# The hour of the day (0-23, in the organization's time zone) from which reminders and digests
# go out on their check-in day (milepost.integrations.reminders.send_hour).
NOTIFICATION_SEND_HOUR = env_int("MILEPOST_NOTIFICATION_SEND_HOUR", 9, low=0, high=23)
# Seconds a whole-plan evaluation (dashboard, roadmap, plan health, priorities) may lag behind
# other people's writes before it is recomputed; one's own writes always show at once
# (milepost.reports.snapshot). 0: recompute after every change. Tests default to 0.
MILEPOST_LIVE_LAG_SECONDS = env_int(
    "MILEPOST_LIVE_LAG_SECONDS", 0 if TESTING else 5, low=0, high=3600
)

# Security. Production turns everything on; development keeps http://127.0.0.1 usable.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = env_bool("MILEPOST_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("MILEPOST_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("MILEPOST_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_SSL_REDIRECT = env_bool("MILEPOST_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Key used to encrypt stored secrets (data-source headers, webhook secrets); derived from
# SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = os.environ.get("MILEPOST_FIELD_ENCRYPTION_KEY", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MILEPOST_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

NINJA_PAGINATION_PER_PAGE = 50
# API request rate per token, signed-in user or else client address, and the rate of failed
# token authentications per client address ("requests/seconds"; milepost.api.ratelimit).
MILEPOST_API_RATE_LIMIT = env_rate("MILEPOST_API_RATE_LIMIT", "600/60")
MILEPOST_API_AUTH_FAILURE_LIMIT = env_rate("MILEPOST_API_AUTH_FAILURE_LIMIT", "30/60")
