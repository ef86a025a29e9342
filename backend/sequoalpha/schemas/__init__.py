"""Request and response schemas (marshmallow): they validate input and document the API.

`fields` holds the shared field types and validators; the other modules, one per part of the API."""
