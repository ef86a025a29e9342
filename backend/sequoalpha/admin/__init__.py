"""Administration of accounts: `users`, `groups` and the `audit_log`, all under /api/admin on
one blueprint (the document and category routes add theirs from documents/)."""

from flask_smorest import Blueprint

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Administration")
