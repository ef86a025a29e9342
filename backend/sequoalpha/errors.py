"""One JSON error shape everywhere: {"code", "status", "message", "errors"?, "reason"?}.

`reason` is a stable word for a program (e.g. "password_change_required") where the status alone
does not say what to do next; raise it with flask_smorest.abort(403, message=…, reason=…).

After any error, the request's session is removed at teardown, which rolls back whatever the
failed request had not committed.
"""

from flask import Flask, current_app
from flask_smorest import Api as SmorestApi
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .body_limits import too_large_message

MESSAGES = {
    400: "The request could not be understood (malformed body or parameters).",
    401: "You are not signed in, or your session has ended.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed on this address.",
    409: "This conflicts with the current state.",
    413: "The request is too large.",
    415: "This type of content is not accepted.",
    422: "Some fields are invalid.",
    429: "Too many attempts; wait and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "A service the portal depends on is unavailable; try again shortly.",
}


def error_body(code: int, message: str | None = None, errors: dict | None = None, reason: str | None = None) -> dict:
    body = {
        "code": code,
        "status": HTTP_STATUS_CODES.get(code, "Error"),
        "message": message or MESSAGES.get(code, "Error."),
    }
    if errors:
        body["errors"] = errors
    if reason:  # a machine-readable why of a 403 (e.g. "mfa_enrolment_required")
        body["reason"] = reason
    return body


class Api(SmorestApi):
    """flask-smorest's Api, with a person-readable message on every error."""

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        message = data.get("message")
        if error.code == 413 and message is None:
            message = too_large_message()
        headers = dict(data.get("headers") or {})
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        body = error_body(error.code, message, errors, data.get("reason"))
        body.update(data.get("extra") or {})  # fields a client acts on, e.g. "duplicate_of"
        return body, error.code, headers


def handle_database_error(error: OperationalError | InterfaceError):
    """The database went away (restart, network, locked): a JSON 503, and the session is reset."""
    current_app.logger.warning("database unavailable: %s", type(error.orig).__name__)
    return error_body(503, "The database is unavailable; try again shortly."), 503, {"Retry-After": "5"}


def handle_too_deep(_error: RecursionError):
    """A JSON body nested thousands of levels deep exhausts json.loads' recursion: a 400."""
    return error_body(400, "The request body is nested too deeply."), 400


def remove_session(_error: BaseException | None) -> None:
    """Flask-SQLAlchemy's teardown, made safe for a connection that died after the request's last
    query: its rollback fails (the answer is already made) and would reach Gunicorn as an HTML 500.
    The failure invalidates the connection, so the second remove closes the session cleanly."""
    session = current_app.extensions["sqlalchemy"].session
    try:
        session.remove()
    except DBAPIError as error:
        current_app.logger.warning("database connection lost at the end of a request: %s", type(error.orig).__name__)
        session.remove()


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(InterfaceError, handle_database_error)
    app.register_error_handler(RecursionError, handle_too_deep)
    app.teardown_appcontext(remove_session)  # runs before Flask-SQLAlchemy's own (teardowns run in reverse)
