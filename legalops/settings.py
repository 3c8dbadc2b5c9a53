"""LegalOps settings: one module, every knob read from the environment.

Local defaults make a fresh clone run (SQLite under ./var, tasks in-process);
production refuses to start without its secrets. README.md lists every variable.
"""

import contextlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from legalops.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LEGALOPS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off; set SECRET_KEY (50+ random characters) "
            "or DEBUG=1 for local development."
        )
    # Development only: a fixed key is harmless when nothing it signs leaves this machine.
    SECRET_KEY = "insecure-local-development-key-never-used-with-debug-off"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "lookups",
    "legalops",
    "legalops.accounts",
    "legalops.audit",
    "legalops.cases",
    "legalops.disclosures",
    "legalops.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (USWDS, htmx) from our own app directories, with DEBUG on or off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "legalops.web.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out sign-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "legalops.urls"
WSGI_APPLICATION = "legalops.wsgi.application"
# API routes are matched exactly as published: never redirect to add a slash.
APPEND_SLASH = False

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
                "legalops.web.nav.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "legalops.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the single writer; NORMAL is durable in WAL
                # mode except for the last transactions on power loss.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA cache_size=-65536; PRAGMA busy_timeout=5000;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves straight from the apps' static directories, so a fresh clone and
# the image need no collectstatic step; STATIC_ROOT exists so it has nothing to warn of.
WHITENOISE_USE_FINDERS = True
# A read-only tree loses nothing: collectstatic is not used.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded legal process and generated packages: private, never under a public URL.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "legalops.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "legalops.api_errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Intake throttle per user; counted in the shared cache below.
    "DEFAULT_THROTTLE_RATES": {"intake": env_str("LEGALOPS_INTAKE_RATE", "60/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LegalOps API",
    "VERSION": "1",
    "DESCRIPTION": "Legal process intake, review and disclosure for capability-lookup logs.",
    "SERVE_INCLUDE_SCHEMA": False,
    # Uploads are binary in request bodies, read-only fields absent from them.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One published name per choice set, wherever it appears.
    # Enum components first (drf-spectacular's default hook), then our links.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "legalops.schema_links.links_add",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CategoryEnum": "legalops.cases.rules.Category",
        "DirectionEnum": "lookups.models.Direction",
        "ProcessTypeEnum": "legalops.cases.rules.ProcessType",
        "NarrowingBasisEnum": "legalops.cases.models.NarrowingBasis",
        "NumberSourceEnum": "legalops.cases.models.NumberSource",
    },
}

# --- Query logs -----------------------------------------------------------------
LOOKUPS_RETENTION_DAYS = env_int("LOOKUPS_RETENTION_DAYS", 30, minimum=1)
LOOKUPS_DEFAULT_REGION = env_str("LOOKUPS_DEFAULT_REGION", "US").upper()
LOOKUPS_INGEST_BATCH_ROWS = env_int("LOOKUPS_INGEST_BATCH_ROWS", 100_000, minimum=1)
# PostgreSQL: connections one ingest copies over at once (one server backend each).
LOOKUPS_INGEST_CONNECTIONS = env_int("LOOKUPS_INGEST_CONNECTIONS", 2, minimum=1, maximum=16)
LOOKUPS_PURGE_BATCH_ROWS = env_int("LOOKUPS_PURGE_BATCH_ROWS", 10_000, minimum=1)

# --- Legal requests -------------------------------------------------------------
# Response period per process type, in hours (emergencies in hours, others in days).
LEGALOPS_DUE_HOURS = {
    "subpoena": env_int("LEGALOPS_SUBPOENA_DUE_HOURS", 14 * 24, minimum=1),
    "court_order": env_int("LEGALOPS_COURT_ORDER_DUE_HOURS", 14 * 24, minimum=1),
    "search_warrant": env_int("LEGALOPS_SEARCH_WARRANT_DUE_HOURS", 10 * 24, minimum=1),
    "emergency": env_int("LEGALOPS_EMERGENCY_DUE_HOURS", 4, minimum=1),
    "preservation": env_int("LEGALOPS_PRESERVATION_DUE_HOURS", 24, minimum=1),
}
LEGALOPS_PACKAGE_MAX_ATTEMPTS = env_int("LEGALOPS_PACKAGE_MAX_ATTEMPTS", 3, minimum=1)
LEGALOPS_PACKAGE_SOFT_TIME_LIMIT = env_int("LEGALOPS_PACKAGE_SOFT_TIME_LIMIT", 1500, minimum=5)
LEGALOPS_PACKAGE_TIME_LIMIT = env_int("LEGALOPS_PACKAGE_TIME_LIMIT", 1800, minimum=10)
if LEGALOPS_PACKAGE_TIME_LIMIT <= LEGALOPS_PACKAGE_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "LEGALOPS_PACKAGE_TIME_LIMIT must be above LEGALOPS_PACKAGE_SOFT_TIME_LIMIT"
    )
# The provider's name as letters and certificates print it.
LEGALOPS_PROVIDER_NAME = env_str("LEGALOPS_PROVIDER_NAME", "the Provider")
# Printed on every package as the contact for authenticating it.
LEGALOPS_CUSTODIAN_CONTACT_NAME = env_str("LEGALOPS_CUSTODIAN_CONTACT_NAME", "Custodian of Records")
LEGALOPS_CUSTODIAN_CONTACT_EMAIL = env_str(
    "LEGALOPS_CUSTODIAN_CONTACT_EMAIL", "legal-process@localhost"
)
LEGALOPS_CUSTODIAN_CONTACT_PHONE = env_str("LEGALOPS_CUSTODIAN_CONTACT_PHONE", "")
LEGALOPS_PRESERVATION_DAYS = 90  # 18 U.S.C. 2703(f)(2): 90 days, renewable once more
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    # Shared by every process on the machine (unlike local memory), so throttles hold
    # across gunicorn workers even on the embedded default.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "legalops_cache",
        }
    }

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# No result backend: every task's state lives in our own tables.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# A worker that dies mid-task leaves the message unacknowledged, so it is redelivered;
# our attempt counter in the database ends a task that always kills its worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1500, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT")
# Redis redelivers an unacknowledged message after the visibility timeout: it must
# exceed the longest hard time limit or a long job would run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * max(CELERY_TASK_TIME_LIMIT, LEGALOPS_PACKAGE_TIME_LIMIT)
}
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "purge-expired-logs": {
        "task": "lookups.purge_logs",
        "schedule": float(env_int("LOOKUPS_PURGE_INTERVAL_SECONDS", 3600, minimum=60)),
    },
    "expire-preservations": {"task": "cases.preservations_expire", "schedule": 900.0},
    "sweep-stuck-packages": {"task": "disclosures.packages_sweep", "schedule": 300.0},
}

# --- Staff sign-in ---------------------------------------------------------------
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"
# Idle timeout: every request pushes the expiry forward, so a session ends after this
# many minutes without one (and when the browser closes).
LEGALOPS_SESSION_IDLE_MINUTES = env_int("LEGALOPS_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = LEGALOPS_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Repeated failed sign-ins from one address for one username are locked out for a while
# (django-axes, counted in the database so every process sees the same count).
AXES_FAILURE_LIMIT = env_int("LEGALOPS_SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LEGALOPS_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/auth/locked_out.html"
AXES_VERBOSE = False

# --- Security -------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "legal-process@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every rendering step at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
