"""Full-text search over a document's title, description, file name and PDF text.

Both sides are normalised the same way in Python (`words`): Unicode compatibility forms
decomposed, accents dropped, case folded, and split on anything that is not a letter or digit,
so "Q3-2026" and "q3 2026" are the same two words, and "Émission" is "emission". The words of a
document are kept in `documents.search_text`; the engines only match whole words:
- PostgreSQL: a GIN index on `to_tsvector('simple', search_text)`, queried with `to_tsquery`
  (every word quoted and required, none an operator; the last one also as a prefix, for search
  as you type), ranked by `ts_rank`;
- SQLite: an FTS5 table `documents_fts` that triggers keep in step with `documents`, ranked by
  `bm25`.
Neither structure is a model: both are created by the migration and, for `create_all`, by the
DDL listeners below. The snippet is cut in Python from the stored text, so both engines give
the same one. The visibility rule is applied by the caller (listing.py) to the same
statement: a search never sees a document the user cannot.
"""

import re
import unicodedata

from sqlalchemy import DDL, ColumnElement, Select, column, event, func, inspect, literal_column, table
from sqlalchemy.orm import Session

from ..models import Document

MAX_WORDS = 32
SNIPPET_CHARS = 200
WORD = re.compile(r"[^\W_]+")  # letters and digits

FTS_TABLE = "documents_fts"
GIN_INDEX = "ix_documents_search"
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')",
    (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON documents BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.search_text); END"
    ),
    (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF search_text ON documents BEGIN "
        f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id; "
        f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.search_text); END"
    ),
    (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON documents BEGIN "
        f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id; END"
    ),
]
SQLITE_REBUILD = [
    f"DELETE FROM {FTS_TABLE}",
    f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id, search_text FROM documents",
]
SQLITE_DROP = [f"DROP TABLE IF EXISTS {FTS_TABLE}"]  # its triggers go with the documents table
POSTGRESQL_DDL = [
    (f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON documents USING gin (to_tsvector('simple'::regconfig, search_text))")
]

SEARCHED = ("title", "description", "filename", "text_content")


def fold(text: str) -> str:
    """Compatibility-decomposed, without combining marks (accents), case-folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def normalise(text: str) -> str:
    return " ".join(words(text))


def query_words(q: str | None) -> list[str]:
    """The distinct words of a query, in order (at most MAX_WORDS)."""
    return list(dict.fromkeys(words(q or "")))[:MAX_WORDS]


def search_text_of(document: Document) -> str:
    return normalise(" ".join(getattr(document, field) or "" for field in SEARCHED))


@event.listens_for(Session, "before_flush")
def _keep_search_text(session, _context, _instances) -> None:
    """A document's words follow its searched fields, however they were changed."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Document):
            continue
        state = inspect(obj)
        if obj in session.new or any(state.attrs[field].history.has_changes() for field in SEARCHED):
            obj.search_text = search_text_of(obj)


def matching(stmt: Select, q_words: list[str], dialect: str) -> tuple[Select, ColumnElement]:
    """`stmt` narrowed to the documents having every word, and the relevance to order by
    (descending: higher is better). The last word also matches as the start of a word, so a
    search typed as you go finds "capital call not" while the word is still being typed."""
    *whole, last = q_words  # words are letters and digits only: quoted, none is an operator
    if dialect == "postgresql":
        config = literal_column("'simple'::regconfig")
        vector = func.to_tsvector(config, Document.search_text)
        query = func.to_tsquery(config, " & ".join([*(f"'{w}'" for w in whole), f"'{last}':*"]))
        return stmt.where(vector.op("@@")(query)), func.ts_rank(vector, query)
    fts = table(FTS_TABLE, column("rowid"))
    fts_ref = literal_column(FTS_TABLE)
    match = " ".join([*(f'"{w}"' for w in whole), f'"{last}"*'])
    stmt = stmt.join(fts, fts.c.rowid == Document.id).where(fts_ref.op("MATCH")(match))
    return stmt, -func.bm25(fts_ref)  # bm25: lower is better


def snippet(document: Document, q_words: list[str]) -> str:
    """Plain text (≤ SNIPPET_CHARS) around the place where most of the query's words appear:
    from the PDF's text, else the description, the title or the file name."""
    wanted = set(q_words)
    best_count, best = 0, ""
    for field in ("text_content", "description", "title", "filename"):
        count, text = _best_window(getattr(document, field) or "", wanted, prefix=q_words[-1])
        if count > best_count:
            best_count, best = count, text
            if count == len(wanted):
                break
    return best or (document.description or "")[:SNIPPET_CHARS]


def _best_window(raw: str, wanted: set[str], prefix: str) -> tuple[int, str]:
    """The window of the text holding the most distinct wanted words (the last one of the query
    also as the start of a word, as the search matches it), and that number."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw)).strip()
    hits = []  # (position, word)
    for match in WORD.finditer(text):
        for word in words(match.group()):
            if word in wanted or word.startswith(prefix):
                hits.append((match.start(), word if word in wanted else prefix))
        if len(hits) >= 2000:
            break
    if not hits:
        return 0, ""
    lead = SNIPPET_CHARS // 4
    best_count, best_start = 0, 0
    for position, _word in hits:
        start = max(position - lead, 0)
        found = {w for p, w in hits if start <= p < start + SNIPPET_CHARS - 10}
        if len(found) > best_count:
            best_count, best_start = len(found), start
    return best_count, _cut(text, best_start)


def _cut(text: str, start: int) -> str:
    """SNIPPET_CHARS of `text` from about `start`, on word boundaries, with "…" where cut."""
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    prefix = "…" if start > 0 else ""
    room = SNIPPET_CHARS - len(prefix)
    piece = text[start : start + room]
    if start + room < len(text):
        piece = piece[: room - 1]
        space = piece.rfind(" ")
        piece = (piece[:space] if space > room // 2 else piece).rstrip() + "…"
    return prefix + piece


def outside_models(name: str | None, type_: str, _parents: dict) -> bool:
    """For Alembic's comparisons: the search structures are not models, and stay."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == GIN_INDEX)


def create_structures(connection) -> None:
    """The FTS5 table and its triggers (SQLite) or the GIN index (PostgreSQL); idempotent."""
    statements = POSTGRESQL_DDL if connection.dialect.name == "postgresql" else SQLITE_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)


def rebuild(connection) -> None:
    """Make the SQLite FTS table hold exactly what `documents` says (PostgreSQL's index is
    always in step)."""
    create_structures(connection)
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_REBUILD:
            connection.exec_driver_sql(statement)


for _statement in SQLITE_DDL:
    event.listen(Document.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_DROP:
    event.listen(Document.__table__, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_DDL:
    event.listen(Document.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
