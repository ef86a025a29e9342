"""The text of a PDF, for search: a pure function of a file, so that it can run in a bounded
child process like the PDF check."""

import logging

from pypdf import PdfReader

from .pdf_check import BoundExceeded, CheckFailed, run_bounded

MAX_CHARS = 200_000  # enough for any statement's words; bounds the row and the search vector

log = logging.getLogger(__name__)


def extract_text(path, max_chars: int = MAX_CHARS) -> str:
    """The text of the PDF at `path`, page by page, at most `max_chars` characters; "" when
    nothing can be read (a scanned PDF has no text layer: it is still a valid upload)."""
    parts: list[str] = []
    size = 0
    try:
        with open(path, "rb") as fh:
            reader = PdfReader(fh)
            if reader.is_encrypted and not reader.decrypt(""):
                return ""
            for page in reader.pages:
                text = page.extract_text() or ""
                parts.append(text)
                size += len(text) + 1
                if size >= max_chars:
                    break
    except Exception as exc:
        log.info("PDF text extraction stopped: %s: %s", type(exc).__name__, exc)
    text = "\n".join(parts)[:max_chars].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates: the database refuses them


def extract_text_bounded(path) -> str:
    """`extract_text` in a child process within pdf_check's time and memory bounds, as the PDF
    check runs: a PDF whose text needs more is still a valid upload, found by its title only."""
    try:
        return run_bounded(extract_text, str(path))
    except (BoundExceeded, CheckFailed) as exc:
        log.warning("PDF text extraction stopped at its bounds: %s", exc)
        return ""
