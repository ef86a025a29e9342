"""TOTP and recovery codes: the secret (encrypted at rest), codes that work once, the QR code.

Keys are derived from SECRET_KEY (HMAC-SHA256 with a label per use), so rotating SECRET_KEY
makes every enrolled TOTP secret and recovery code unusable: users then need an admin reset.
"""

import base64
import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import RecoveryCode, TotpFactor, User, utcnow

ISSUER = "SequoAlpha"
DRIFT_STEPS = 1  # accept the previous and the next 30-second step (clock drift)
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def now() -> float:
    """The clock of every TOTP check (tests replace it)."""
    return time.time()


def _key(label: str) -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), label.encode(), hashlib.sha256).digest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key("sequoalpha totp secret v1")))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def decrypt_secret(factor: TotpFactor) -> str | None:
    try:
        return _fernet().decrypt(factor.secret_encrypted.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed since enrolment
        return None


# --- enrolment -------------------------------------------------------------------------------


def start_enrolment(user: User) -> dict:
    """A new pending secret for `user` (replacing a pending one, never an active one)."""
    secret = pyotp.random_base32()
    if user.totp is None:
        user.totp = TotpFactor(secret_encrypted=encrypt_secret(secret))
    else:
        user.totp.secret_encrypted = encrypt_secret(secret)
        user.totp.last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


def qr_svg(data: str) -> str:
    """The QR code as an SVG document, made here: no outside service ever sees the secret."""
    out = io.BytesIO()
    # A standalone document (with its namespace), so that it also works as an <img> data: URL.
    segno.make(data, error="m").save(
        out, kind="svg", scale=5, border=4, light="#fff", xmldecl=False, svgns=True, title="TOTP QR code"
    )
    return out.getvalue().decode("utf-8")


# --- codes -----------------------------------------------------------------------------------


def _normal_code(code: str) -> str:
    return "".join(code.split())


def check_totp(factor: TotpFactor, code: str) -> bool:
    """True once for a right code: the step it matched is stored, and no code of that step or
    an earlier one is accepted again (an atomic update: two requests cannot both use it)."""
    code = _normal_code(code)
    secret = decrypt_secret(factor)
    if secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    current = int(now()) // totp.interval
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            claimed = db.session.execute(
                update(TotpFactor)
                .where(
                    TotpFactor.user_id == factor.user_id,
                    or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
                )
                .values(last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.expire(factor, ["last_step"])
            return claimed == 1
    return False


def _hash_recovery(code: str) -> str:
    normal = _normal_code(code).replace("-", "").lower()
    return hmac.new(_key("sequoalpha recovery code v1"), normal.encode(), hashlib.sha256).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes (50 random bits each) replacing every earlier one; only hashes are kept."""
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """True once per recovery code (an atomic update marks it used)."""
    if not 8 <= len(code) <= 40:
        return False
    digest = _hash_recovery(code)
    row = db.session.scalar(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest, RecoveryCode.used_at.is_(None)
        )
    )
    if row is None:
        return False
    return (
        db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def check_code(user: User, code: str) -> str | None:
    """The method a second-factor code passed as ("totp" or "recovery_code"), or None."""
    if user.totp_active and check_totp(user.totp, code):
        return "totp"
    if user.totp_active and use_recovery_code(user, code):
        return "recovery_code"
    return None


def remove(user: User) -> None:
    """Forget the user's TOTP secret and recovery codes."""
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    user.totp = None
