"""Schemas of the admin mail panel (GET /api/admin/mail)."""

from marshmallow import Schema, fields, validate

from .fields import PageArgsSchema, page_of

STATUSES = ("pending", "sent", "failed")


class MailQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


class MailMessageSchema(Schema):
    """A message as the admin panel shows it: never its bodies (they may hold a link's token)."""

    id = fields.Integer(required=True)
    to = fields.String(required=True)
    kind = fields.String(required=True)
    subject = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


MailPageSchema = page_of(MailMessageSchema, "MailPageSchema")
