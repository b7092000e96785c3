"""Configuration read from the environment.

Every setting has a safe default for development; production refuses to start without a real
SECRET_KEY. Select a class with ``create_app(ProductionConfig)`` or through ``ASSESS_CONFIG``
(``development``, ``testing``, ``production``) when the app is built by ``wsgi.py``.
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEV_SECRET = "dev-only-insecure-secret-key"  # noqa: S105 - refused outside development/testing


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Config:
    """Base configuration: every value can be overridden from the environment."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", sqlite_url(INSTANCE_DIR / "assess.db")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 10_000)
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # Background jobs (RQ) on REDIS_URL: the talent map of more people than this is computed by
    # `flask --app wsgi jobs worker` instead of inside the admin's request.
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "assess")
    TALENT_INLINE_LIMIT = _env_int("TALENT_INLINE_LIMIT", 5_000)

    # Sessions: signed cookie, idle timeout (refreshed on every request).
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 30))
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_NAME = "assess_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Static files are requested with ?v=<content hash> (web.static_version), so browsers may keep
    # them for a year: a question page on a slow line then costs only its own HTML.
    SEND_FILE_MAX_AGE_DEFAULT = _env_int("STATIC_MAX_AGE_SECONDS", 365 * 24 * 3600)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600  # a long test may sit on one page for hours

    # Sign-in throttling (Flask-Limiter syntax). Storage: Redis when REDIS_URL is set.
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 5 minutes")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes")
    # Concurrent password checks per process, and how long a sign-in waits for a free slot.
    LOGIN_CONCURRENCY = _env_int("LOGIN_CONCURRENCY", 2)
    LOGIN_WAIT_SECONDS = float(os.environ.get("LOGIN_WAIT_SECONDS", "3"))

    # Saves already in flight when the deadline passes are accepted for this many seconds.
    DEADLINE_GRACE_SECONDS = _env_int("DEADLINE_GRACE_SECONDS", 15)
    # Overrides of the review flag thresholds (assess/services/flags.py DEFAULTS), as JSON.
    REVIEW_THRESHOLDS = json.loads(os.environ.get("REVIEW_THRESHOLDS", "{}") or "{}")

    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "id")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta")
    LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "assess" / "translations")

    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)  # number of proxies in front (X-Forwarded-For)

    @classmethod
    def database_uri(cls) -> str:
        return cls.SQLALCHEMY_DATABASE_URI


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False  # `flask run --debug` turns the debugger on explicitly


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///:memory:")
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
    RATELIMIT_ENABLED = True
    REDIS_URL = ""
    # Test accounts are hashed with a small scrypt work factor (n = 2^10 instead of 2^15): the
    # hash format carries its parameters, so checking works the same; never set in production.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls) -> None:
        secret = os.environ.get("SECRET_KEY", "")
        if not secret or secret == DEV_SECRET or len(secret) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in "
                "production (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        cls.SECRET_KEY = secret


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("ASSESS_CONFIG", "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"ASSESS_CONFIG={name!r} is not one of {', '.join(sorted(CONFIGS))}"
        ) from None
