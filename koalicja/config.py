"""Configuration from environment variables (documented in README.md)."""
import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """Raised at startup when the environment cannot run the app safely."""


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "tak"}


def _env_count(name, default=0):
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number of 0 or more, not {value!r}.")
    return int(value)


def _development_secret_key(instance_path):
    """A per-checkout key kept in instance/, so e-mailed links survive a restart of `make run`."""
    key_file = Path(instance_path) / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


def load_config(app, test_config=None):
    env = os.environ.get("KOALICJA_ENV", "production").strip().lower()
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    smtp_host = os.environ.get("SMTP_HOST", "")
    app.config.from_mapping(
        KOALICJA_ENV=env,
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance / 'koalicja.sqlite'}",
        BASE_URL=os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        MAIL_BACKEND=os.environ.get("MAIL_BACKEND") or ("smtp" if smtp_host else "file"),
        MAIL_OUTBOX_DIR=os.environ.get("MAIL_OUTBOX_DIR", str(instance / "outbox")),
        # Uploaded coalition logos (public) live outside static/, like everything people upload.
        LOGO_FOLDER=os.environ.get("LOGO_FOLDER", str(instance / "logos")),
        # Scans of paper signatures: personal data, outside static/, served only through the panel.
        SCAN_FOLDER=os.environ.get("SCAN_FOLDER", str(instance / "scans")),
        SCAN_MAX_BYTES=int(os.environ.get("SCAN_MAX_BYTES", str(10 * 1024 * 1024))),
        MAIL_FROM=os.environ.get("MAIL_FROM", "Koalicja <koalicja@localhost>"),
        MAIL_MAX_ATTEMPTS=int(os.environ.get("MAIL_MAX_ATTEMPTS", "12")),
        # send-mail takes this many messages at a time, over one SMTP connection, and holds them
        # for at most MAIL_CLAIM_SECONDS (renewed while it works) before another sender may.
        MAIL_BATCH_SIZE=int(os.environ.get("MAIL_BATCH_SIZE", "100")),
        MAIL_CLAIM_SECONDS=int(os.environ.get("MAIL_CLAIM_SECONDS", "300")),
        SMTP_HOST=smtp_host,
        SMTP_PORT=int(os.environ.get("SMTP_PORT", "587")),
        SMTP_USER=os.environ.get("SMTP_USER", ""),
        SMTP_PASSWORD=os.environ.get("SMTP_PASSWORD", ""),
        SMTP_STARTTLS=_env_bool("SMTP_STARTTLS", default=True),
        SMTP_TIMEOUT=float(os.environ.get("SMTP_TIMEOUT", "15")),
        CONFIRM_TOKEN_MAX_AGE_DAYS=float(os.environ.get("CONFIRM_TOKEN_MAX_AGE_DAYS", "7")),
        PURGE_AFTER_DAYS=int(os.environ.get("PURGE_AFTER_DAYS", "14")),
        # How many reverse proxies stand in front and set X-Forwarded-For/-Proto (koalicja/proxies.py).
        TRUSTED_PROXIES=_env_count("TRUSTED_PROXIES"),
        # Limits and the login lock-out are counted here; several processes must share one
        # storage (redis://…), or each counts on its own (check_shared_limits below).
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        RATELIMIT_ENABLED=_env_bool("RATELIMIT_ENABLED", default=True),
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis down: each process counts in its own memory until Redis answers again (checked
        # again with growing pauses), so signing and logging in go on and are still limited,
        # per process. Any other storage error lets the request through and is logged.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        BOT_TRAP_ENABLED=_env_bool("BOT_TRAP_ENABLED", default=True),
        # argon2-cffi's profile for coordinators' passwords (RFC 9106's second recommendation,
        # 64 MiB and 3 passes; argon2-cffi's default). The tests use "CHEAPEST".
        PASSWORD_HASH_PROFILE=os.environ.get("PASSWORD_HASH_PROFILE", "RFC_9106_LOW_MEMORY"),
        ALLIES_PER_PAGE=50,
        BABEL_DEFAULT_LOCALE="pl",
        BABEL_DEFAULT_TIMEZONE="Europe/Warsaw",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        SQLALCHEMY_ENGINE_OPTIONS={},
    )
    if test_config:
        app.config.update(test_config)
    # A database server may drop idle connections (restart, failover): test each one as it leaves
    # the pool. An SQLite file has nothing to drop, so the test would be one more query per request.
    engine_options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"] or {})
    engine_options.setdefault("pool_pre_ping", not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    # No request may be bigger than the largest upload plus the form around it; a bigger one
    # gets the 413 page before anything is read. A scan just over its own limit still fits,
    # so the form can say what is wrong next to the field.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["SCAN_MAX_BYTES"] + 1024 * 1024

    # Cookies travel only over HTTPS when the site is served over HTTPS.
    https = app.config["BASE_URL"].startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https

    storage = app.config["RATELIMIT_STORAGE_URI"]
    if storage.startswith(("redis://", "rediss://", "redis+unix://")) and "RATELIMIT_STORAGE_OPTIONS" not in app.config:
        # An unreachable Redis must not hold a request for long: fail fast, then fall back.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    check_shared_limits(app.config, int(os.environ.get(WEB_WORKERS_VARIABLE) or 1))

    if not app.config["SECRET_KEY"]:
        if app.config["KOALICJA_ENV"] in {"development", "testing"} or app.testing:
            app.config["SECRET_KEY"] = _development_secret_key(instance)
        else:
            raise ConfigError(
                "SECRET_KEY is not set. Production needs a long random secret, e.g. "
                "`export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')`. "
                "For local development run `make run` (it sets KOALICJA_ENV=development)."
            )


# Set by koalicja/gunicorn_conf.py (on_starting) to the number of gunicorn workers.
WEB_WORKERS_VARIABLE = "KOALICJA_WEB_WORKERS"


def check_shared_limits(config, workers):
    """Production refuses to count limits in each worker's memory when there are several workers.

    With `memory://` every gunicorn worker keeps its own counts: two workers let through twice
    the signings, and twice the password guesses before the lock-out. Raises ConfigError.
    """
    if workers <= 1 or config.get("KOALICJA_ENV") != "production" or not config.get("RATELIMIT_ENABLED"):
        return
    if not str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        return
    raise ConfigError(
        f"RATELIMIT_STORAGE_URI is memory:// but gunicorn runs {workers} workers: each would count "
        "signings and login attempts on its own, so the limits and the login lock-out would let "
        f"{workers} times as much through. Set RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 "
        "(Debian's redis-server; the same Redis for every app server), or run one worker (GUNICORN_WORKERS=1)."
    )
