"""PDFs that are small on disk and huge once parsed (for the upload hardening tests)."""

import zlib


def object_stream_bomb(pages: int = 8, inflated_mb: int = 70) -> bytes:
    """A valid-looking PDF whose every page object sits in its own object stream padded to
    `inflated_mb` MB of spaces: about 70 KB per page on disk, `pages` x `inflated_mb` MB to parse."""
    padding = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    parts = []
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}

    def plain(number: int, body: bytes):
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    kids = [10 + i for i in range(pages)]
    plain(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    plain(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), pages))
    for i, kid in enumerate(kids):
        header = b"%d 0 " % kid
        body = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
        compressor = zlib.compressobj(9)
        parts = [compressor.compress(header + body)]
        for _ in range(inflated_mb):
            parts.append(compressor.compress(chunk))
        parts.append(compressor.flush())
        data = b"".join(parts)
        plain(
            100 + i,
            b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (len(header), len(data))
            + data
            + b"\nendstream",
        )
    del padding
    xref_number = 100 + pages
    size = xref_number + 1
    rows = []
    for number in range(size):
        if number in offsets:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00")
        elif number in kids:
            rows.append(b"\x02" + (100 + kids.index(number)).to_bytes(4, "big") + b"\x00\x00")
        elif number == xref_number:
            rows.append(b"\x01" + len(out).to_bytes(4, "big") + b"\x00\x00")
        else:
            rows.append(b"\x00" + b"\x00" * 4 + b"\xff\xff")
    table = b"".join(rows)
    start = len(out)
    out.extend(
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_number, size, len(table))
        + table
        + b"\nendstream\nendobj\n"
    )
    out.extend(b"startxref\n%d\n%%%%EOF\n" % start)
    return bytes(out)
