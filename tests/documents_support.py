"""Helpers for the document and storage tests: real PDFs, uploads, and moto's S3 server.

Test modules import the fixtures they need from here (`from documents_support import s3`).
"""
import hashlib
import io
import json
import logging
import socket
import uuid
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from sequoalpha.documents import storage

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


def make_pdf(size: int = 1024, pages: int = 1, *, label: str = "") -> bytes:
    """A valid PDF of about `size` bytes (at least the minimum), padded with a stream object.
    A `label` becomes its title, so PDFs made with different labels differ in their bytes."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    if label:
        writer.add_metadata({"/Title": label})
    minimal = io.BytesIO()
    writer.write(minimal)
    padding = max(size - len(minimal.getvalue()) - 60, 0)
    if padding:
        stream = DecodedStreamObject()
        stream.set_data(b"%" * padding)
        writer.pages[0][NameObject("/SequoAlphaPadding")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(client, headers, content: bytes = None, filename: str = "report.pdf", *,
           content_type: str = "application/pdf", **fields):
    """POST a multipart upload; fields default to a title and admins-only visibility."""
    form = {"title": "Quarterly report", **fields}
    if isinstance(form.get("visibility"), dict):
        form["visibility"] = json.dumps(form["visibility"])
    # A distinct PDF by default: identical bytes would be refused as a duplicate (409).
    content = make_pdf(label=uuid.uuid4().hex) if content is None else content
    form["file"] = FileStorage(io.BytesIO(content), filename, content_type=content_type)
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(form)
    return client.post("/api/admin/documents/upload", headers=headers, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored_files(app) -> list[str]:
    """Everything in the uploads folder (temporaries included), sorted."""
    return sorted(p.name for p in Path(app.config["UPLOAD_FOLDER"]).iterdir())


def closed_port() -> int:
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 as a real HTTP server on a free port, for the whole run.

    Its access log (Werkzeug's logger) would carry presigned URLs, signatures included, into
    the log records the suite scans for secrets: it is silenced while the server runs."""
    werkzeug_logger = logging.getLogger("werkzeug")
    level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    werkzeug_logger.setLevel(level)


@pytest.fixture
def aws_env(monkeypatch):
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    storage._probes.clear()
    yield
    storage._probes.clear()


@pytest.fixture
def s3(moto_endpoint, aws_env, app):
    """A fresh bucket in moto, used by the app from now on (the stores read app.config).

    Yields a boto3 client of the test's own, to look at the bucket from outside."""
    bucket = f"sequoalpha-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    app.config.update(S3_BUCKET=bucket, S3_ENDPOINT_URL=moto_endpoint, AWS_REGION="us-east-1")
    client.bucket = bucket
    yield client
    client.close()
