"""The guard of every admin route."""
from functools import wraps

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import abort


def admin_required(fn):
    """A valid token of an active admin, checked against the database on every request."""

    @wraps(fn)
    @jwt_required()
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, message="This needs an administrator account.")
        return fn(*args, **kwargs)

    return wrapper
