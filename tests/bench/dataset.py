"""The benchmark's data set, inserted in bulk with SQL (generate_series), not through the API.

Full scale: 10,000 documents, 500 users, 50 groups. The benchmark client (bench_client) is in
three groups and has direct grants: about 1,000 documents visible. bench_all sees every document
(direct grants), bench_ten sees ten. Every user shares the bcrypt hash the app itself made for
the admin (created with `flask create-admin`, cost 12), so 500 users cost one hash, not 500.
Files: one small PDF hard-linked under every file's storage key in the local store; the last ten
documents are 10 MB PDFs held only locally (served through X-Accel-Redirect), and so are the
first 100 small documents granted to the client directly (a small file through X-Accel-Redirect;
they stay what the client sees, so the visible counts do not change).
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

ADMIN_ID, CLIENT_ID, ALL_ID, TEN_ID = 1, 2, 3, 4
BIG_DOCUMENTS = 10
MB = 1024 * 1024


@dataclass(frozen=True)
class Scale:
    documents: int
    users: int
    groups: int
    categories: int = 8
    client_groups: int = 3
    client_direct_every: int = 40  # doc i with i % 40 == 13 is granted to the client directly
    grants_per_user: int = 20  # direct grants of every other user
    reads_per_user: int = 40
    audit_events: int = 20_000
    small_local: int = 100  # small documents granted to the client directly, held only locally


FULL = Scale(documents=10_000, users=500, groups=50)
SMOKE = Scale(documents=300, users=20, groups=10, audit_events=500, client_direct_every=10, small_local=20)


def pdf_bytes(pad: int = 0, title: str = "SequoAlpha benchmark") -> bytes:
    """A real one-page PDF; `pad` bytes of an unreferenced stream make it as large as wanted
    (pypdf reads the xref and the first page, never the padding)."""
    content = f"BT /F1 12 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    if pad:
        offsets.append(len(out))
        out += b"6 0 obj\n<< /Length %d >>\nstream\n" % pad
        out += (b"SequoAlpha benchmark padding. " * (pad // 30 + 1))[:pad]
        out += b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
    return bytes(out)


def sized_pdf(path: Path, size: int) -> Path:
    """A PDF of exactly `size` bytes at `path`."""
    pad = size - (len(pdf_bytes(pad=1)) - 1)
    for _ in range(3):  # the padding's /Length digits move the total by a byte or two
        data = pdf_bytes(pad=pad)
        if len(data) == size:
            break
        pad -= len(data) - size
    path.write_bytes(data)
    return path


SQL = """
INSERT INTO categories (id, name) SELECT i, 'Category ' || i FROM generate_series(1, %(categories)s) i;
INSERT INTO groups (id, name) SELECT i, 'Group ' || lpad(i::text, 3, '0') FROM generate_series(1, %(groups)s) i;

INSERT INTO users (id, username, email, full_name, password_hash, is_admin, is_active, created_at,
                   failed_logins, token_version)
SELECT i, name, name || '@bench.invalid', 'Bench user ' || i, %(hash)s, false, true,
       now() AT TIME ZONE 'utc', 0, 0
FROM (SELECT i, CASE i WHEN 2 THEN 'bench_client' WHEN 3 THEN 'bench_all' WHEN 4 THEN 'bench_ten'
                       ELSE 'user' || lpad(i::text, 4, '0') END AS name
      FROM generate_series(2, %(users)s) i) u;

INSERT INTO user_groups (user_id, group_id)
SELECT 2, g FROM generate_series(1, %(client_groups)s) g;
INSERT INTO user_groups (user_id, group_id)
SELECT i, g FROM generate_series(5, %(users)s) i,
       LATERAL (VALUES ((i * 7) %% %(groups)s + 1), ((i * 13 + 3) %% %(groups)s + 1)) v(g)
ON CONFLICT DO NOTHING;

INSERT INTO documents (id, title, description, category_id, kind, filename, size_bytes, sha256,
                       content_type, storage_key, in_s3, in_local, external_url, everyone,
                       uploaded_by_id, created_at, updated_at, document_date)
SELECT i,
       (ARRAY['Quarterly report', 'Monthly statement', 'Tax form K-1', 'Capital call notice',
              'Distribution notice', 'Annual letter'])[1 + i %% 6] || ' no. ' || i,
       'Benchmark document ' || i || ': performance, holdings and commentary for the period.',
       CASE WHEN i %% 9 = 0 THEN NULL ELSE 1 + i %% %(categories)s END,
       CASE WHEN link THEN 'link' ELSE 'file' END,
       CASE WHEN link THEN NULL ELSE 'report-' || i || '.pdf' END,
       CASE WHEN link THEN NULL ELSE %(small_size)s END,
       CASE WHEN link THEN NULL ELSE %(small_sha)s END,
       CASE WHEN link THEN NULL ELSE 'application/pdf' END,
       CASE WHEN link THEN NULL ELSE md5('bench-' || i) || '.pdf' END,
       NOT link, NOT link,
       CASE WHEN link THEN 'https://example.com/research/' || i ELSE NULL END,
       false, 1, at, at, CAST(at AS date)
FROM (SELECT i, i %% 20 = 0 AS link,
             timestamp '2021-01-01' + ((i * 7919) %% %(documents)s) * interval '4 hours' AS at
      FROM generate_series(1, %(documents)s) i) d;

-- The last documents: 10 MB PDFs held only in the local store (X-Accel-Redirect downloads).
UPDATE documents SET kind = 'file', external_url = NULL, in_s3 = false, in_local = true,
       filename = 'statement-' || id || '.pdf', size_bytes = %(big_size)s, sha256 = %(big_sha)s,
       content_type = 'application/pdf', storage_key = md5('bench-' || id) || '.pdf',
       created_at = timestamp '2020-06-01' + id * interval '1 minute'
WHERE id > %(documents)s - %(big)s;

-- Small documents held only in the local store (X-Accel-Redirect downloads of a small file).
UPDATE documents SET in_s3 = false WHERE id = ANY(%(small_local_ids)s);

INSERT INTO document_group_grants (document_id, group_id)
SELECT i, (i - 1) %% %(groups)s + 1 FROM generate_series(1, %(documents)s) i;
INSERT INTO document_group_grants (document_id, group_id)
SELECT i, (i * 7) %% %(groups)s + 1 FROM generate_series(5, %(documents)s, 5) i
ON CONFLICT DO NOTHING;

INSERT INTO document_user_grants (document_id, user_id)
SELECT i, 2 FROM generate_series(1, %(documents)s) i
WHERE i %% %(client_direct_every)s = 13 %% %(client_direct_every)s OR i > %(documents)s - %(big)s;
INSERT INTO document_user_grants (document_id, user_id)
SELECT i, 3 FROM generate_series(1, %(documents)s) i;
INSERT INTO document_user_grants (document_id, user_id)
SELECT 1 + k * (%(documents)s / 10), 4 FROM generate_series(0, 9) k;
INSERT INTO document_user_grants (document_id, user_id)
SELECT (u * 37 + k * 499) %% %(documents)s + 1, u
FROM generate_series(5, %(users)s) u, generate_series(0, %(grants_per_user)s - 1) k
ON CONFLICT DO NOTHING;

-- Some documents already downloaded (is_new false), by everyone.
INSERT INTO document_reads (user_id, document_id, read_at)
SELECT u, d, now() AT TIME ZONE 'utc' FROM (
    SELECT (u * 7919 + k * 104729) %% %(documents)s + 1 AS d, u
    FROM generate_series(5, %(users)s) u, generate_series(0, %(reads_per_user)s - 1) k) r
ON CONFLICT DO NOTHING;
INSERT INTO document_reads (user_id, document_id, read_at)
SELECT u, i, now() AT TIME ZONE 'utc'
FROM generate_series(1, %(documents)s, 3) i, (VALUES (2), (3)) v(u)
ON CONFLICT DO NOTHING;

INSERT INTO audit_events (at, action, actor_id, document_id, target_user_id, ip, detail)
SELECT now() AT TIME ZONE 'utc' - k * interval '1 minute', 'document_downloaded',
       k %% (%(users)s - 1) + 2, (k * 31) %% %(documents)s + 1, NULL, '10.0.0.' || (k %% 250),
       '{"via": "s3"}'
FROM generate_series(1, %(audit_events)s) k;
"""

SEQUENCES = ("users", "groups", "categories", "documents", "audit_events")


@dataclass
class DataSet:
    scale: Scale
    small_pdf: Path
    big_pdf: Path  # the first 10 MB document's file (the static baseline serves it)
    big_ids: list[int]
    big_keys: list[str]
    small_local_ids: list[int]  # small PDFs (small_pdf's bytes) held only locally, visible to the client


def small_local_ids(scale: Scale) -> list[int]:
    """The first `small_local` documents granted to the client directly (the SQL's rule), none a
    link (i % 20 = 0) or a 10 MB document."""
    every, last_small = scale.client_direct_every, scale.documents - BIG_DOCUMENTS
    ids = [i for i in range(1, last_small + 1) if i % every == 13 % every and i % 20][: scale.small_local]
    if len(ids) < scale.small_local:
        raise RuntimeError(f"only {len(ids)} small documents are granted to the client directly")
    return ids


def build(database_url: str, upload_dir: Path, scale: Scale) -> DataSet:
    """Insert the data set after the admin (id 1, made by `flask create-admin`); link the files."""
    small = pdf_bytes(title="Quarterly report")
    big_size = 10 * MB
    first_big = scale.documents - BIG_DOCUMENTS + 1
    big_ids = list(range(first_big, scale.documents + 1))
    big_keys = [hashlib.md5(f"bench-{i}".encode()).hexdigest() + ".pdf" for i in big_ids]
    big_path = sized_pdf(upload_dir / big_keys[0], big_size)
    for key in big_keys[1:]:
        os.link(big_path, upload_dir / key)
    small_path = upload_dir / ".bench-small.pdf"
    small_path.write_bytes(small)
    local_ids = small_local_ids(scale)

    conn = psycopg.connect(database_url, cursor_factory=psycopg.ClientCursor)  # the SQL is several statements
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT id, password_hash FROM users ORDER BY id")
            rows = cur.fetchall()
            if [r[0] for r in rows] != [ADMIN_ID]:
                raise RuntimeError(f"expected only the admin (id 1) in users, found ids {[r[0] for r in rows]}")
            params = {
                **scale.__dict__,
                "hash": rows[0][1],
                "big": BIG_DOCUMENTS,
                "small_size": len(small),
                "small_sha": hashlib.sha256(small).hexdigest(),
                "big_size": big_size,
                "big_sha": hashlib.sha256(big_path.read_bytes()).hexdigest(),
                "small_local_ids": local_ids,
            }
            cur.execute(SQL, params)
            for table in SEQUENCES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            cur.execute("SELECT storage_key FROM documents WHERE kind = 'file' AND id < %s", (big_ids[0],))
            small_keys = [row[0] for row in cur.fetchall()]
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    finally:
        conn.close()
    for key in small_keys:
        os.link(small_path, upload_dir / key)
    return DataSet(
        scale=scale,
        small_pdf=small_path,
        big_pdf=big_path,
        big_ids=big_ids,
        big_keys=big_keys,
        small_local_ids=local_ids,
    )
