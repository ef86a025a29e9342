"""The file name a download gets: by default the document's title made safe, with `.pdf`."""

import re
import unicodedata
from functools import lru_cache

MAX_NAME = 200
# Path separators and the characters Windows refuses in a file name; control characters too.
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_name(raw: str) -> str:
    """`raw` as a file name every system accepts, ending in .pdf ("document.pdf" when nothing is left)."""
    name = UNSAFE.sub(" ", unicodedata.normalize("NFC", raw))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if name.lower().endswith(".pdf"):
        name = name[:-4].rstrip(" .")
    name = name[: MAX_NAME - 4].rstrip(" .")
    return f"{name}.pdf" if name else "document.pdf"


@lru_cache(maxsize=4096)  # every listed document asks, and titles rarely change
def download_name_for(title: str) -> str:
    return safe_name(title)
