"""Documents as the API tests make them: real PDFs (`make_pdf`), multipart uploads through the
test client (`upload`), PDFs with real text (`text_pdf`), what landed in the uploads folder
(`stored_files`), and `sha256`."""

import hashlib
import io
import json
import uuid
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart


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


def text_pdf(*lines: str) -> bytes:
    """A one-page PDF whose page shows `lines` as real text (Helvetica, WinAnsi)."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    ops = ["BT /F1 9 Tf 20 770 Td 11 TL"]
    for line in lines:
        escaped = line.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        ops.append(f"({escaped.decode('latin-1')}) Tj T*")
    ops.append("ET")
    stream = DecodedStreamObject()
    stream.set_data("\n".join(ops).encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(
    client,
    headers,
    content: bytes | None = None,
    filename: str = "report.pdf",
    *,
    content_type: str = "application/pdf",
    **fields,
):
    """POST a multipart upload; fields default to a title and admins-only visibility."""
    form = {"title": "Quarterly report", **fields}
    if isinstance(form.get("visibility"), dict):
        form["visibility"] = json.dumps(form["visibility"])
    # A distinct PDF by default: identical bytes would be refused as a duplicate (409).
    content = make_pdf(label=uuid.uuid4().hex) if content is None else content
    form["file"] = FileStorage(io.BytesIO(content), filename, content_type=content_type)
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(form)
    return client.post(
        "/api/admin/documents/upload",
        headers=headers,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_files(app) -> list[str]:
    """Everything in the uploads folder (temporaries included), sorted."""
    return sorted(p.name for p in Path(app.config["UPLOAD_FOLDER"]).iterdir())
