"""Schemas of the second factor: TOTP enrolment, codes, recovery codes and passkeys."""

from marshmallow import Schema, fields, validate

from .fields import NO_CONTROL, password_field, text

CODE = fields.String(
    required=True,
    validate=[validate.Length(min=1, max=40), NO_CONTROL],
    metadata={"description": "A 6-digit TOTP code, or a recovery code where accepted"},
)


class TotpEnrolmentSchema(Schema):
    secret = fields.String(required=True)
    otpauth_uri = fields.String(required=True)
    qr_svg = fields.String(required=True, metadata={"description": "The otpauth URI as a QR code (an SVG document)"})


class CodeSchema(Schema):
    code = CODE


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True)


class MfaDisableSchema(Schema):
    password = password_field(min_len=1, required=True)
    code = CODE


class MfaLoginSchema(Schema):
    mfa_token = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NO_CONTROL])
    code = CODE


class PasskeySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)


class PasskeyCreateSchema(Schema):
    credential = fields.Dict(required=True, metadata={"description": "PublicKeyCredential.toJSON() of create()"})
    name = text(100, required=True, min_len=1)


class PasskeyLoginSchema(Schema):
    credential = fields.Dict(required=True, metadata={"description": "PublicKeyCredential.toJSON() of get()"})


# WebAuthn options as py_webauthn writes them (PublicKeyCredential*OptionsJSON), at the top level.
WEBAUTHN_OPTIONS = {
    "type": "object",
    "additionalProperties": True,
    "required": ["challenge"],
    "properties": {"challenge": {"type": "string"}},
}
