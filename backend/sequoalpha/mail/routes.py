"""The admin mail panel: the outbox, newest first, filtered by status."""

from flask_smorest import Blueprint
from sqlalchemy import select

from ..accounts.guard import admin_required
from ..models import OutboxMessage
from ..pagination import paginate
from ..schemas.mail import MailPageSchema, MailQuerySchema

blp = Blueprint("mail", __name__, url_prefix="/api/admin/mail", description="Outgoing e-mail (admin)")


@blp.get("")
@admin_required
@blp.arguments(MailQuerySchema, location="query")
@blp.response(200, MailPageSchema)
def list_mail(args):
    """Messages in the outbox (pending, sent, failed with the last error), newest first."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if "status" in args:
        stmt = stmt.where(OutboxMessage.status == args["status"])
    return paginate(stmt, args["page"], args["per_page"])
