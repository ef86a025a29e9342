"""Uploads: only real PDFs get in, sizes are enforced, names are sanitised, nothing is orphaned."""

import gzip
import io
import os
import zipfile

from pypdf import PdfWriter
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from sequoalpha.documents.uploads import clean_filename
from sequoalpha.extensions import db
from sequoalpha.models import Document
from support.documents import make_pdf, sha256, stored_files, upload

VALID = make_pdf(1024)
HALF = VALID[: len(VALID) // 2]
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("report.pdf", VALID)
    return out.getvalue()


def _pdf_without_pages() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def _password_protected() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


RAW_CRLF = "CR/LF in the name, HTML bytes"
# (what it is, bytes, file name, declared Content-Type)
MALFORMED = [
    ("empty file", b"", "empty.pdf", "application/pdf"),
    ("header only", b"%PDF-", "header.pdf", "application/pdf"),
    ("%PDF- then garbage", b"%PDF-1.7\n" + bytes(range(256)) * 16, "garbage.pdf", "application/pdf"),
    ("%PDF- garbage %%EOF", b"%PDF-1.4\nnot really a pdf\n%%EOF\n", "fake.pdf", "application/pdf"),
    ("header and EOF only", b"%PDF-1.4\n%%EOF\n", "shell.pdf", "application/pdf"),
    ("truncated to half", HALF, "half.pdf", "application/pdf"),
    ("truncated end marker", VALID[:-7], "cut.pdf", "application/pdf"),
    ("half with a forged end", HALF + b"\n%%EOF\n", "forged-eof.pdf", "application/pdf"),
    ("no pages", _pdf_without_pages(), "nopages.pdf", "application/pdf"),
    ("password protected", _password_protected(), "locked.pdf", "application/pdf"),
    ("HTML renamed", HTML, "statement.pdf", "application/pdf"),
    ("HTML with a PDF header inside", HTML + b"%PDF-1.4" + VALID, "inside.pdf", "application/pdf"),
    ("EXE renamed", EXE, "invoice.pdf", "application/pdf"),
    ("ZIP renamed", _zip(), "archive.pdf", "application/pdf"),
    ("gzip of a PDF", gzip.compress(VALID), "packed.pdf", "application/pdf"),
    ("PNG renamed", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.pdf", "application/pdf"),
    ("JPEG renamed", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64, "photo.pdf", "application/pdf"),
    ("PostScript", b"%!PS-Adobe-3.0\n%%EOF\n", "print.pdf", "application/postscript"),
    ("BOM before the header", b"\xef\xbb\xbf" + VALID, "bom.pdf", "application/pdf"),
    ("plain text", b"hello\n" * 100, "notes.pdf", "text/plain"),
    ("spoofed type: EXE as application/pdf", EXE, "tool.pdf", "application/pdf"),
    ("spoofed type: HTML as application/pdf", HTML, "page.pdf", "application/pdf"),
    (".pdf.exe with EXE bytes", EXE, "report.pdf.exe", "application/pdf"),
    (".pdf.exe with PDF bytes", VALID, "report.pdf.exe", "application/pdf"),
    ("right-to-left override hiding .exe", VALID, "invoice\u202efdp.exe", "application/pdf"),
    ("../ in the name, HTML bytes", HTML, "../../../etc/passwd.pdf", "application/pdf"),
    ("NUL in the name, EXE bytes", EXE, "report\x00.pdf", "application/pdf"),
    # Raw CR/LF in a part's filename breaks the multipart headers: no file part at all (422).
    (RAW_CRLF, HTML, "a\r\nContent-Type: text/html\r\n.pdf", "application/pdf"),
    ("encoded CR/LF in the name, EXE bytes", EXE, "a%0D%0AX-Evil: 1.pdf", "application/pdf"),
    ("300-character name, ZIP bytes", _zip(), "x" * 296 + ".pdf", "application/pdf"),
    ("no extension", VALID, "report", "application/pdf"),
]


def _documents(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Document.id)).all())


def test_malformed_uploads_are_refused_cleanly(client, admin_headers, app):
    assert len(MALFORMED) >= 25
    outcomes = {}
    for label, content, filename, content_type in MALFORMED:
        response = upload(client, admin_headers, content, filename, content_type=content_type)
        body = response.get_json()
        outcomes[label] = (response.status_code, body and body.get("message"))
    accepted = {k: v for k, v in outcomes.items() if v[0] < 400}
    server_errors = {k: v for k, v in outcomes.items() if v[0] >= 500}
    assert not accepted and not server_errors, outcomes
    unexpected = {k: v for k, v in outcomes.items() if v[0] != (422 if k == RAW_CRLF else 415)}
    assert not unexpected and all(message for _, message in outcomes.values()), unexpected
    assert _documents(app) == 0
    assert stored_files(app) == []


def test_refusals_say_why(client, admin_headers):
    def message(content, filename="x.pdf"):
        return upload(client, admin_headers, content, filename).get_json()["message"]

    assert "empty" in message(b"")
    assert "not a PDF" in message(HTML)
    assert "truncated" in message(HALF)
    assert "damaged or not a PDF" in message(b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    assert "no pages" in message(_pdf_without_pages())
    assert "Password-protected" in message(_password_protected())
    assert ".pdf" in message(VALID, "report.pdf.exe")


def test_missing_or_wrong_parts_are_422(client, admin_headers, app):
    no_file = client.post(
        "/api/admin/documents/upload", headers=admin_headers, data={"title": "x"}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    assert "file" in no_file.get_json()["errors"]["files"]
    text_not_file = client.post(
        "/api/admin/documents/upload",
        headers=admin_headers,
        data={"title": "x", "file": "%PDF-1.4"},
        content_type="multipart/form-data",
    )
    assert text_not_file.status_code == 422
    for fields in (
        {"title": ""},
        {"title": "x" * 201},
        {"title": "bad\x07title"},
        {"visibility": "{not json"},
        {"visibility": '{"group_ids": ["a"]}'},
        {"visibility": '{"group_ids": [999]}'},
        {"category_id": "999"},
        {"category_id": "abc"},
    ):
        response = upload(client, admin_headers, VALID, **fields)
        assert response.status_code == 422, (fields, response.get_json())
    assert _documents(app) == 0
    assert stored_files(app) == []


def test_valid_pdfs_of_1kb_and_20mb_are_accepted(client, admin_headers, app):
    for size in (1024, 20 * 1024 * 1024):
        content = make_pdf(size)
        response = upload(client, admin_headers, content, f"report-{size}.pdf")
        assert response.status_code == 201, response.get_json()
        doc = response.get_json()
        assert doc["size_bytes"] == len(content)
        assert doc["sha256"] == sha256(content)
        assert doc["content_type"] == "application/pdf"
        assert doc["storage"] == {"s3": False, "local": True}
        with app.app_context():
            key = db.session.get(Document, doc["id"]).storage_key
        assert (app.config["UPLOAD_FOLDER"] + "/" + key).endswith(".pdf")
        with open(f"{app.config['UPLOAD_FOLDER']}/{key}", "rb") as stored:
            assert sha256(stored.read()) == doc["sha256"]
            assert os.fstat(stored.fileno()).st_mode & 0o777 == 0o640  # Nginx reads through the group
    assert len(stored_files(app)) == 2  # the two generated keys, no temporaries


def test_size_limit_is_413_and_leaves_nothing(client, admin_headers, app):
    app.config.update(MAX_UPLOAD_MB=1, MAX_CONTENT_LENGTH=1024 * 1024 + 64 * 1024)
    just_over = make_pdf(1024 * 1024 + 1)  # within the request limit: the streaming counter stops it
    far_over = make_pdf(3 * 1024 * 1024)  # over MAX_CONTENT_LENGTH: Werkzeug refuses the body
    for content in (just_over, far_over):
        response = upload(client, admin_headers, content)
        assert response.status_code == 413
        assert "too large" in response.get_json()["message"] or "1 MB" in response.get_json()["message"]
    assert upload(client, admin_headers, make_pdf(1024 * 1024 - 1024)).status_code == 201
    assert len(stored_files(app)) == 1


def test_hostile_names_are_kept_only_as_clean_metadata(client, admin_headers, app):
    cases = {
        "../../etc/passwd.pdf": "passwd.pdf",
        "report\x00.pdf": "report.pdf",
        "tab\there\x1b[31m.pdf": "tabhere[31m.pdf",
        "invoice\u202egpj.pdf": "invoicegpj.pdf",
        "zero\u200bwidth.pdf": "zerowidth.pdf",
        ".hidden.pdf": "hidden.pdf",
        "Résumé “final”.pdf": "Résumé “final”.pdf",
    }
    for raw, expected in cases.items():
        response = upload(client, admin_headers, VALID, raw, allow_duplicate="true")
        assert response.status_code == 201, (raw, response.get_json())
        assert response.get_json()["filename"] == expected
    long = upload(client, admin_headers, VALID, "y" * 296 + ".pdf", allow_duplicate="true").get_json()["filename"]
    assert len(long) <= 200 and long.endswith(".pdf")
    # On disk only generated keys exist, whatever the names were.
    assert all(len(name) == 36 and name.endswith(".pdf") for name in stored_files(app))


def test_clean_filename_strips_what_a_header_or_a_path_could_abuse():
    assert clean_filename("a\r\nSet-Cookie: x=1\r\n.pdf") == "aSet-Cookie: x=1.pdf"
    assert clean_filename("..\\..\\boot.ini/..") == "document.pdf"
    assert clean_filename("C:\\Users\\ann\\Q3 report.pdf") == "Q3 report.pdf"
    assert clean_filename("\u202e\ufeff\u2028\u00a0 spaced\u3000 out .pdf") == "spaced out .pdf"
    assert clean_filename(None) == "document.pdf"
    assert len(clean_filename("é" * 500 + ".pdf")) == 200


def test_failed_commit_leaves_no_row_and_no_file(client, admin_headers, app, monkeypatch):
    def broken_commit():
        raise OperationalError("COMMIT", {}, Exception("connection lost"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    response = upload(client, admin_headers, VALID)
    monkeypatch.undo()
    assert response.status_code == 503
    assert _documents(app) == 0
    assert stored_files(app) == []


def test_links_accept_only_http_and_https(client, admin_headers):
    ok = client.post(
        "/api/admin/documents/link",
        headers=admin_headers,
        json={"title": "Fund letter", "external_url": "https://example.com/letter?id=1"},
    )
    assert ok.status_code == 201
    body = ok.get_json()
    assert body["kind"] == "link" and body["filename"] is None and body["sha256"] is None
    assert body["visibility"] == {"everyone": False, "group_ids": [], "user_ids": []}
    for url in (
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://example.com/a.pdf",
        "file:///etc/passwd",
        "//example.com/x",
        "http://",
        "example.com",
        "https://exa mple.com/",
        "https://example.com/\r\nSet-Cookie: a=b",
        "x" * 3000,
    ):
        response = client.post(
            "/api/admin/documents/link", headers=admin_headers, json={"title": "Bad", "external_url": url}
        )
        assert response.status_code == 422, url


def test_only_admins_upload(client, user_headers):
    assert upload(client, user_headers, VALID).status_code == 403
    assert upload(client, {}, VALID).status_code == 401
