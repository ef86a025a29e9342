"""Cross-cutting request hygiene: the client's address and the headers on every response."""

import ipaddress

from flask import Flask, Response, current_app, request

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def client_ip() -> str | None:
    """The peer address; the proxy's X-Real-IP only when the peer is a trusted proxy and the
    header is an IP address (any other text, markup or escapes, is not recorded)."""

    peer = request.remote_addr
    if peer in current_app.config["TRUSTED_PROXIES"]:
        forwarded = request.headers.get("X-Real-IP") or request.access_route[-1]
        return ip_address_or_none(forwarded) or peer
    return peer


def ip_address_or_none(value: str | None) -> str | None:
    """`value` as a normalised IP address, or None when it is not one."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    # An IPv6 zone ("fe80::1%eth0") is free text: not accepted.
    return None if getattr(address, "scope_id", None) else str(address)


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
