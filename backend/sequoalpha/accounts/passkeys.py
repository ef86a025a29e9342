"""Passkeys (WebAuthn, py_webauthn): register, list, remove, and sign in without a username.

The relying party id is PUBLIC_URL's host name and the expected origin PUBLIC_URL's origin.
Challenges live in the database for CHALLENGE_SECONDS and are deleted when answered (single-use).
"""

import binascii
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_jwt_extended import get_current_user, jwt_required
from flask_smorest import abort
from sqlalchemy import delete, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import audit
from ..extensions import db
from ..integrity import commit_or_conflict
from ..models import Passkey, User, WebauthnChallenge, utcnow
from ..schemas.accounts import LoginResponseSchema
from ..schemas.mfa import WEBAUTHN_OPTIONS, PasskeyCreateSchema, PasskeyLoginSchema, PasskeySchema
from .lockout import record_failure, refuse_while_locked
from .mfa import blp
from .routes import BAD_CREDENTIALS, signed_in

RP_NAME = "SequoAlpha"
CHALLENGE_SECONDS = 300
NOT_VERIFIED = "The passkey could not be verified; try again."


def relying_party() -> tuple[str, str]:
    """(RP id, origin) from PUBLIC_URL."""
    parts = urlsplit(current_app.config["PUBLIC_URL"])
    return parts.hostname, f"{parts.scheme}://{parts.netloc}"


def _user_handle(user: User) -> bytes:
    """The WebAuthn user.id: opaque (no name in it) and different for a later account that
    reuses a deleted one's id (SQLite does)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"webauthn user {user.id} {user.created_at.isoformat()}".encode(), hashlib.sha256).digest()


def _new_challenge(challenge: bytes, purpose: str, user: User | None) -> None:
    now = utcnow()
    db.session.execute(delete(WebauthnChallenge).where(WebauthnChallenge.expires_at < now))
    db.session.add(
        WebauthnChallenge(
            challenge=bytes_to_base64url(challenge),
            purpose=purpose,
            user_id=user.id if user else None,
            expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )


def _take_challenge(credential: dict, purpose: str, user: User | None) -> bytes | None:
    """The challenge this credential answers, if we issued it for `purpose` (and `user`) and it
    is still fresh; it is deleted either way (single-use)."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
        if not isinstance(challenge, str) or len(challenge) > 128:
            return None
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    row = db.session.get(WebauthnChallenge, challenge)
    if row is None:
        return None
    db.session.delete(row)
    if row.purpose != purpose or row.expires_at < utcnow() or row.user_id != (user.id if user else None):
        return None
    return base64url_to_bytes(challenge)


# --- my passkeys ---------------------------------------------------------------------------


@blp.post("/me/passkeys/options")
@jwt_required()
@blp.response(200, WEBAUTHN_OPTIONS)
def registration_options():
    """Options for `navigator.credentials.create()` (PublicKeyCredentialCreationOptionsJSON):
    a discoverable credential with user verification, none of my existing passkeys again."""
    user = get_current_user()
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=_user_handle(user),
        user_display_name=user.full_name or user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in user.passkeys
        ],
        timeout=CHALLENGE_SECONDS * 1000,
    )
    _new_challenge(options.challenge, "register", user)
    db.session.commit()
    return current_app.response_class(options_to_json(options), mimetype="application/json")


@blp.post("/me/passkeys")
@jwt_required()
@blp.arguments(PasskeyCreateSchema)
@blp.response(201, PasskeySchema)
@blp.alt_response(400, description="The credential could not be verified")
@blp.alt_response(409, description="This passkey is already registered")
def add_passkey(data):
    """Register a passkey: the result of `navigator.credentials.create()` (its `toJSON()`)."""
    user = get_current_user()
    rp_id, origin = relying_party()
    challenge = _take_challenge(data["credential"], "register", user)
    try:
        if challenge is None:
            raise WebAuthnException("unknown or expired challenge")
        verified = verify_registration_response(
            credential=data["credential"],
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error):
        db.session.commit()  # the challenge is spent
        abort(400, message=NOT_VERIFIED)
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        db.session.commit()
        abort(409, message="This passkey is already registered.")
    passkey = Passkey(
        name=data["name"],
        credential_id=credential_id,
        user_handle=bytes_to_base64url(_user_handle(user)),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    user.passkeys.append(passkey)
    audit.record("passkey_added", user, target_user_id=user.id, detail={"name": passkey.name})
    commit_or_conflict("This passkey is already registered.")
    return passkey


@blp.get("/me/passkeys")
@jwt_required()
@blp.response(200, PasskeySchema(many=True))
def list_passkeys():
    """My passkeys, oldest first."""
    return get_current_user().passkeys


@blp.delete("/me/passkeys/<int:passkey_id>")
@jwt_required()
@blp.response(204)
def remove_passkey(passkey_id):
    """Remove one of my passkeys (404 for anybody else's)."""
    user = get_current_user()
    passkey = db.session.scalar(select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id))
    if passkey is None:
        abort(404, message="No such passkey.")
    audit.record(
        "passkey_removed", user, target_user_id=user.id, detail={"passkey_id": passkey.id, "name": passkey.name}
    )
    user.passkeys.remove(passkey)
    db.session.commit()


# --- sign-in with a passkey ------------------------------------------------------------------


@blp.post("/login/passkey/options")
@blp.doc(security=[])
@blp.response(200, WEBAUTHN_OPTIONS)
def authentication_options():
    """Options for `navigator.credentials.get()` (PublicKeyCredentialRequestOptionsJSON): any of
    this site's discoverable credentials, user verification required, no username needed."""
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
        timeout=CHALLENGE_SECONDS * 1000,
    )
    _new_challenge(options.challenge, "login", None)
    db.session.commit()
    return current_app.response_class(options_to_json(options), mimetype="application/json")


def _refuse_passkey(passkey: Passkey | None, reason: str):
    user = passkey and db.session.get(User, passkey.user_id)
    if user is not None:
        record_failure(user)
    audit.record("login_failed", user, detail={"reason": reason, "method": "passkey"})
    db.session.commit()
    abort(401, message=BAD_CREDENTIALS)


@blp.post("/login/passkey")
@blp.doc(security=[])
@blp.arguments(PasskeyLoginSchema)
@blp.response(200, LoginResponseSchema)
@blp.alt_response(401, description="The passkey could not be verified (the same answer as a wrong password)")
@blp.alt_response(403, description="Account disabled")
@blp.alt_response(429, description="The account is locked after repeated failures")
def login_passkey(data):
    """Sign in with a passkey (both factors at once): the result of `navigator.credentials.get()`."""
    credential = data["credential"]
    rp_id, origin = relying_party()
    challenge = _take_challenge(credential, "login", None)
    raw_id = credential.get("rawId") or credential.get("id")
    passkey = None
    if isinstance(raw_id, str) and len(raw_id) <= 1400:
        passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
    if challenge is None or passkey is None:
        _refuse_passkey(passkey, "passkey unknown" if passkey is None else "challenge")
    handle = (credential.get("response") or {}).get("userHandle")
    if handle and handle != passkey.user_handle:
        _refuse_passkey(passkey, "user handle")
    user = db.session.get(User, passkey.user_id)
    refuse_while_locked(user, "login_failed", user, detail={"reason": "locked", "method": "passkey"})
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error):
        _refuse_passkey(passkey, "passkey not verified")
    # The counter moves forward once: of two requests replaying one assertion, one wins.
    moved = db.session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        _refuse_passkey(passkey, "sign counter")
    if not user.is_active:
        audit.record("login_failed", user, detail={"reason": "disabled", "method": "passkey"})
        db.session.commit()
        abort(403, message="This account is disabled. Contact your administrator.")
    return signed_in(user, "passkey")
