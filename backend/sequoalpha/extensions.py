"""Extensions, created unbound and bound to the app in create_app()."""

import time
from datetime import timedelta

from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

from .errors import Api


class Base(DeclarativeBase):
    # Named constraints so Alembic can alter them (SQLite batch mode included).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class VerifyingOnceJWTManager(JWTManager):
    """flask-jwt-extended decodes a token three times a request (claims, header, then verified):
    a tenth of a listing's CPU. A token string verified once (signature, algorithm, audience,
    issuer, CSRF value) stays verified under the same key and settings, so each worker keeps the
    claims of the last tokens it verified and, for the same string, checks only the expiry again.
    Revocation and the account state are still read on every request (accounts/tokens.py)."""

    CACHED_TOKENS = 4096

    def __init__(self):
        super().__init__()
        self._verified: dict[tuple, dict] = {}

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        leeway = jwt_config.leeway
        leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
        audience = jwt_config.decode_audience
        audience = tuple(audience) if isinstance(audience, list | set | tuple) else audience
        verified_by = (jwt_config.decode_key, tuple(jwt_config.decode_algorithms), audience, jwt_config.decode_issuer)
        key = (*verified_by, encoded_token, csrf_value, allow_expired)
        claims = self._verified.get(key)
        if claims is not None and (allow_expired or time.time() < claims.get("exp", float("inf")) + leeway):
            return dict(claims)  # a copy: the caller's claims are its own
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)  # raises when invalid
        if len(self._verified) >= self.CACHED_TOKENS:
            self._verified.clear()
        self._verified[key] = claims
        return dict(claims)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = VerifyingOnceJWTManager()
api = Api()


def upsert(model, dialect: str | None = None):
    """An INSERT that can take ON CONFLICT (SQLAlchemy spells it alike for PostgreSQL and SQLite),
    for `dialect` (by name; by default the session's)."""
    dialect = dialect or db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)
