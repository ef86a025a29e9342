"""A watermarked copy of a PDF: every page carries the downloader's name, e-mail and the UTC
date and time, diagonally across the page and in its footer, as real (extractable) text.

Memory stays bounded whatever the PDF's size: the copy is the original's bytes, copied in
chunks, followed by an incremental update (PDF 32000-1, 7.5.6) that adds the overlay (drawn by
fpdf2, imported as a Form XObject) and a new version of each page dictionary whose content
list ends with it. No page content, image or font of the original is decoded or rewritten, and
the stored original is only read."""

import io
import math
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fpdf import FPDF
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # any Unicode name, when present
XOBJECT = NameObject("/SequoAlphaWatermark")
CHUNK = 1 << 20


def label(full_name: str, username: str, email: str, at: datetime) -> str:
    """The line every page carries: who downloaded it, and when (UTC)."""
    return f"{full_name.strip() or username} · {email} · {at.strftime('%Y-%m-%d %H:%M UTC')}"


def watermark(source: BinaryIO, out: BinaryIO, text: str) -> None:
    """Write to `out` the PDF read from `source` (a seekable file) with `text` on every page."""
    reader = PdfReader(source)
    if reader.is_encrypted:  # accepted uploads open with an empty password; new objects would need encrypting
        raise ValueError("an encrypted PDF cannot be marked by an incremental update")
    source.seek(0)
    shutil.copyfileobj(source, out, CHUNK)
    update = _Update(out, int(reader.trailer["/Size"]), _startxref(source))
    overlays: dict[tuple, IndirectObject] = {}
    for page in reader.pages:
        box = page.mediabox
        size = tuple(round(float(v), 2) for v in (box.left, box.bottom, box.width, box.height))
        if size not in overlays:
            overlays[size] = _overlay(update, text, *size)
        _mark_page(update, page, overlays[size])
    update.finish(reader.trailer)


def _mark_page(update: "_Update", page, overlay: IndirectObject) -> None:
    """A new version of the page: its contents wrapped in q…Q (a page that leaves its graphics
    state changed cannot move the mark), then the overlay drawn on top."""
    marked = DictionaryObject(page)
    contents = page.get(NameObject("/Contents"), None)
    if contents is None:
        originals = []
    elif isinstance(contents, IndirectObject) and isinstance(contents.get_object(), ArrayObject):
        originals = list(contents.get_object())
    elif isinstance(contents, ArrayObject):
        originals = list(contents)
    else:
        originals = [contents]
    marked[NameObject("/Contents")] = ArrayObject(
        [update.stream_ref(b"q\n"), *originals, update.stream_ref(b"\nQ q " + XOBJECT.encode() + b" Do Q\n")]
    )
    resources = page.get(NameObject("/Resources"))
    resources = DictionaryObject(resources.get_object()) if resources is not None else DictionaryObject()
    xobjects = resources.get(NameObject("/XObject"))
    xobjects = DictionaryObject(xobjects.get_object()) if xobjects is not None else DictionaryObject()
    xobjects[XOBJECT] = overlay
    resources[NameObject("/XObject")] = xobjects
    marked[NameObject("/Resources")] = resources
    update.write(page.indirect_reference, marked)


def _overlay(update: "_Update", text: str, left: float, bottom: float, width: float, height: float) -> IndirectObject:
    """The mark for one page size, drawn by fpdf2 and imported as a Form XObject."""
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.add_page()
    if FONT.exists():
        pdf.add_font("Mark", fname=str(FONT))
        family = "Mark"
    else:  # the core font covers Latin-1 only
        family, text = "Helvetica", text.replace("·", "-").encode("latin-1", "replace").decode("latin-1")
    pdf.set_text_color(160, 160, 160)
    # Diagonal: as large as fits along the page's diagonal, centred on it.
    diagonal = math.hypot(width, height)
    pdf.set_font(family, size=10)
    size = max(6.0, min(48.0, 10 * 0.8 * diagonal / max(pdf.get_string_width(text), 1)))
    pdf.set_font(family, size=size)
    angle = math.degrees(math.atan2(height, width))
    with (
        pdf.local_context(fill_opacity=0.35, text_color=(150, 150, 150)),
        pdf.rotation(angle, x=width / 2, y=height / 2),
    ):
        pdf.text(width / 2 - pdf.get_string_width(text) / 2, height / 2 + size / 3, text)
    pdf.set_font(family, size=7)
    pdf.set_text_color(110, 110, 110)
    pdf.text(max(4.0, width / 2 - pdf.get_string_width(text) / 2), height - 10, text)
    page = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0]
    content = page.get_contents()
    form = StreamObject()
    form.set_data(content.get_data())
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([NumberObject(0), NumberObject(0), _number(width), _number(height)]),
            NameObject("/Matrix"): ArrayObject(
                [NumberObject(1), NumberObject(0), NumberObject(0), NumberObject(1), _number(left), _number(bottom)]
            ),
            NameObject("/Resources"): update.import_object(page["/Resources"].get_object()),
        }
    )
    return update.add(form.flate_encode())


def _number(value: float) -> PdfObject:
    return FloatObject(value)


def _startxref(source: BinaryIO) -> int:
    """Where the original's last cross-reference section starts (the update's /Prev)."""
    source.seek(0, io.SEEK_END)
    end = source.tell()
    source.seek(max(0, end - 2048))
    found = re.findall(rb"startxref\s+(\d+)", source.read())
    if not found:
        raise ValueError("no startxref in the PDF")
    return int(found[-1])


class _Update:
    """An incremental update being appended to `out`: objects, then the xref section and trailer."""

    def __init__(self, out: BinaryIO, size: int, prev: int):
        self.out, self.next_id, self.prev = out, size, prev
        self.offsets: dict[int, tuple[int, int]] = {}  # id -> (offset, generation)
        self.imported: dict[int, IndirectObject] = {}
        out.write(b"\n")

    def write(self, ref: IndirectObject, obj: PdfObject) -> IndirectObject:
        self.offsets[ref.idnum] = (self.out.tell(), ref.generation)
        self.out.write(f"{ref.idnum} {ref.generation} obj\n".encode())
        obj.write_to_stream(self.out)
        self.out.write(b"\nendobj\n")
        return ref

    def add(self, obj: PdfObject) -> IndirectObject:
        ref = IndirectObject(self.next_id, 0, None)
        self.next_id += 1
        return self.write(ref, obj)

    def stream_ref(self, data: bytes) -> IndirectObject:
        stream = StreamObject()
        stream.set_data(data)
        return self.add(stream)

    def import_object(self, obj):
        """A copy of an object of another PDF (the overlay's fonts), every indirect object it
        references appended under a new number."""
        if isinstance(obj, IndirectObject):
            key = obj.idnum
            if key not in self.imported:
                ref = IndirectObject(self.next_id, 0, None)
                self.next_id += 1
                self.imported[key] = ref
                self.write(ref, self.import_object(obj.get_object()))
            return self.imported[key]
        if isinstance(obj, StreamObject):
            copy = StreamObject()
            copy._data = obj._data  # still encoded: its /Filter is copied with the dictionary
            for key, value in obj.items():
                copy[NameObject(key)] = self.import_object(value)
            return copy
        if isinstance(obj, DictionaryObject):
            return DictionaryObject({NameObject(k): self.import_object(v) for k, v in obj.items()})
        if isinstance(obj, ArrayObject):
            return ArrayObject(self.import_object(v) for v in obj)
        return obj

    def finish(self, trailer: DictionaryObject) -> None:
        """The cross-reference section of the update, its trailer (/Prev: the original's)."""
        xref = self.out.tell()
        self.out.write(b"xref\n0 1\n0000000000 65535 f\r\n")  # readers expect object 0 first
        ids = sorted(self.offsets)
        start = 0
        while start < len(ids):
            end = start
            while end + 1 < len(ids) and ids[end + 1] == ids[end] + 1:
                end += 1
            self.out.write(f"{ids[start]} {end - start + 1}\n".encode())
            for idnum in ids[start : end + 1]:
                offset, generation = self.offsets[idnum]
                self.out.write(f"{offset:010d} {generation:05d} n\r\n".encode())
            start = end + 1
        new_trailer = DictionaryObject(
            {
                NameObject("/Size"): NumberObject(self.next_id),
                NameObject("/Root"): trailer.raw_get("/Root"),
                NameObject("/Prev"): NumberObject(self.prev),
            }
        )
        for key in ("/Info", "/ID"):
            if key in trailer:
                new_trailer[NameObject(key)] = trailer.raw_get(key)
        self.out.write(b"trailer\n")
        new_trailer.write_to_stream(self.out)
        self.out.write(f"\nstartxref\n{xref}\n%%EOF\n".encode())
