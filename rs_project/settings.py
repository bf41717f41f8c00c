"""The one settings module. Everything that differs between machines comes from the environment
(django-environ); `.env.example` lists every variable with its default."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is read when present (never committed); real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("RS_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
MODEL_DIR = Path(env.str("RS_MODEL_DIR", default=str(DATA_DIR / "models"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("RS_SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("RS_DEBUG", default=False)
ALLOWED_HOSTS = env.list("RS_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("RS_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "products",
    "feedback",
    "modelstore",
    "recommendations",
    "store",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestDeadlineMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rs_project.urls"
WSGI_APPLICATION = "rs_project.wsgi.application"

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
            ],
        },
    },
]

# --- Databases: one per documented storage -----------------------------------------------
# Each alias reads its own URL; unset, it is a SQLite file under RS_DATA_DIR (the embedded
# default). Production is one PostgreSQL server with one database per alias.
DATABASE_ALIASES = ("default", "products", "feedback", "modelstore", "similarity")
# Bounded waits (PostgreSQL): seconds to open a connection; seconds a statement may run (the
# server cancels it); the same for the trainer's and the migrations' sessions, whose long
# statements (millions of neighbour rows) are expected.
DATABASE_CONNECT_TIMEOUT = env.float("RS_DB_CONNECT_TIMEOUT", default=3.0)
DATABASE_STATEMENT_TIMEOUT = env.float("RS_DB_STATEMENT_TIMEOUT", default=30.0)
DATABASE_TRAINER_STATEMENT_TIMEOUT = env.float("RS_DB_TRAINER_STATEMENT_TIMEOUT", default=3600.0)
# In a server process (rs_project/wsgi.py), how long an API request may wait on its databases in
# all before it answers 503, and how long any other wait for a database's answer may last.
REQUEST_DATABASE_DEADLINE = env.float("RS_REQUEST_TIMEOUT", default=5.0)
DATABASE_ANSWER_TIMEOUT = DATABASE_STATEMENT_TIMEOUT + 5.0 if DATABASE_STATEMENT_TIMEOUT > 0 else None


def _database(alias: str) -> dict:
    variable = f"RS_{alias.upper()}_DATABASE_URL"
    config = env.db_url(variable, default=f"sqlite:///{DATA_DIR / (alias + '.sqlite3')}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the server read while the trainer writes; the timeout rides out short locks.
        config.setdefault("OPTIONS", {}).update(
            {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
        )
    else:
        config["CONN_MAX_AGE"] = env.int("RS_DB_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        options = config.setdefault("OPTIONS", {})
        # A server that does not complete the connection in time is an error, not a hang (libpq
        # counts whole seconds, at least 2); a statement that runs longer is cancelled by the
        # server; keepalives and the TCP user timeout end a connection whose peer vanished (no
        # answer to the kernel), which no statement timeout can.
        options.setdefault("connect_timeout", max(2, round(DATABASE_CONNECT_TIMEOUT)))
        if "statement_timeout" not in options.get("options", ""):
            statement = f"-c statement_timeout={round(DATABASE_STATEMENT_TIMEOUT * 1000)}"
            options["options"] = f"{options.get('options', '')} {statement}".strip()
        options.setdefault("keepalives", 1)
        options.setdefault("keepalives_idle", 10)
        options.setdefault("keepalives_interval", 5)
        options.setdefault("keepalives_count", 3)
        options.setdefault("tcp_user_timeout", 15_000)
    config["TEST"] = {"NAME": None}
    return config


DATABASES = {alias: _database(alias) for alias in DATABASE_ALIASES}
DATABASE_ROUTERS = ["rs_project.db_router.AppDatabaseRouter"]
# Which database holds each app's tables; the router is driven by this mapping alone.
DATABASE_APPS_MAPPING = {
    "products": "products",
    "feedback": "feedback",
    "modelstore": "modelstore",
    "recommendations": "similarity",
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Staff logins (admin and dashboard pages) go through a backend that refuses a user name after
# too many failed attempts (core.throttling); wrong API tokens are throttled the same way.
AUTHENTICATION_BACKENDS = ["core.throttling.ThrottledModelBackend"]
RS_LOGIN_FAILURE_LIMIT = env.int("RS_LOGIN_FAILURE_LIMIT", default=5)
RS_TOKEN_FAILURE_LIMIT = env.int("RS_TOKEN_FAILURE_LIMIT", default=20)
RS_THROTTLE_WINDOW_SECONDS = env.int("RS_THROTTLE_WINDOW_SECONDS", default=900)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/admin/login/"

# --- Cache (category-list results) -----------------------------------------------------
RS_CACHE_SIZE = env.int("RS_CACHE_SIZE", default=1000)
_cache_url = env.str("RS_CACHE_URL", default="")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
else:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FileCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": RS_CACHE_SIZE},
        }
    }

# --- API ---------------------------------------------------------------------------------
RS_API_TOKEN = env.str("RS_API_TOKEN", default="")
# Largest accepted request body; bigger ones answer 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("RS_MAX_BODY_BYTES", default=10 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- OpenAPI schema (/api/schema/) and its browsable UI, served from this host (no CDN) -------
SPECTACULAR_SETTINGS = {
    "TITLE": "Recommender service API",
    "DESCRIPTION": (
        "The HTTP API of the recommender: the store API the shop's backend sends its catalogue and events to, "
        "the predictions, the dashboard figures and the Prometheus metrics. With RS_API_TOKEN set, every "
        "operation but GET / needs `Authorization: Bearer <token>`."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": ["core.auth.ApiTokenAuthentication", "rest_framework.authentication.SessionAuthentication"],
    "SERVE_PERMISSIONS": ["core.auth.HasApiTokenOrStaff"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Enums stay inline (no enum components): each is the registry's list where it is used.
    "POSTPROCESSING_HOOKS": ["store.openapi.discriminator_add"],
}

# Recommender options that are not part of the versioned, dashboard-editable config.
RECOMMENDER = {
    "MAX_LIMIT": env.int("RS_MAX_LIMIT", default=1000),
    # How often a server process checks for a new config version, model identifier or catalogue
    # change (seconds); 0 checks on every request.
    "STATE_CHECK_SECONDS": env.float("RS_STATE_CHECK_SECONDS", default=1.0),
    # Write prediction results from a background thread in batches instead of in the request.
    "ASYNC_PREDICTION_LOG": env.bool("RS_ASYNC_PREDICTION_LOG", default=True),
}

# --- Logging: one line per record, machine-readable keys ----------------------------------
LOG_LEVEL = env.str("RS_LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s level=%(levelname)s logger=%(name)s pid=%(process)d %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
