"""GET /api/health: is the database reachable, and which stores can serve files."""

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .documents.storage import storage_health
from .extensions import db
from .schemas.health import HealthSchema

blp = Blueprint("health", __name__, url_prefix="/api", description="Health")


@blp.get("/health")
@blp.doc(security=[])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
def health():
    """Liveness and dependencies; 503 when the database is unreachable."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("health: database unavailable: %s", type(exc).__name__)
        database = "unavailable"
    body = {
        "status": "ok" if database == "ok" else "unavailable",
        "database": database,
        "storage": storage_health(),
    }
    return body, 200 if database == "ok" else 503
