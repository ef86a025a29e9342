"""Admin route for the audit trail."""
from sqlalchemy import select

from ..accounts.guard import admin_required
from ..models import AuditEvent
from ..pagination import paginate
from ..schemas.accounts import AuditPageSchema, AuditQuerySchema
from . import blp


@blp.get("/audit")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args):
    """The audit trail, newest first, filtered by action, actor, document or target user."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for field in ("action", "actor_id", "document_id", "target_user_id"):
        if field in args:
            stmt = stmt.where(getattr(AuditEvent, field) == args[field])
    return paginate(stmt, args["page"], args["per_page"])
