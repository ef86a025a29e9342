"""The answer of GET /api/health."""

from marshmallow import Schema, fields


class StorageHealthSchema(Schema):
    s3 = fields.String(required=True, metadata={"enum": ["ok", "disabled", "unavailable"]})
    local = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    mode = fields.String(required=True, metadata={"enum": ["fallback", "s3-only"]})


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)
    storage = fields.Nested(StorageHealthSchema, required=True)
