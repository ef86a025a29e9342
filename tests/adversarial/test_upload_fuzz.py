"""Upload fuzzing: Hypothesis-made bytes and mutated real PDFs sent to the upload endpoint.

Malformed by construction (never a PDF, whatever the bytes): random bytes, a PDF header then
garbage (with or without an end marker), real PDFs truncated before their end marker, real PDFs
whose page tree, trailer or startxref is overwritten, other formats named *.pdf, a real PDF
behind junk. Every one must be refused with a JSON 415/422/413, never accepted, never a 5xx.

Damaged real PDFs (bytes flipped, inserted or deleted at random places; every `obj` keyword or
the /Root entry overwritten; metadata stuffed with hostile text) may stay readable: a lenient
reader repairs them, as viewers do. Each is either refused cleanly or accepted; an accepted file
must open as a PDF with pages, and download with the same sha256 and size.
Names are fuzzed as well; the download's Content-Disposition must stay one clean header.
Afterwards the uploads folder holds exactly the accepted files: nothing orphaned.
The cases come from a fixed seed (support.fuzz_settings); SEQUOALPHA_FUZZ_RANDOM=1 draws fresh ones.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

from support import figures
from support.api import login
from support.documents import stored_files, upload

from .support import fuzz_settings, scaled

pytestmark = pytest.mark.fuzz

REFUSED = {413, 415, 422}


def _real_pdf(pages: int = 2, text: str = "Quarterly report") -> bytes:
    """A real PDF with text content on each page (content streams, fonts, an info dict)."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject

    writer = PdfWriter()
    for number in range(pages):
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 18 Tf 72 720 Td ({text} page {number + 1}) Tj ET".encode())
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
    writer.add_metadata({"/Title": text, "/Author": "SequoAlpha"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SEEDS = [_real_pdf(1), _real_pdf(3, "Tax statement 2025")]


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("report.pdf", data)
    return out.getvalue()


def _destroy_structure(pdf: bytes, token: bytes, filler: int) -> bytes:
    """Overwrite every occurrence of a structural keyword: no reader can rebuild the file."""
    return pdf.replace(token, bytes([filler]) * len(token))


seed_pdfs = st.sampled_from(SEEDS)

malformed = st.one_of(
    st.binary(max_size=2048).map(lambda b: ("random bytes", b)),
    st.binary(max_size=2048).map(lambda b: ("header then garbage", b"%PDF-1.7\n" + b)),
    st.binary(max_size=2048).map(lambda b: ("header, garbage, end marker", b"%PDF-1.4\n" + b + b"\n%%EOF\n")),
    st.tuples(seed_pdfs, st.floats(0, 0.999)).map(lambda t: ("truncated", t[0][: int(t[0].rindex(b"%%EOF") * t[1])])),
    st.tuples(seed_pdfs, st.sampled_from([b"/Page", b"trailer", b"startxref"]), st.integers(0x20, 0x7E)).map(
        lambda t: ("structure destroyed", _destroy_structure(*t))
    ),
    st.tuples(seed_pdfs, st.binary(min_size=1, max_size=64)).map(
        lambda t: ("junk before the header", b"\x00" + t[1] + t[0])
    ),
    seed_pdfs.map(lambda p: ("gzip of a PDF", gzip.compress(p))),
    seed_pdfs.map(lambda p: ("ZIP named .pdf", _zip(p))),
    st.text(max_size=200).map(lambda t: ("HTML named .pdf", f"<html><script>{t}</script></html>".encode())),
)


@st.composite
def mutated(draw):
    """A real PDF with a few random byte edits (which may or may not leave it readable), or with
    every `obj` keyword or its /Root entry overwritten (pypdf, like most viewers, repairs those)."""
    if draw(st.integers(0, 9)) == 0:
        token = draw(st.sampled_from([b"obj", b"/Root"]))
        return _destroy_structure(draw(seed_pdfs), token, draw(st.integers(0x21, 0x7E)))
    data = bytearray(draw(seed_pdfs))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


@st.composite
def hostile_metadata(draw):
    """A readable PDF whose title/author carry hostile text (the metadata is not ours to trust)."""
    writer = PdfWriter(clone_from=io.BytesIO(draw(seed_pdfs)))
    text = draw(st.text(max_size=64))
    writer.add_metadata(
        {
            NameObject("/Title"): TextStringObject(text + "\r\n<script>"),
            NameObject("/Author"): TextStringObject("%%EOF " + text),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


filenames = st.text(max_size=80).map(lambda t: t + ".pdf")


def _readable(data: bytes) -> bool:
    """The oracle for accepted damaged files: a PDF header and an end marker, and pypdf opens it
    and finds pages. (Damaged content streams or later pages are allowed: viewers show what they
    can of such files.)"""
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        return False
    try:
        reader = PdfReader(io.BytesIO(data))
        return not reader.is_encrypted and len(reader.pages) > 0
    except Exception:
        return False


class _Run:
    def __init__(self, app, client, headers):
        self.app, self.client, self.headers = app, client, headers
        self.accepted: list[int] = []
        self.problems: list[str] = []
        self.counts = {
            "malformed": 0,
            "accepted": 0,
            "server_errors": 0,
            "damaged": 0,
            "round_trips": 0,
            "sha256_mismatches": 0,
        }

    def send(self, data: bytes, name: str, what: str, must_refuse: bool) -> None:
        try:
            response = upload(
                self.client, self.headers, data, name, title=f"Fuzz {what}", allow_duplicate="true"
            )  # the same bytes twice is not what is fuzzed
        except Exception as exc:
            self.counts["server_errors"] += 1
            self.problems.append(f"{what}: {type(exc).__name__}: {exc}")
            return
        body = response.get_json(silent=True) or {}
        self.counts["malformed" if must_refuse else "damaged"] += 1
        if response.status_code >= 500:
            self.counts["server_errors"] += 1
            self.problems.append(f"{what}: {response.status_code} {body}")
        elif response.status_code in REFUSED:
            if body.get("code") != response.status_code or not body.get("message"):
                self.problems.append(f"{what}: refusal without the JSON error shape: {response.data[:200]!r}")
        elif response.status_code == 201:
            self.accepted.append(body["id"])
            if must_refuse:
                self.counts["accepted"] += 1
                self.problems.append(f"{what} accepted as document {body['id']} ({len(data)} bytes)")
            else:
                self.counts["round_trips"] += 1
                self._round_trip(body, data, what)
        else:
            self.problems.append(f"{what}: unexpected {response.status_code} {body}")

    def _round_trip(self, body: dict, data: bytes, what: str) -> None:
        if not _readable(data):
            self.problems.append(f"{what}: accepted but pypdf cannot open it")
        digest = hashlib.sha256(data).hexdigest()
        response = self.client.get(f"/api/documents/{body['id']}/download", headers=self.headers)
        received = response.data
        disposition = response.headers.get("Content-Disposition", "")
        response.close()
        if (
            response.status_code != 200
            or hashlib.sha256(received).hexdigest() != digest
            or body["sha256"] != digest
            or body["size_bytes"] != len(data)
        ):
            self.counts["sha256_mismatches"] += 1
            self.problems.append(f"{what}: download {response.status_code}, sha256 or size differs")
        if any(ch in disposition for ch in "\r\n\x00") or not disposition.startswith('attachment; filename="'):
            self.problems.append(f"{what}: bad Content-Disposition {disposition!r}")


@pytest.mark.slow
def test_fuzzed_uploads(app, client, make_user):
    make_user("admin", is_admin=True)
    run = _Run(app, client, login(client, "admin"))

    with figures.pause_password_capture():

        @fuzz_settings(120)
        @given(case=malformed, name=filenames)
        def refuse_malformed(case, name):
            what, data = case
            run.send(data, name, what, must_refuse=True)

        @fuzz_settings(40)
        @given(data=mutated(), name=filenames)
        def survive_mutations(data, name):
            run.send(data, name, "damaged PDF", must_refuse=False)

        @fuzz_settings(10)
        @given(data=hostile_metadata(), name=filenames)
        def keep_hostile_metadata_inert(data, name):
            run.send(data, name, "hostile metadata", must_refuse=False)

        refuse_malformed()
        survive_mutations()
        keep_hostile_metadata_inert()

    # Nothing orphaned: the folder holds the accepted files and nothing else.
    files = [name for name in stored_files(app) if name != ".gitkeep"]
    if len(files) != len(run.accepted):
        run.problems.append(f"{len(files)} stored files for {len(run.accepted)} accepted uploads: {files[:5]}")
    figures.add("upload_fuzz", **run.counts)
    assert run.counts["malformed"] >= scaled(100)
    assert not run.problems, "\n".join(run.problems[:30])
