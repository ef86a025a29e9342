"""Session tokens: issued as a refresh/access pair, checked against the database on every
request (flask-jwt-extended callbacks), revoked by id at sign-out."""
from datetime import datetime

from flask import jsonify, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_smorest import abort
from sqlalchemy import select

from ..errors import error_body
from ..extensions import db, jwt, upsert
from ..models import RevokedToken, User


@jwt.user_identity_loader
def _identity(user: User) -> str:
    return str(user.id)


# What a user who must replace an admin-chosen password may still do (endpoints, by name).
WHILE_PASSWORD_CHANGE_REQUIRED = frozenset({"session.me", "session.change_password", "session.logout",
                                            "session.refresh"})


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    """None (→ 401) when the user is gone, disabled, or their tokens were invalidated; a 403 on
    every other route while the user must change an admin-chosen password."""
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    if user.must_change_password and request.endpoint not in WHILE_PASSWORD_CHANGE_REQUIRED:
        abort(403, message="Choose a new password before going on: yours was set by an administrator.",
              reason="password_change_required")
    return user


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    jtis = {claims["jti"], claims.get("rjti")} - {None}
    return db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis)).limit(1)) is not None


def _unauthorized(message: str):
    return jsonify(error_body(401, message)), 401


jwt.unauthorized_loader(lambda reason: _unauthorized("You are not signed in."))
jwt.invalid_token_loader(lambda reason: _unauthorized("Your session token is invalid; sign in again."))
jwt.expired_token_loader(lambda h, c: _unauthorized("Your session has expired; sign in again."))
jwt.revoked_token_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.user_lookup_error_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.needs_fresh_token_loader(lambda h, c: _unauthorized("Sign in again to do this."))
jwt.token_verification_failed_loader(lambda h, c: _unauthorized("Your session token is invalid."))


def issue_tokens(user: User) -> tuple[str, str]:
    """A refresh token and an access token tied to it (logout revokes both by jti)."""
    claims = {"ver": user.token_version}
    refresh = create_refresh_token(identity=user, additional_claims=claims)
    rjti = decode_token(refresh)["jti"]
    access = create_access_token(identity=user, additional_claims={**claims, "rjti": rjti})
    return access, refresh


def end_sessions(user: User) -> None:
    """Every token issued to `user` so far stops working (their version no longer matches)."""
    user.token_version += 1


def revoke(*jtis: str | None, until: datetime) -> None:
    """Revoke these token ids; revoking one twice (two logouts at once) is not an error."""
    for jti in filter(None, jtis):
        db.session.execute(upsert(RevokedToken).values(jti=jti, expires_at=until)
                           .on_conflict_do_nothing(index_elements=["jti"]))
