"""Schemas of accounts: sign-in, the signed-in user, and the admin's users, groups and audit log."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .fields import (
    ID,
    NO_CONTROL,
    USERNAME,
    PageArgsSchema,
    RefSchema,
    UserRefSchema,
    email_field,
    id_list,
    page_of,
    password_field,
    text,
)

# --- session -----------------------------------------------------------------------------


class LoginSchema(Schema):
    # No control characters: no account has them, and PostgreSQL refuses NUL in a query (a 500).
    username = fields.String(required=True, validate=[validate.Length(min=1, max=254), NO_CONTROL])
    password = password_field(min_len=1, required=True)


class PasswordChangeSchema(Schema):
    current_password = password_field(min_len=1, required=True)
    new_password = password_field(required=True)


class MfaStateSchema(Schema):
    totp = fields.Boolean(required=True)
    passkeys = fields.Integer(required=True)


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    email = fields.String()
    full_name = fields.String()
    is_admin = fields.Boolean()
    is_active = fields.Boolean()
    groups = fields.List(fields.Nested(RefSchema))
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)
    mfa = fields.Nested(MfaStateSchema)
    status = fields.String(
        validate=validate.OneOf(("invited", "active", "disabled")),
        metadata={"description": "invited: no password chosen yet"},
    )
    must_change_password = fields.Boolean(
        metadata={
            "description": "true after an admin set the password: only GET /api/me, POST /api/me/password, "
            "/api/logout and /api/token/refresh work until it is changed"
        }
    )
    locked_until = fields.DateTime(allow_none=True, metadata={"description": "end of a lock after failed sign-ins"})
    notify_new_documents = fields.Boolean()


class LoginResponseSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    user = fields.Nested(UserSchema, required=True)


class MfaChallengeSchema(Schema):
    """The answer to a right password of an account with a second factor: no session yet."""

    mfa_required = fields.Boolean(required=True)
    mfa_token = fields.String(required=True)
    methods = fields.List(fields.String(validate=validate.OneOf(["totp", "recovery_code", "passkey"])), required=True)


# POST /api/login answers either; both are registered as components (see create_app).
LOGIN_ANSWER = {
    "anyOf": [{"$ref": "#/components/schemas/LoginResponse"}, {"$ref": "#/components/schemas/MfaChallenge"}]
}


class AccessTokenSchema(Schema):
    access_token = fields.String(required=True)


class LogoutArgsSchema(Schema):
    everywhere = fields.Boolean(
        load_default=False, metadata={"description": "end every session of this user, not only this one"}
    )


class MeUpdateSchema(Schema):
    full_name = text(200)
    notify_new_documents = fields.Boolean()


class ForgotPasswordSchema(Schema):
    email = email_field(required=True)


class ForgotPasswordAnswerSchema(Schema):
    message = fields.String(required=True)


class ResetPasswordSchema(Schema):
    token = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=100), NO_CONTROL],
        metadata={"description": "the token of an invitation or reset link (#token=…)"},
    )
    new_password = password_field(required=True)


# --- admin: users, groups, categories, audit ---------------------------------------------


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    email = email_field(required=True)
    full_name = text(200, load_default="")
    password = password_field(
        metadata={
            "description": "without it the user is invited by e-mail to choose one; "
            "with it they must change it at their first sign-in"
        }
    )
    is_admin = fields.Boolean(load_default=False)
    group_ids = id_list(load_default=list)


class UserUpdateSchema(Schema):
    email = email_field()
    full_name = text(200)
    password = password_field()
    is_admin = fields.Boolean()
    is_active = fields.Boolean()
    group_ids = id_list()


class GroupSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(100, required=True, min_len=1)
    user_ids = id_list(load_default=list)


class GroupUpdateSchema(Schema):
    name = text(100, min_len=1)
    user_ids = id_list()


class AuditQuerySchema(PageArgsSchema):
    action = fields.String(validate=[validate.Length(max=40), NO_CONTROL])
    actor_id = fields.Integer(validate=ID)
    document_id = fields.Integer(validate=ID)
    target_user_id = fields.Integer(validate=ID)
    date_from = fields.Date(data_key="from", metadata={"description": "UTC date YYYY-MM-DD, inclusive."})
    date_to = fields.Date(data_key="to", metadata={"description": "UTC date YYYY-MM-DD, inclusive."})

    @validates_schema
    def _ordered(self, data, **_kw):
        if "date_from" in data and "date_to" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("`from` is after `to`.", "to")


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    action = fields.String()
    actor = fields.Nested(UserRefSchema, allow_none=True)
    document_id = fields.Integer(allow_none=True)
    target_user_id = fields.Integer(allow_none=True)
    ip = fields.String(allow_none=True)
    detail = fields.Dict()
    document_title = fields.String(
        allow_none=True, metadata={"description": "The document's title, or its last title once deleted."}
    )
    document_deleted = fields.Boolean(metadata={"description": "The document no longer exists."})


UserPageSchema = page_of(UserSchema, "UserPageSchema")
GroupPageSchema = page_of(GroupSchema, "GroupPageSchema")
AuditPageSchema = page_of(AuditEventSchema, "AuditPageSchema")
