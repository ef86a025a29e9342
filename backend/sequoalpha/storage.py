"""Document stores: the local uploads folder (and, with S3_BUCKET, S3)."""
import os

from flask import current_app


def storage_health() -> dict:
    folder = current_app.config["UPLOAD_FOLDER"]
    local = "ok" if os.path.isdir(folder) and os.access(folder, os.W_OK) else "unavailable"
    return {"s3": "disabled", "local": local}
