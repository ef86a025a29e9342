"""The guard of every admin route."""

from functools import wraps

from flask import current_app
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import abort


def admin_required(fn):
    """A valid token of an active admin, checked against the database on every request; with
    MFA_REQUIRED_FOR_ADMINS, an admin who has no second factor yet must enrol one first."""

    @wraps(fn)
    @jwt_required()
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, message="This needs an administrator account.")
        if current_app.config["MFA_REQUIRED_FOR_ADMINS"] and not current_user.has_second_factor:
            abort(
                403,
                reason="mfa_enrolment_required",
                message="Administrators must turn on two-step verification (Security) before using admin pages.",
            )
        return fn(*args, **kwargs)

    return wrapper
