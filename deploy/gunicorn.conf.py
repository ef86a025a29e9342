"""Gunicorn settings for SequoAlpha.

sequoalpha.service runs `backend/venv/bin/gunicorn --config deploy/gunicorn.conf.py`; this file
names the app itself (backend/main.py: app). Environment overrides, for tests and tuning:
GUNICORN_BIND (default 127.0.0.1:8000), GUNICORN_WORKERS (default 2 x cores + 1, at most 12).
"""

import contextlib
import gc
import importlib
import ipaddress
import os

from gunicorn.glogging import Logger

_BACKEND = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "backend"))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use, not the host's
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


wsgi_app = "main:app"
chdir = _BACKEND

# Only Nginx on this host talks to Gunicorn.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
backlog = 512

# Sync workers: Nginx buffers whole requests and answers, and downloads leave through
# X-Accel-Redirect or S3, so a worker is only ever busy with Python work.
worker_class = "sync"
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * _cores() + 1, 12))
timeout = 30  # a worker silent for 30 s is killed and replaced
graceful_timeout = 30  # on HUP/TERM, old workers get 30 s to finish what they are doing
keepalive = 2
# Recycle workers now and then (leaks), but not all at the same moment. A new worker costs about
# a second of CPU (the app's import, its connections, its S3 client, its token cache): at 1,000
# requests that was a millisecond a request under load (a sixth of a listing's CPU).
max_requests = 20000
max_requests_jitter = 2000

# No preload: every worker imports the app itself, so a HUP (./manage.sh reload) loads new code.
preload_app = False

# The third-party libraries, though, are imported once, here in the master, and every worker
# inherits them: a new worker (after a HUP, or max_requests) then only imports the app, several
# times faster, so requests wait that much less in the backlog during a reload. New versions of
# these libraries need a restart, not a reload: update.sh restarts when requirements.txt changed.
SHARED_LIBRARIES = (
    "flask",
    "werkzeug",
    "sqlalchemy",
    "flask_sqlalchemy",
    "flask_migrate",
    "alembic",
    "flask_smorest",
    "marshmallow",
    "webargs",
    "flask_jwt_extended",
    "jwt",
    "bcrypt",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",  # the dialect SQLAlchemy loads with the engine
    "orjson",
    "webauthn",  # passkeys (and cryptography with it)
    "cryptography.fernet",
    "pyotp",
    "segno",
    "email_validator",
    "pypdf",
    "fpdf",
    "dotenv",
    # boto3 only when S3 is on (S3_BUCKET from backend/.env, systemd's EnvironmentFile): the app
    # imports it on first use of S3 only, so with S3 off no process loads it.
    *(("boto3", "botocore.session") if os.environ.get("S3_BUCKET") else ()),
)
for _library in SHARED_LIBRARIES:
    with contextlib.suppress(ImportError):  # a worker will say so, with the app's own traceback
        importlib.import_module(_library)


def pre_fork(server, worker):
    """Move everything the master holds (the libraries above) out of the garbage collector's
    reach before forking: a worker's collections would otherwise write to every inherited object
    and so copy most of those pages (measured: 69 -> 47 MB of unique memory per worker)."""
    gc.freeze()


# X-Forwarded-Proto is believed only from the local Nginx.
forwarded_allow_ips = "127.0.0.1,::1"

# Logs to stdout/stderr: journald keeps them (journalctl -u sequoalpha).
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%({x-real-ip}i)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'


class AccessLogger(Logger):
    """The line starts with X-Real-IP only when it is an IP address, else with the peer address:
    any other text (markup, a forged log line) from a peer that is not Nginx never starts it."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        try:
            address = ipaddress.ip_address(atoms.get("{x-real-ip}i", "").strip())
            if getattr(address, "scope_id", None):  # "fe80::1%<zone>": the zone is free text
                raise ValueError
            atoms["{x-real-ip}i"] = str(address)
        except ValueError:
            atoms["{x-real-ip}i"] = atoms.get("h", "-")
        return atoms


logger_class = AccessLogger
capture_output = False
proc_name = "sequoalpha"

# Worker heartbeat files on tmpfs, not on disk (a blocked fchmod would stall a worker).
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# Control socket for `gunicornc` in systemd's RuntimeDirectory (/run/sequoalpha); off elsewhere.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")
else:
    control_socket_disable = True
