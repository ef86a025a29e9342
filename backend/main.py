"""WSGI entry point: Gunicorn loads `main:app`, the Flask CLI uses `--app main`."""

import sys

from sequoalpha import create_app
from sequoalpha.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a one-line reason instead of a traceback
    sys.exit(f"sequoalpha: refusing to start: {exc}")
