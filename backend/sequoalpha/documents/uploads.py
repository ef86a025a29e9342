"""Receiving an uploaded PDF: streamed to disk in chunks while hashed, then proven to be a PDF.

A worker never holds the file in memory: the bytes go from the request stream to a temporary
file in the uploads folder (so the final move into place is a rename on the same disk).
"""

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_smorest import abort
from werkzeug.datastructures import FileStorage

from .pdf_check import BoundExceeded, CheckFailed, pdf_facts, run_bounded
from .storage import CHUNK_BYTES

TEMP_PREFIX = ".upload-"
MAX_FILENAME = 200
STORED_MODE = 0o640  # Nginx (X-Accel-Redirect) reads uploads through the folder's group
EOF_WINDOW = 1024  # %%EOF must appear within the last bytes: a truncated file has lost it


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    size: int
    sha256: str


@contextmanager
def received_file(upload: FileStorage, folder: str, max_bytes: int) -> Iterator[ReceivedFile]:
    """Stream `upload` into a temporary file in `folder`, hashing it; 413 past `max_bytes`.

    The temporary file is removed on exit unless it was moved into place meanwhile.
    """
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=folder)
    path = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), STORED_MODE)  # mkstemp's 0600 would hide it from Nginx's group
            while chunk := upload.stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    abort(413, message=f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
                digest.update(chunk)
                out.write(chunk)
        yield ReceivedFile(path, size, digest.hexdigest())
    finally:
        path.unlink(missing_ok=True)


def check_pdf(received: ReceivedFile) -> None:
    """415 unless the file is a real PDF: header, end marker, parses, has at least one page;
    422 when parsing it needs more time or memory than pdf_check's bounds."""
    if received.size == 0:
        _not_pdf("The file is empty.")
    with open(received.path, "rb") as fh:
        if fh.read(5) != b"%PDF-":
            _not_pdf("This is not a PDF file (it does not start with a PDF header).")
        fh.seek(max(received.size - EOF_WINDOW, 0))
        if b"%%EOF" not in fh.read():
            _not_pdf("This is not a complete PDF (its end-of-file marker is missing): it is truncated or damaged.")
    try:
        facts = run_bounded(pdf_facts, str(received.path))
    except BoundExceeded as exc:
        current_app.logger.warning("upload rejected: PDF check over its %s bound", exc.reason)
        abort(
            422,
            message="The PDF is too complex to check (it needs too much time or memory to read). "
            "Save it again from its application, or print it to a new PDF, and upload that.",
        )
    except CheckFailed as exc:  # any parser failure means "not a readable PDF"
        current_app.logger.info("upload rejected: PDF parse error %s: %s", exc.kind, exc.detail)
        _not_pdf("The file could not be read as a PDF: it is damaged or not a PDF.")
    if facts.locked:
        _not_pdf("Password-protected PDFs are not accepted; upload an unprotected copy.")
    if not facts.pages:
        _not_pdf("The PDF has no pages.")


def _not_pdf(message: str):
    abort(415, message=message)


def check_pdf_name(filename: str) -> None:
    if not filename.lower().endswith(".pdf"):
        _not_pdf("Only PDF files (named *.pdf) are accepted.")


def clean_filename(raw: str | None) -> str:
    """The uploader's file name made safe to keep as metadata and to send back in a header.

    Keeps only the last path part; drops control and formatting characters (NUL, CR/LF, the
    right-to-left override, zero-width marks); caps the length, keeping the extension.
    """
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", raw or ""))[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Zs":
            kept.append(" ")
        elif category[0] != "C" and category not in {"Zl", "Zp"}:
            kept.append(ch)
    name = re.sub(r" +", " ", "".join(kept)).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_FILENAME - len(ext)].rstrip(" .") + ext
    return name or "document.pdf"
