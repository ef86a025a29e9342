"""Request body limits: 1 MB on every route, MAX_UPLOAD_MB on the upload route alone.

A declared Content-Length over the limit is a JSON 413 before any of the body is read; a body
without one (chunked) is cut off by Werkzeug at the limit (request.max_content_length), also a
413. Nginx enforces the same limits in front (deploy/nginx/sequoalpha.conf).
"""

from flask import Flask, current_app, request
from flask_smorest import abort

BODY_LIMIT = 1024 * 1024
UPLOAD_ENDPOINTS = {"admin_documents.upload"}


def body_limit() -> int:
    """The limit of the current request's body, in bytes."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        return current_app.config["MAX_CONTENT_LENGTH"]
    return BODY_LIMIT


def limit_body() -> None:
    limit = body_limit()
    request.max_content_length = limit
    if limit == BODY_LIMIT and (request.content_length or 0) > limit:
        abort(413, message=too_large_message())


def too_large_message() -> str:
    if body_limit() == BODY_LIMIT:
        return f"The request is larger than the limit of {BODY_LIMIT // (1024 * 1024)} MB."
    return f"The request is larger than the upload limit of {current_app.config['MAX_UPLOAD_MB']} MB."


def init_app(app: Flask) -> None:
    app.before_request(limit_body)
