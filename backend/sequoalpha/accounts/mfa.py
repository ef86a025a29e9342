"""The second factor's routes: TOTP enrolment, recovery codes, turning it off, the sign-in's second
step, and the admin reset (see `reset_factors`). Passkeys add theirs in passkeys.py."""

from flask_jwt_extended import get_current_user, jwt_required
from flask_smorest import Blueprint, abort

from .. import audit
from ..extensions import db
from ..mail import messages
from ..mail.outbox import enqueue
from ..models import User, utcnow
from ..schemas.accounts import LoginResponseSchema
from ..schemas.mfa import CodeSchema, MfaDisableSchema, MfaLoginSchema, RecoveryCodesSchema, TotpEnrolmentSchema
from . import totp
from .lockout import claim_attempt
from .passwords import check_password
from .routes import signed_in
from .tokens import read_mfa_token, spend_mfa_token

blp = Blueprint("mfa", __name__, url_prefix="/api", description="Second factor: TOTP, recovery codes, passkeys")

WRONG_CODE = "This code is wrong or has already been used."
SIGN_IN_EXPIRED = "This sign-in has expired or was already completed; sign in again."


def _refuse_wrong_code(user: User, where: str, status: int) -> None:
    """A wrong code (already counted towards the account's lock by `_second_factor`)."""
    audit.record("mfa_failed", user, target_user_id=user.id, detail={"reason": "wrong code", "at": where})
    db.session.commit()
    if status == 401:
        abort(401, message=WRONG_CODE)
    abort(422, message=WRONG_CODE, errors={"json": {"code": [WRONG_CODE]}})


def _second_factor(user: User, code: str, where: str, status: int = 422) -> str:
    """The method `code` passed as ("totp" or "recovery_code"); a wrong code is refused. The
    attempt is counted before the code is checked, as a password's is, so concurrent guesses get
    no more checks than the lock allows; a right code clears the count."""
    claim_attempt(user, "mfa_failed", user, detail={"reason": "locked", "at": where})
    method = totp.check_code(user, code)
    if method is None:
        _refuse_wrong_code(user, where, status)
    user.failed_logins, user.locked_until = 0, None
    return method


def _active_totp(user: User) -> None:
    if not user.totp_active:
        abort(409, message="Two-step verification with an authenticator app is not turned on.")


# --- enrolment ---------------------------------------------------------------------------


@blp.post("/me/mfa/totp")
@jwt_required()
@blp.response(200, TotpEnrolmentSchema)
@blp.alt_response(409, description="TOTP is already active")
def start_totp():
    """Start enrolling an authenticator app: a new secret, its otpauth URI and QR code (SVG).
    Nothing is active until `POST /api/me/mfa/totp/confirm`."""
    user = get_current_user()
    if user.totp_active:
        abort(409, message="Two-step verification is already on; turn it off first to enrol a new app.")
    enrolment = totp.start_enrolment(user)
    db.session.commit()
    return enrolment


@blp.post("/me/mfa/totp/confirm")
@jwt_required()
@blp.arguments(CodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(409, description="No enrolment pending")
def confirm_totp(data):
    """Turn TOTP on with a code from the app; answers the ten recovery codes, shown this once."""
    user = get_current_user()
    if user.totp is None or user.totp_active:
        abort(409, message="No authenticator app is waiting to be confirmed; start the enrolment again.")
    if not totp.check_totp(user.totp, data["code"]):
        abort(422, message=WRONG_CODE, errors={"json": {"code": [WRONG_CODE]}})
    user.totp.confirmed_at = utcnow()
    codes = totp.new_recovery_codes(user)
    audit.record("mfa_enabled", user, target_user_id=user.id, detail={"method": "totp"})
    db.session.commit()
    return {"recovery_codes": codes}


@blp.post("/me/mfa/recovery-codes")
@jwt_required()
@blp.arguments(CodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(409, description="TOTP is not active")
@blp.alt_response(429, description="Locked after repeated wrong codes or passwords")
def renew_recovery_codes(data):
    """A new set of ten recovery codes (the earlier ones stop working); needs a current code."""
    user = get_current_user()
    _active_totp(user)
    _second_factor(user, data["code"], "recovery-codes")
    codes = totp.new_recovery_codes(user)
    audit.record("recovery_codes_renewed", user, target_user_id=user.id)
    db.session.commit()
    return {"recovery_codes": codes}


@blp.delete("/me/mfa")
@jwt_required()
@blp.arguments(MfaDisableSchema)
@blp.response(204)
@blp.alt_response(409, description="TOTP is not active")
@blp.alt_response(429, description="Locked after repeated wrong codes or passwords")
def disable_totp(data):
    """Turn TOTP off (the recovery codes go with it); needs the password and a current code."""
    user = get_current_user()
    _active_totp(user)
    claim_attempt(user, "mfa_failed", user, detail={"reason": "locked", "at": "disable"})
    if not check_password(data["password"], user.password_hash):
        audit.record("mfa_failed", user, target_user_id=user.id, detail={"reason": "wrong password", "at": "disable"})
        db.session.commit()
        abort(422, message="The password is wrong.", errors={"json": {"password": ["The password is wrong."]}})
    _second_factor(user, data["code"], "disable")
    totp.remove(user)
    audit.record("mfa_disabled", user, target_user_id=user.id, detail={"method": "totp"})
    db.session.commit()


# --- sign-in, second step ----------------------------------------------------------------


@blp.post("/login/mfa")
@blp.doc(security=[])
@blp.arguments(MfaLoginSchema)
@blp.response(200, LoginResponseSchema)
@blp.alt_response(401, description="Wrong code, or an mfa_token that is invalid, expired or used")
@blp.alt_response(429, description="Locked after repeated wrong codes or passwords")
def login_mfa(data):
    """The second step of a sign-in: the `mfa_token` of `POST /api/login` and a TOTP code or a
    recovery code (each recovery code works once). Sets the session cookies."""
    found = read_mfa_token(data["mfa_token"], totp.now())
    if found is None:
        abort(401, message=SIGN_IN_EXPIRED)
    user, claims = found
    method = _second_factor(user, data["code"], "login", status=401)
    if not spend_mfa_token(claims):
        db.session.rollback()
        abort(401, message=SIGN_IN_EXPIRED)
    return signed_in(user, method)


# --- admin reset -------------------------------------------------------------------------


def reset_factors(user: User, admin: User) -> None:
    """Remove every second factor of `user` (TOTP, recovery codes, passkeys), audited, and the
    user told by e-mail in the same transaction. The caller commits."""
    had = user.mfa
    totp.remove(user)
    user.passkeys = []
    event = audit.record("mfa_reset", admin, target_user_id=user.id, detail={"had": had})
    db.session.flush()
    enqueue(
        "mfa_reset",
        user.email,
        messages.mfa_reset(user),
        event=f"mfa_reset:{event.id}",
        user_id=user.id,
    )
