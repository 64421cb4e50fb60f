"""Settings, read from the environment in this one place.

Defaults give the embedded mode (SQLite and kombu's filesystem broker, no server
needed); `DATABASE_URL` and `CELERY_BROKER_URL` switch to PostgreSQL and RabbitMQ.
"""

import ipaddress
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.secret_key import secret_key
from observability.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    # Empty counts as unset: docker-compose.yml passes `${NAME:-}` through.
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DJANGO_DEBUG")
# Demo mode unlocks demo users with a known password, the fault controls and
# plain HTTP; off, the app refuses a published or empty key and expects HTTPS.
DEMO_MODE = env_flag("DEMO_MODE")
SECRET_KEY = secret_key(os.environ, demo_mode=DEMO_MODE, var_dir=VAR_DIR)
# In demo mode these demo users may also use the controls that act for every
# organisation (relay and consumer pause, queue rewrites) and see the shared
# queues; otherwise only staff may (organisations/selectors.py is_operator).
DEMO_OPERATORS = [
    name for name in os.environ.get("DEMO_OPERATORS", "bob,carol").split(",") if name
]
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

# HTTPS, for a deployment behind a TLS-terminating proxy: on by default outside
# demo mode and DEBUG, so `check --deploy` is clean with only DJANGO_SECRET_KEY
# set; off in the demo, which serves plain HTTP on 127.0.0.1. Each can be set
# on its own (docs/operations.md#production-settings).
_https = not DEMO_MODE and not DEBUG
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", _https)
SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_flag("CSRF_COOKIE_SECURE", _https)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS") or (31_536_000 if _https else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", _https)
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", _https)
# Which request header says the proxy received HTTPS, e.g. "X-Forwarded-Proto"
# (value "https") or "X-Forwarded-Ssl=on". Unset, no header is trusted: set it
# only when the proxy overwrites that header on every request, or a client could
# claim HTTPS for a plain request.
if _proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    _name, _, _value = _proxy_header.partition("=")
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _name.strip().upper().replace("-", "_"),
        _value.strip() or "https",
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "observability",
    "events",
    "organisations",
    "payments",
    "ledger",
    "notifications",
    "reconciliation",
    "settlement",
    "bank_gateway",
    "api",
    "launcher",
    "web",
    "lab",
    "demo_bank",
]

MIDDLEWARE = [
    # First, so a request's time covers every other middleware (api/metrics.py).
    "api.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # First of ours: whatever the request publishes is caused by its id.
    "observability.request_id.RequestIdMiddleware",
    "api.middleware.RequestBodyLimitMiddleware",
    # Serves the app's own assets (Swagger UI, the demo's JS and CSS) under
    # gunicorn too: no CDN, no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "web.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that only the view is inside: a keyed POST's token read, claim
    # and effect are one transaction (api/keyed_requests.py).
    "api.keyed_requests.KeyedRequestTransactionMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        # Keep connections: a new PostgreSQL session per request or event cost
        # more CPU than the work itself (see docs/benchmark.md).
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app, the relay and the workers read while one writes;
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
    # deadlocking on a lock upgrade (SQLite's answer to SELECT ... FOR UPDATE).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements: psycopg prepares a statement once a connection has
    # run it DB_PREPARE_THRESHOLD times, and PostgreSQL then plans it once
    # instead of at every execution (planning was 40 % of the server's time
    # in the statements; docs/adr/0027-prepared-statements.md). Behind a
    # connection pooler that cannot carry them (PgBouncer in transaction mode
    # before 1.21), set DB_PREPARE_THRESHOLD=0.
    _prepare_threshold = int(os.environ.get("DB_PREPARE_THRESHOLD", "2"))
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": _prepare_threshold > 0,
        "prepare_threshold": _prepare_threshold or None,
        # Each session says which process it belongs to (pg_stat_activity,
        # the server's log with %a): the process list names every process.
        "application_name": os.environ.get("OTEL_SERVICE_NAME", "payments")[:63],
    }
# TEST_DB_SUFFIX keeps test databases apart when several test runs share a machine.
_test_suffix = os.environ.get("TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-db{_test_suffix}.sqlite3")
    }
elif _test_suffix:
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{_test_suffix}"
    }

# Django's own backends, each counting this process's commits for /metrics:
# the server counts them only per database (observability/db_commits.py).
_COUNTED_ENGINES = {
    "django.db.backends.postgresql": "config.db.postgresql",
    "django.db.backends.sqlite3": "config.db.sqlite3",
}
DATABASES["default"]["ENGINE"] = _COUNTED_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Find assets in the apps at request time, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Shared by every process on the host (gunicorn workers included), so rate
# limits count all of a client's requests; use Redis or Memcached across hosts.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# The SMTP backend's server; used only when EMAIL_BACKEND is the SMTP backend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL") == "1"
# Seconds any one SMTP operation may take: without it a mail server that stops
# answering holds the sender for ever (Django's default is no timeout).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
# Notification e-mails (notifications/emails.py): attempts before an e-mail is
# marked failed, the backoff between them, how long a claim lasts, how many
# e-mails one sweep pass claims, how often the worker sweeps.
NOTIFICATION_EMAIL_MAX_ATTEMPTS = int(
    os.environ.get("NOTIFICATION_EMAIL_MAX_ATTEMPTS", "8")
)
NOTIFICATION_EMAIL_RETRY_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_RETRY_SECONDS", "60")
)
NOTIFICATION_EMAIL_RETRY_MAX_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_RETRY_MAX_SECONDS", "3600")
)
NOTIFICATION_EMAIL_CLAIM_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_CLAIM_SECONDS", "300")
)
NOTIFICATION_EMAIL_BATCH_SIZE = int(
    os.environ.get("NOTIFICATION_EMAIL_BATCH_SIZE", "50")
)
# The worker's sender waits this long after a commit for more e-mails to send
# in the same pass (a claim and a mark per pass, not per e-mail).
NOTIFICATION_EMAIL_LINGER_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_LINGER_SECONDS", "0.1")
)
NOTIFICATION_EMAIL_SWEEP_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_SWEEP_SECONDS", "10")
)
# Who sends the e-mails: "worker", a thread of the notifications worker (and
# inline after commit elsewhere), or "mailer", the process of its own that
# docker-compose.yml runs (manage.py run_mailer): the worker then only records.
NOTIFICATION_EMAIL_SENDER = os.environ.get("NOTIFICATION_EMAIL_SENDER", "worker")
if NOTIFICATION_EMAIL_SENDER not in {"worker", "mailer"}:
    raise ImproperlyConfigured(
        "NOTIFICATION_EMAIL_SENDER must be 'worker' or 'mailer', not "
        f"{NOTIFICATION_EMAIL_SENDER!r}"
    )
# The mailer's poll on SQLite, which cannot NOTIFY it: how soon an e-mail leaves.
NOTIFICATION_EMAIL_POLL_SECONDS = float(
    os.environ.get("NOTIFICATION_EMAIL_POLL_SECONDS", "1")
)
DEFAULT_FROM_EMAIL = "payments@example.com"

# Which version of each event type payments publishes, e.g. `PaymentApproved=2`;
# a type not named is published in version 1. Switch a type only once every
# consumer reads the new version (an upcaster or a handler): expand, switch,
# contract; see docs/lessons/versioned-schemas.md.
EVENT_VERSIONS = {
    name.strip(): int(version)
    for name, _, version in (
        entry.partition("=")
        for entry in os.environ.get("EVENT_VERSIONS", "").split(",")
        if entry.strip()
    )
}

# Per-user write limit, e.g. "600/min"; off by default because the benchmark
# drives hundreds of writes per second.
WRITE_RATE_LIMIT = os.environ.get("WRITE_RATE_LIMIT") or None

# Sign-in: one backend for every door (web form, token endpoint, admin, sessions)
# throttles password attempts and refuses demo accounts outside demo mode.
AUTHENTICATION_BACKENDS = ["api.auth_backends.SignInBackend"]
LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:payments"
# Sign-in attempts, right or wrong, per client address and per username ("" = off).
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10/min")
AUTH_USER_RATE_LIMIT = os.environ.get("AUTH_USER_RATE_LIMIT", "10/min")
# Proxies (addresses or networks) whose X-Forwarded-For names the client; with
# none, the header is ignored, as anyone can send it.
TRUSTED_PROXIES = [
    entry.strip()
    for entry in os.environ.get("TRUSTED_PROXIES", "").split(",")
    if entry.strip()
]
# A typo fails at start rather than on every sign-in.
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as exc:
        raise ValueError(f"TRUSTED_PROXIES: {exc}") from None
for _name, _rate in (
    ("AUTH_RATE_LIMIT", AUTH_RATE_LIMIT),
    ("AUTH_USER_RATE_LIMIT", AUTH_USER_RATE_LIMIT),
):
    if _rate and not re.fullmatch(r"\d+/[smhd][a-z]*", _rate):
        raise ValueError(f"{_name} must look like 10/min, not {_rate!r}")
# An API token is refused this long after it was issued; the client obtains another.
API_TOKEN_TTL_HOURS = float(os.environ.get("API_TOKEN_TTL_HOURS", "24"))
if API_TOKEN_TTL_HOURS <= 0:
    raise ValueError("API_TOKEN_TTL_HOURS must be positive")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous call gets 401 with WWW-Authenticate.
        "api.auth_tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        # So a client that accepts only problem details is not refused with 406.
        "api.problems.ProblemJSONRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "write": WRITE_RATE_LIMIT,
    },
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payment workflow reference API",
    "DESCRIPTION": (
        "Commands (submit, approve, reject, cancel) change a payment and write its "
        "event to the outbox in one transaction. Every command accepts an "
        "Idempotency-Key (a settlement file's content is its own key); errors "
        "are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components (PaymentSubmitRequest), so a
    # generated client's models hold only what each direction carries.
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums are named after their field; these fields' names alone say too little.
    "ENUM_NAME_OVERRIDES": {
        "LedgerAccountKindEnum": "ledger.models.AccountKind",
        "RelayFailureStateEnum": ["failed", "backing_off"],
        "SettlementFileSourceEnum": "settlement.models.SettlementFileSource",
        "StatementLineDirectionEnum": "settlement.models.LineDirection",
        "StatementLineOutcomeEnum": "settlement.models.LineOutcome",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.problem_media_type_hook",
    ],
}

# How long a completed Idempotency-Key is kept (at least 24 hours, as promised).
IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "24"))
# How long a claim that a release before ADR 0024 committed on its own blocks a
# retry (during a rolling upgrade); this release's claims commit with their
# effect, so none outlives its request. Short is safe: an old request that
# outlives it cannot commit (its completion is fenced by the claim token).
IDEMPOTENCY_LEASE_SECONDS = int(os.environ.get("IDEMPOTENCY_LEASE_SECONDS", "10"))

# The largest request body read, API or form post; larger is a 413 before any of
# it is read. A payment command is well under 1 KiB. A view may declare that it
# takes more (the settlement file upload: SETTLEMENT_FILE_MAX_BYTES below).
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(64 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# The web app's /metrics: aggregate numbers only, served without sign-in like
# most exporters; off, it is a 404 (docs/operations.md#metrics-and-alerts).
WEB_METRICS = env_flag("WEB_METRICS", default=True)

# The content-addressed store (content_store/): bytes kept under their SHA-256.
# Its backend is the "content" storage below; an S3-compatible one (e.g.
# django-storages' S3Storage) is a change of that entry, not of the code.
CONTENT_STORE_DIR = Path(os.environ.get("CONTENT_STORE_DIR", VAR_DIR / "content"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "content": {
        "BACKEND": "content_store.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": str(CONTENT_STORE_DIR)},
    },
}

# Settlement files (settlement/): the largest statement received, the landing
# folder with one subfolder per organisation slug, and how often
# `receive_landing` looks into it. 64 MiB holds 50,000 camt.053 entries of up to
# 1.3 KB each: one with full transaction details is about 1.2 KB unindented,
# but 1.6 KB pretty-printed (75 MiB for 50,000), so a bank that indents may
# need more.
SETTLEMENT_FILE_MAX_BYTES = int(
    os.environ.get("SETTLEMENT_FILE_MAX_BYTES", str(64 * 1024 * 1024))
)
SETTLEMENT_LANDING_DIR = Path(
    os.environ.get("SETTLEMENT_LANDING_DIR", VAR_DIR / "landing")
)
SETTLEMENT_LANDING_POLL_SECONDS = float(
    os.environ.get("SETTLEMENT_LANDING_POLL_SECONDS", "1")
)

# The amount ceiling, in major units of the payment's currency.
PAYMENT_MAX_MAJOR_UNITS = int(os.environ.get("PAYMENT_MAX_MAJOR_UNITS", "1000000000"))

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: one folder of message files shared by every
    # process, and a control folder holding the exchange bindings on disk.
    _broker_dir = Path(os.environ.get("BROKER_DIR", VAR_DIR / "broker"))
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Workers look for new message files this often (kombu's default is 1 s).
        "polling_interval": float(os.environ.get("BROKER_POLL_SECONDS", "0.1")),
    }

# The consumers of the payment stream. Each gets its own queues; the relay and
# payments never name them. Unset: every consumer an installed app declares in
# its consumer.py (events/consumers.py; events/apps.py fills the list in at
# start). Set (comma-separated) to run only some of them.
EVENT_CONSUMERS: list[str] | None = [
    name for name in os.environ.get("EVENT_CONSUMERS", "").split(",") if name
] or None
# Partition queues per consumer; events of one debtor account share a partition.
EVENT_PARTITIONS = int(os.environ.get("EVENT_PARTITIONS", "4"))
# RabbitMQ's queue type for the consumers' queues: classic, or quorum (replicated
# by Raft; RabbitMQ's choice for data safety). A queue's type is fixed when it is
# first declared: see docs/operations.md#quorum-queues before switching.
EVENT_QUEUE_TYPE = os.environ.get("EVENT_QUEUE_TYPE", "classic").strip().lower()
if EVENT_QUEUE_TYPE not in ("classic", "quorum"):
    raise ImproperlyConfigured(
        f"EVENT_QUEUE_TYPE must be classic or quorum, not {EVENT_QUEUE_TYPE!r}"
    )

RELAY_BATCH_SIZE = int(os.environ.get("RELAY_BATCH_SIZE", "500"))
# The relay polls this often even when LISTEN/NOTIFY is quiet (SQLite always polls).
RELAY_POLL_SECONDS = float(os.environ.get("RELAY_POLL_SECONDS", "0.5"))
# A batch that was not full is marked by the next claim's transaction if the
# next commit comes within this long (one commit per cycle, not two); else by
# a claim of its own then. 0 marks every batch at once.
RELAY_MARK_WAIT_SECONDS = float(os.environ.get("RELAY_MARK_WAIT_SECONDS", "0.05"))
RELAY_BACKOFF_MAX_SECONDS = float(os.environ.get("RELAY_BACKOFF_MAX_SECONDS", "30"))
RELAY_CONFIRM_TIMEOUT_SECONDS = float(os.environ.get("RELAY_CONFIRM_TIMEOUT", "10"))
# A claim is the relay's for this long: it publishes and marks only within it
# (keep it well above RELAY_CONFIRM_TIMEOUT).
RELAY_CLAIM_LEASE_SECONDS = float(os.environ.get("RELAY_CLAIM_LEASE_SECONDS", "60"))
# Broker refusals (nack, unroutable) of one row before it fails and holds its
# partition; between refusals it waits 1 s, 2 s, 4 s, ... up to the cap.
RELAY_MAX_ATTEMPTS = int(os.environ.get("RELAY_MAX_ATTEMPTS", "10"))
RELAY_ROW_BACKOFF_MAX_SECONDS = float(
    os.environ.get("RELAY_ROW_BACKOFF_MAX_SECONDS", "300")
)
# Published outbox rows are kept this long for replay, then pruned.
OUTBOX_RETENTION_DAYS = int(os.environ.get("OUTBOX_RETENTION_DAYS", "7"))
# Applied inbox rows and delivery records (the consumers' history) are kept this
# long, longer than the outbox, so every replayable event still shows its story.
INBOX_RETENTION_DAYS = int(os.environ.get("INBOX_RETENTION_DAYS", "30"))
DELIVERY_RETENTION_DAYS = int(os.environ.get("DELIVERY_RETENTION_DAYS", "30"))
# run_housekeeping runs every prune this often.
HOUSEKEEPING_INTERVAL_MINUTES = float(
    os.environ.get("HOUSEKEEPING_INTERVAL_MINUTES", "10")
)

CONSUMER_MAX_RETRIES = int(os.environ.get("CONSUMER_MAX_RETRIES", "5"))
# Up to this many delivered events are applied in one transaction (ADR 0017);
# 1 applies each in its own, as a plain Celery task.
CONSUMER_BURST_SIZE = max(1, int(os.environ.get("CONSUMER_BURST_SIZE", "50")))
# Tasks a worker runs on one database connection before it opens a fresh one.
CONSUMER_DB_REUSE_MAX = int(os.environ.get("CONSUMER_DB_REUSE_MAX", "1000"))
# A worker holds an event (and so its partition's order) while the database is
# away; after this long it logs an ERROR, and holds on.
CONSUMER_DATABASE_WAIT_SECONDS = float(
    os.environ.get("CONSUMER_DATABASE_WAIT_SECONDS", "300")
)
# How often a worker looks for parked events whose gap has filled but whose
# release was lost (a crash between the commit and the re-send), and how many
# it applies per look.
CONSUMER_PARKED_SWEEP_SECONDS = float(
    os.environ.get("CONSUMER_PARKED_SWEEP_SECONDS", "10")
)
CONSUMER_PARKED_SWEEP_BATCH = int(os.environ.get("CONSUMER_PARKED_SWEEP_BATCH", "100"))
CONSUMER_RETRY_BACKOFF_SECONDS = float(os.environ.get("CONSUMER_RETRY_BACKOFF", "0.5"))
CONSUMER_RETRY_BACKOFF_MAX_SECONDS = float(
    os.environ.get("CONSUMER_RETRY_BACKOFF_MAX", "30")
)

# Where the flow view links each event's trace, `{trace_id}` filled in, e.g.
# http://localhost:16686/trace/{trace_id} for the compose file's Jaeger.
TRACING_UI_URL = os.environ.get("TRACING_UI_URL", "")

# LOG_FORMAT=json: one JSON object per line with trace and event ids
# (observability/logs.py); the compose file sets it, the embedded demo does not.
LOGGING = logging_config(
    os.environ.get("LOG_FORMAT", "plain"), os.environ.get("LOG_LEVEL", "INFO")
)

# The bank gateway (bank_gateway/): how often the cut-off puts waiting
# releases into a pain.001 file per debtor account, and where the files are
# handed to the bank (its inbound folder; the demo's simulated bank reads it).
BANK_RELEASE_CUTOFF_SECONDS = float(os.environ.get("BANK_RELEASE_CUTOFF_SECONDS", "5"))
BANK_FILE_MAX_TRANSFERS = int(os.environ.get("BANK_FILE_MAX_TRANSFERS", "1000"))
BANK_INBOUND_DIR = Path(
    os.environ.get("BANK_INBOUND_DIR", VAR_DIR / "bank" / "inbound")
)
# The demo's simulated bank (demo_bank/, demo mode only): how often it answers
# the transfer files it received with a camt.053 statement.
BANK_STATEMENT_SECONDS = float(os.environ.get("BANK_STATEMENT_SECONDS", "5"))
# Settlement processing: statement lines stored and matched per batch.
SETTLEMENT_LINE_BATCH = int(os.environ.get("SETTLEMENT_LINE_BATCH", "1000"))
