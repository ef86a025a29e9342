"""SequoAlpha: the client document portal (application factory)."""

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from . import body_limits, cli, connections, errors, security  # noqa: F401 -- connections: pool events
from .config import BACKEND_DIR, load_config
from .extensions import api, db, jwt, migrate
from .schemas.accounts import MfaChallengeSchema
from .schemas.fields import MAX_ID


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests)."""
    app = Flask(__name__, static_folder=None)
    app.url_map.converters["int"] = IdConverter
    app.config.from_mapping(load_config(config))
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    if not app.debug:
        app.logger.setLevel(logging.INFO)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BACKEND_DIR / "migrations"), render_as_batch=True)
    jwt.init_app(app)
    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": SECURITY_SCHEMES},
            "security": [{name: []} for name in SECURITY_SCHEMES],  # public routes opt out
        },
    )

    from . import admin, health, site
    from .accounts import mfa, passkeys, resets  # noqa: F401 -- passkeys' routes join mfa.blp
    from .accounts import routes as accounts
    from .admin import audit_log, groups, readers, user_actions, users  # noqa: F401 -- their routes join admin.blp
    from .documents import admin_routes, categories, versions  # noqa: F401 -- joins admin_routes.blp
    from .documents import routes as documents
    from .mail import routes as mail_routes

    for blueprint in (
        health.blp,
        accounts.blp,
        mfa.blp,
        resets.blp,
        categories.blp,
        admin.blp,
        documents.blp,
        admin_routes.blp,
        mail_routes.blp,
    ):
        api.register_blueprint(blueprint)
    api.spec.components.schema("MfaChallenge", schema=MfaChallengeSchema)  # one of POST /api/login's answers
    if app.config["ENV_MODE"] != "production":  # in production Nginx serves the site
        app.register_blueprint(site.bp)
    errors.init_app(app)
    security.init_app(app)
    body_limits.init_app(app)
    cli.init_app(app)
    if app.config["MAIL_WORKER_THREAD"] and not app.testing:
        from .mail.worker import start_thread

        start_thread(app)
    return app


class IdConverter(IntegerConverter):
    """`<int:…_id>` in routes, documented as at most MAX_ID. A larger number names nothing: it
    reaches the view as 0 (no row has it), so the answer is the usual 404 after the usual auth
    checks, instead of a database overflow. (Refusing it in the converter would make Werkzeug
    answer 405 for some methods.)"""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("0")) > len(str(self.max)):  # int() refuses past 4,300 digits
            return 0
        number = int(value)
        return number if number <= self.max else 0


SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"},
}


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record):
    """SQLite enforces foreign keys (ON DELETE CASCADE / SET NULL) only when asked."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
