"""The figures of the adversarial and fault suites, and the log scan behind "secrets in logs".

Tests record what they did and what went wrong into one collector (`add("api_fuzz",
requests=1)`); the end of the run prints one line per figure (`pytest_terminal_summary`). The
same module is the pytest plugin: tests/adversarial/conftest.py and tests/faults/conftest.py
register it once with `register(config)`.

Log hygiene: from registration on, a handler on the root logger keeps every log record of the
run (app, libraries, and the logs of the Gunicorn processes the fault tests start, added with
`add_log_text`). At the end of the session they are searched for every password the app set on
an account or accepted at sign-in during the run (learnt by wrapping what
`sequoalpha.accounts.passwords` calls), for JWTs and
for presigned-URL signatures; a hit fails the run. A record of the app's own logger whose
message spans several lines is counted as a forged line (user input must not start a new line).
The werkzeug request log is left out: in this suite it is the log of moto's S3 stand-in, which
rightly shows the presigned URLs it serves (as S3's own logs would).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter

PLUGIN_NAME = "sequoalpha-figures"

# name -> counters; insertion order is not used, LINES fixes the order of the summary.
_figures: dict[str, Counter] = {}
_lock = threading.Lock()

# (figure, title, [(counter, label), ...]); a figure is printed when a test recorded it.
LINES = [
    (
        "api_fuzz",
        "API fuzzing (schemathesis, 3 roles)",
        [
            ("requests", "requests fuzzed"),
            ("server_errors", "server errors"),
            ("schema_violations", "schema violations"),
        ],
    ),
    (
        "upload_fuzz",
        "Upload fuzzing",
        [
            ("malformed", "malformed uploads"),
            ("accepted", "accepted"),
            ("server_errors", "server errors"),
            ("damaged", "damaged PDFs"),
            ("round_trips", "accepted and downloaded"),
            ("sha256_mismatches", "sha256 mismatches"),
        ],
    ),
    (
        "authz",
        "Object-level authorisation",
        [("cells", "authorisation cells"), ("leaks", "leaks"), ("confirming_403", "403s confirming a hidden id")],
    ),
    (
        "faults",
        "Fault injection",
        [
            ("injected", "faults injected"),
            ("requests", "requests during faults"),
            ("lost", "requests lost"),
            ("documents_lost", "documents lost"),
        ],
    ),
    (
        "pg_restart",
        "  PostgreSQL restarted under load",
        [
            ("outage_requests", "requests during the outage"),
            ("outage_503", "JSON 503s"),
            ("slowest_ms", "slowest answer ms"),
            ("recovery_ms", "recovered in ms"),
        ],
    ),
    (
        "s3_blackhole",
        "  S3 black hole",
        [
            ("uploads", "uploads"),
            ("slowest_upload_ms", "slowest upload ms"),
            ("local_downloads", "served locally"),
            ("synced", "pushed by storage sync"),
            ("check_problems", "storage check problems"),
        ],
    ),
    (
        "worker_kill",
        "  Worker SIGKILL mid-upload",
        [
            ("kills", "workers killed"),
            ("replaced", "replaced by the master"),
            ("check_problems", "storage check problems"),
        ],
    ),
    (
        "concurrency",
        "Concurrency (20 uploads + 100 downloads)",
        [
            ("uploads", "uploads"),
            ("downloads", "downloads"),
            ("duplicates", "documents stored twice"),
            ("sha256_mismatches", "sha256 mismatches"),
            ("failed", "failed requests"),
        ],
    ),
    (
        "logs",
        "Log hygiene",
        [("records", "log records scanned"), ("secrets", "secrets found in logs"), ("forged", "forged log lines")],
    ),
]


def add(figure: str, **counts: int) -> None:
    """Add to the counters of `figure` (thread-safe)."""
    with _lock:
        counter = _figures.setdefault(figure, Counter())
        for name, value in counts.items():
            counter[name] += int(value)


def get(figure: str) -> Counter:
    with _lock:
        return Counter(_figures.get(figure, ()))


# --- log capture --------------------------------------------------------------------------

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
PRESIGNED = re.compile(r"X-Amz-(?:Signature|Credential|Security-Token)=", re.IGNORECASE)
MIN_SECRET_LENGTH = 8  # shorter "passwords" (tests of bad input) are not worth searching for

_lines: list[tuple[str, str]] = []  # (source, text)
_secrets: set[str] = set()
_forged: list[tuple[str, str]] = []
_capture = {"passwords": True}
_MAX_LINES = 2_000_000


def secret(value: str) -> None:
    """Something that must never appear in a log (a password, a key)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


class pause_password_capture:
    """While fuzzing, generated "passwords" are noise (a fuzzer may send the same string as
    username and password); real passwords are registered outside these blocks."""

    def __enter__(self):
        _capture["passwords"] = False

    def __exit__(self, *exc):
        _capture["passwords"] = True


# Not the app's logs: in this suite the werkzeug request log is moto's (the S3 stand-in), whose
# access log rightly shows the presigned URLs it serves, as S3's own logs would.
FOREIGN_LOGGERS = {"werkzeug"}


class _Keeper(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.name in FOREIGN_LOGGERS:
            return
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        text = message
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        with _lock:
            if len(_lines) < _MAX_LINES:
                _lines.append((record.name, text))
            if record.name.split(".")[0] == "sequoalpha" and ("\n" in message or "\r" in message):
                _forged.append((record.name, message))


_handler = _Keeper(level=logging.NOTSET)


def add_log_text(source: str, text: str) -> None:
    """Logs of a process the tests ran (Gunicorn, a CLI command): searched like the records."""
    with _lock:
        for line in text.splitlines():
            if len(_lines) < _MAX_LINES:
                _lines.append((source, line))


def records() -> list[tuple[str, str]]:
    with _lock:
        return list(_lines)


def scan() -> dict:
    """Search everything captured so far: {"records", "hits": [(kind, source, excerpt)], "forged"}."""
    with _lock:
        lines, secrets, forged = list(_lines), set(_secrets), list(_forged)
    hits = []
    passwords = re.compile("|".join(map(re.escape, sorted(secrets, key=len, reverse=True)))) if secrets else None
    for source, text in lines:
        found = passwords.search(text) if passwords else None
        if found:
            hits.append(("password", source, _excerpt(text, found.start())))
        for pattern, kind in ((JWT, "JWT"), (PRESIGNED, "presigned signature")):
            match = pattern.search(text)
            if match:
                hits.append((kind, source, _excerpt(text, match.start())))
    return {"records": len(lines), "hits": hits, "forged": forged}


def _excerpt(text: str, at: int) -> str:
    return text[max(at - 40, 0) : at + 12].replace("\n", "\\n") + "…"


_last_password = threading.local()


class _RecordingBcrypt:
    """Stands in for the bcrypt module inside sequoalpha.accounts.passwords: a password that is hashed
    (set on an account) or that verifies (a real sign-in) becomes a secret. Wrong passwords are
    not secrets (tests use phrases such as "wrong password", which log messages may contain)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def hashpw(self, password, salt):
        self._remember()
        return self._module.hashpw(password, salt)

    def checkpw(self, password, hashed):
        verified = self._module.checkpw(password, hashed)
        if verified:
            self._remember()
        return verified

    @staticmethod
    def _remember():
        password = getattr(_last_password, "value", None)
        if password is not None and _capture["passwords"]:
            secret(password)


def _wrap_password_hashing() -> None:
    """Learn the passwords of the run: sequoalpha.accounts.passwords pre-hashes every password with
    `_prehash` before bcrypt sees it; remember it there, keep it if bcrypt hashes or accepts it."""
    from sequoalpha.accounts import passwords

    if isinstance(passwords.bcrypt, _RecordingBcrypt):
        return
    original = passwords._prehash

    def remembering_prehash(password: str) -> bytes:
        _last_password.value = password
        return original(password)

    passwords._prehash = remembering_prehash
    passwords.bcrypt = _RecordingBcrypt(passwords.bcrypt)


# --- the plugin ---------------------------------------------------------------------------


def register(config) -> None:
    """Register this module as a plugin once, whichever conftest asks first."""
    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    import sys

    config.pluginmanager.register(sys.modules[__name__], PLUGIN_NAME)
    _keep_records()
    _wrap_password_hashing()


def _keep_records() -> None:
    """(Re)attach the keeper: logging.config.fileConfig (Alembic's env.py, in the migration
    tests) replaces the root logger's handlers."""
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)


def pytest_runtest_setup(item):
    _keep_records()


def pytest_runtest_teardown(item):
    _keep_records()


def pytest_sessionfinish(session, exitstatus):
    result = scan()
    add("logs", records=result["records"], secrets=len(result["hits"]), forged=len(result["forged"]))
    if (result["hits"] or result["forged"]) and session.exitstatus == 0:
        session.exitstatus = 1  # a secret in the logs fails the run, whichever test caused it


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    tr.section("SequoAlpha reliability and security figures")
    for figure, title, fields in LINES:
        counter = get(figure)
        if not counter and figure != "logs":
            continue
        values = ", ".join(f"{label} {counter.get(name, 0)}" for name, label in fields)
        tr.write_line(f"{title:<44} {values}")
    result = scan()
    for kind, source, excerpt in result["hits"][:20]:
        tr.write_line(f"  SECRET IN LOGS ({kind}) from {source}: {excerpt}", red=True)
    for source, message in result["forged"][:20]:
        tr.write_line(f"  FORGED LOG LINE from {source}: {message[:120]!r}", red=True)
    if result["hits"] or result["forged"]:
        tr.write_line("The run fails: the logs above must not contain secrets or forged lines.", red=True, bold=True)
