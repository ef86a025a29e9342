"""Session tokens: issued as a refresh/access pair, checked against the database on every
request (flask-jwt-extended callbacks), revoked by id at sign-out."""
from datetime import datetime

from urllib.parse import urlencode

from flask import jsonify, redirect, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import select

from ..errors import error_body
from ..extensions import db, jwt, upsert
from ..models import RevokedToken, User


@jwt.user_identity_loader
def _identity(user: User) -> str:
    return str(user.id)


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    """None (→ 401) when the user is gone, disabled, or their tokens were invalidated."""
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    return user


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    jtis = {claims["jti"], claims.get("rjti")} - {None}
    return db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis)).limit(1)) is not None


SIGN_IN_PAGE = "/frontend/signin.html"
# Routes a browser opens by itself (a new tab, a bookmark): without a session it goes to the
# sign-in page, which returns to the route afterwards; API clients still get the JSON 401.
BROWSER_ROUTES = {"documents.download"}


def _unauthorized(message: str):
    if request.endpoint in BROWSER_ROUTES and _browser_navigation():
        target = request.full_path if request.query_string else request.path
        return redirect(f"{SIGN_IN_PAGE}?{urlencode({'next': target})}", code=302)
    return jsonify(error_body(401, message)), 401


def _browser_navigation() -> bool:
    """The request prefers an HTML page (a browser's own navigation), not JSON or anything."""
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


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


def revoke(*jtis: str | None, until: datetime) -> None:
    """Revoke these token ids; revoking one twice (two logouts at once) is not an error."""
    for jti in filter(None, jtis):
        db.session.execute(upsert(RevokedToken).values(jti=jti, expires_at=until)
                           .on_conflict_do_nothing(index_elements=["jti"]))
