"""The static site (index.html, frontend/, css/, images/) served by the app in development only.

In production Nginx serves these files and the app registers no static route at all. Here each
folder is served from its own directory: Werkzeug's safe_join then refuses any path that climbs
out of it (`..` however it was encoded, absolute paths), and dotfiles are never served.
"""

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("site", __name__)


def _send(folder: str, path: str):
    if any(part.startswith(".") for part in path.replace("\\", "/").split("/")):
        abort(404)
    return send_from_directory(Path(current_app.config["STATIC_ROOT"]) / folder, path)


@bp.get("/")
def index():
    return _send("", "index.html")


@bp.get("/<any(frontend, css, images):folder>/<path:path>")
def asset(folder: str, path: str):
    response = _send(folder, path)
    if path.endswith(".html"):
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/favicon.ico")
def favicon():
    return _send("images", "favicon.svg")
