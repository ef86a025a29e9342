"""The static site (index.html, frontend/, css/, images/) served by the app in development.

In production Nginx serves these files from the same paths before a request reaches Flask.
"""
from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("site", __name__)


@bp.get("/")
def index():
    return send_from_directory(current_app.config["STATIC_ROOT"], "index.html")


@bp.get("/<any(frontend, css, images):folder>/<path:path>")
def asset(folder: str, path: str):
    response = send_from_directory(current_app.config["STATIC_ROOT"], f"{folder}/{path}")
    if path.endswith(".html"):
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.config["STATIC_ROOT"], "images/favicon.svg")
