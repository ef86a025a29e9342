"""Field types, validators and envelopes that every schema module shares."""

import re

from email_validator import EmailNotValidError, validate_email
from marshmallow import Schema, ValidationError, fields, validate

from ..accounts.passwords import MAX_LENGTH, MIN_LENGTH


class Pattern(validate.Regexp):
    """validate.Regexp over the whole value: Python's `$` also matches before a final newline,
    so `^[a-z]+$` let "ann\n" through; the pattern itself goes into the OpenAPI schema as is."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# Printable text: no control characters (they forge log lines and break headers), and no lone
# UTF-16 surrogate (JSON can spell one, "\ud800"; it cannot be encoded for the database).
NO_CONTROL = Pattern(r"^[^\x00-\x1f\x7f\ud800-\udfff]*$", error="Control characters are not allowed.")
NO_SURROGATE = Pattern(r"^[^\ud800-\udfff]*$", error="This text is not valid Unicode.")
# Ids are PostgreSQL `integer`s; a larger number names nothing (and overflows SQLite past 2**63).
MAX_ID = 2**31 - 1
ID = validate.Range(min=1, max=MAX_ID)
USERNAME = Pattern(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
    error="3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
)


class Text(fields.String):
    """A string with surrounding spaces removed before it is validated. Control characters are
    not trimmed (a trailing tab or form feed is refused by NO_CONTROL, as the schema says)."""

    SURROUNDING_SPACE = re.compile(r"^[^\S\x00-\x1f\x7f]+|[^\S\x00-\x1f\x7f]+$")

    def _deserialize(self, value, attr, data, **kwargs):
        return self.SURROUNDING_SPACE.sub("", super()._deserialize(value, attr, data, **kwargs))


def text(max_len: int, required: bool = False, min_len: int = 0, **kw) -> Text:
    return Text(
        required=required,
        validate=[validate.Length(min=min_len, max=max_len), NO_CONTROL],
        **kw,
    )


def password_field(min_len: int = MIN_LENGTH, **kw) -> fields.String:
    return fields.String(validate=[validate.Length(min=min_len, max=MAX_LENGTH), NO_SURROGATE], **kw)


class StoredLength(validate.Length):
    """The length of the value as the model keeps it, lower-cased: some characters grow when
    lower-cased ("İ" becomes two)."""

    def __call__(self, value):
        super().__call__(value.lower())
        return value


class Email(fields.String):
    """An e-mail address as email-validator reads it (syntax only, no DNS look-up): control
    characters, markup, spaces, look-alike and invisible characters and reserved domains are
    refused, and a local part over 64 characters (strict). The address comes back normalised
    (an IDN domain in one spelling); the model lower-cases it."""

    def __init__(self, **kw):
        super().__init__(metadata={"format": "email"}, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        value = NO_CONTROL(super()._deserialize(value, attr, data, **kwargs))
        try:
            return validate_email(value, check_deliverability=False, strict=True).normalized
        except EmailNotValidError as error:
            raise ValidationError(str(error)) from None


def email_field(**kw) -> Email:
    return Email(validate=StoredLength(max=254), **kw)


def id_list(**kw) -> fields.List:
    return fields.List(fields.Integer(strict=True, validate=ID), **kw)


class RefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


# --- pagination --------------------------------------------------------------------------


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class PageSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """The list envelope {"items", "total", "page", "per_page"} around one item schema."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item_schema), required=True)})
