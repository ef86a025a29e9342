"""Settings read from the environment (and backend/.env), checked before the app starts."""

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BACKEND_DIR.parent
INSTANCE_DIR = BACKEND_DIR / "instance"
PRESIGN_MAX_SECONDS = 300  # the longest life of a presigned download URL


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message is one line for the operator."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret(name: str) -> str:
    """A development secret generated once and kept in backend/instance/."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / f"{name.lower()}.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def database_url(url: str) -> str:
    """postgresql:// (and postgres://) with the driver we ship, psycopg 3: it prepares a statement
    on the server once a connection has run it a few times, which spares PostgreSQL planning the
    list's statement (half its cost) on every request."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config from the environment, then apply `overrides` (tests)."""
    load_dotenv(BACKEND_DIR / ".env")
    env = os.environ
    overrides = overrides or {}
    mode = overrides.get("ENV_MODE", env.get("SEQUOALPHA_ENV", "development")).strip().lower()
    production = mode == "production"
    max_mb = int(env.get("MAX_UPLOAD_MB", "50"))
    cfg = {
        "ENV_MODE": mode,
        "SQLALCHEMY_DATABASE_URI": database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'sequoalpha.db'}"
        ),
        # No pool_pre_ping round trip per request: connections.py pings idle connections only.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SECRET_KEY": env.get("SECRET_KEY") or (None if production else _dev_secret("SECRET_KEY")),
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or (None if production else _dev_secret("JWT_SECRET_KEY")),
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or str(BACKEND_DIR / "uploads"),
        "MAX_UPLOAD_MB": max_mb,
        # Flask refuses bodies over this; multipart overhead gets a little room.
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024 + 64 * 1024,
        "S3_BUCKET": env.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "AWS_REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "S3_PRESIGN_SECONDS": min(int(env.get("S3_PRESIGN_SECONDS", str(PRESIGN_MAX_SECONDS))), PRESIGN_MAX_SECONDS),
        "S3_KEEP_LOCAL_COPY": _bool(env.get("S3_KEEP_LOCAL_COPY"), True),
        "STORAGE_MODE": (env.get("STORAGE_MODE") or "fallback").strip().lower(),
        "X_ACCEL_PREFIX": env.get("X_ACCEL_PREFIX") or None,
        "TRUSTED_PROXIES": [p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()],
        "BCRYPT_ROUNDS": int(env.get("BCRYPT_ROUNDS", "12")),
        "STATIC_ROOT": str(REPO_ROOT),
        # PUBLIC_URL (links in e-mails, the WebAuthn relying party and origin) and outgoing mail
        **mail_settings(env, production),
        # Second factor
        "MFA_TOKEN_SECONDS": int(env.get("MFA_TOKEN_SECONDS", "300")),
        "MFA_REQUIRED_FOR_ADMINS": _bool(env.get("MFA_REQUIRED_FOR_ADMINS"), production),
        # Sessions (flask-jwt-extended)
        "JWT_TOKEN_LOCATION": ["headers", "cookies"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=15),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=1),
        "JWT_COOKIE_SECURE": _bool(env.get("COOKIE_SECURE"), production),
        "JWT_COOKIE_SAMESITE": "Strict",
        "JWT_COOKIE_CSRF_PROTECT": True,
        "JWT_ACCESS_COOKIE_PATH": "/api/",
        "JWT_REFRESH_COOKIE_PATH": "/api/token/refresh",
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        # OpenAPI (flask-smorest)
        "API_TITLE": "SequoAlpha",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    cfg.update(overrides)
    cfg["SQLALCHEMY_DATABASE_URI"] = database_url(cfg["SQLALCHEMY_DATABASE_URI"])
    check_storage_mode(cfg)
    if cfg["ENV_MODE"] == "production":
        check_production(cfg)
    return cfg


STORAGE_MODES = ("fallback", "s3-only")


def check_storage_mode(cfg: dict) -> None:
    """s3-only (several app hosts) has no local store to fall back on: it needs a bucket."""
    if cfg["STORAGE_MODE"] not in STORAGE_MODES:
        raise ConfigError(f"STORAGE_MODE must be one of {', '.join(STORAGE_MODES)}, not {cfg['STORAGE_MODE']!r}")
    if cfg["STORAGE_MODE"] == "s3-only" and not cfg.get("S3_BUCKET"):
        raise ConfigError("STORAGE_MODE=s3-only needs S3_BUCKET (S3 is the only store)")


def check_production(cfg: dict) -> None:
    """Refuse weak or missing secrets in production, with a one-line reason."""
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = cfg.get(name)
        if not value:
            raise ConfigError(f"{name} is not set (required when SEQUOALPHA_ENV=production)")
        if len(value.encode()) < 32:
            raise ConfigError(f"{name} is shorter than 32 bytes")
    if cfg["SECRET_KEY"] == cfg["JWT_SECRET_KEY"]:
        raise ConfigError("SECRET_KEY and JWT_SECRET_KEY must differ")
    if cfg["BCRYPT_ROUNDS"] < 12:
        raise ConfigError("BCRYPT_ROUNDS must be at least 12 in production")
    if not cfg.get("PUBLIC_URL"):
        raise ConfigError(
            "PUBLIC_URL is not set (required when SEQUOALPHA_ENV=production), "
            "e.g. PUBLIC_URL=https://portal.example.com"
        )


MAIL_BACKENDS = ("console", "smtp")
SMTP_SECURITY = ("starttls", "ssl", "none")


def mail_settings(env, production: bool) -> dict:
    """Outgoing mail and the links in it (sequoalpha.mail). PUBLIC_URL has no development
    default in production: a wrong host in an invitation link cannot be recalled."""
    public_url = (env.get("PUBLIC_URL") or "").strip().rstrip("/")
    if not public_url and not production:
        public_url = f"http://localhost:{env.get('PORT') or '8000'}"
    if public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", public_url):
        raise ConfigError(f"PUBLIC_URL must be an http(s) address without query or fragment, not {public_url!r}")
    backend = (env.get("MAIL_BACKEND") or "console").strip().lower()
    if backend not in MAIL_BACKENDS:
        raise ConfigError(f"MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}")
    security = (env.get("SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}")
    return {
        "PUBLIC_URL": public_url or None,
        "FIRM_NAME": (env.get("FIRM_NAME") or "SequoAlpha").strip(),
        "MAIL_BACKEND": backend,
        "MAIL_FROM": (env.get("MAIL_FROM") or "noreply@localhost").strip(),
        "MAIL_DIR": env.get("MAIL_DIR") or str(INSTANCE_DIR / "mail"),
        "SMTP_HOST": env.get("SMTP_HOST") or "localhost",
        "SMTP_PORT": int(env.get("SMTP_PORT") or (465 if security == "ssl" else 587)),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_SECURITY": security,
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT") or 20),
        "MAIL_MAX_ATTEMPTS": max(1, int(env.get("MAIL_MAX_ATTEMPTS") or 8)),
        # First retry after this many seconds, then doubling (API.md: within 60 s).
        "MAIL_RETRY_SECONDS": float(env.get("MAIL_RETRY_SECONDS") or 30),
        # A claimed message not marked sent after this long (its worker died) is tried again.
        "MAIL_LEASE_SECONDS": float(env.get("MAIL_LEASE_SECONDS") or 300),
        # A user's new-document notices are gathered this long from the first, then sent as one e-mail.
        "NOTIFY_DIGEST_MINUTES": max(0.0, float(env.get("NOTIFY_DIGEST_MINUTES") or 10)),
        "MAIL_POLL_SECONDS": min(float(env.get("MAIL_POLL_SECONDS") or 1), 2.0),
        # Set by `./manage.sh dev` only: the development server runs a mail worker thread.
        "MAIL_WORKER_THREAD": _bool(env.get("SEQUOALPHA_MAIL_WORKER_THREAD"), False),
    }
